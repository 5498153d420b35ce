"""The new-run form (``grutui new --form``): filled from the command line, checked as
the command line is checked (a refusal shown inline, the form kept), then the run
starts in the app; installed tasks are offered; Esc leaves without a run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select

from grutui.cli import main
from grutui.core.paths import H5_NAME
from grutui.core.tasks import ModAddTask
from grutui.ui.app import GrutuiApp
from grutui.ui.newrun import NewRunForm
from tests.helpers import REPO, shown, until

FORM = {
    "preset": "grokking",
    "epochs": "2",
    "hidden": "many",
    "device": "cpu",
    "task-option": "p=5 train_fraction=0.6",
}


async def test_a_refusal_is_shown_and_a_good_form_starts_the_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    app = GrutuiApp(form={**FORM, "out": str(out)})
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, NewRunForm))
        command = shown(app, "#newrun-command").replace("\n", " ")
        assert "grutui new --preset grokking --hidden many --epochs 2" in command
        assert "--task-option p=5 --task-option train_fraction=0.6" in command
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "invalid int value: 'many'" in shown(app, "#newrun-error"))
        assert isinstance(app.screen, NewRunForm) and app.data is None and not out.exists()
        hidden = app.screen.query_one("#newrun-hidden", Input)
        hidden.focus()
        hidden.value = ""
        await pilot.press("3", "enter")  # Enter in a field starts
        await until(pilot, lambda: not isinstance(app.screen, NewRunForm))
        assert app.data is not None
        cfg = app.data.config
        assert (cfg.hidden, cfg.epochs, cfg.task) == (3, 2, ModAddTask(p=5, train_fraction=0.6))
        await until(pilot, lambda: app.data is not None and app.data.n_epochs == 2)
        assert app.current_mode == "train" and "task modadd" in shown(app, "#train-run")
    assert (out / H5_NAME).exists()


async def test_the_task_list_offers_installed_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "tests" / "data" / "plugin"))
    app = GrutuiApp(form={"preset": "blog"})
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, NewRunForm))
            task = app.screen.query_one("#newrun-task", Select)
            assert task.value == "(the preset's)"
            assert "task: blog" in shown(app, "#newrun-task-info")
            task.value = "firsttoken"
            await pilot.pause()
            assert "task: firsttoken" in shown(app, "#newrun-task-info")
            assert "--task firsttoken" in shown(app, "#newrun-command")
            preset = app.screen.query_one("#newrun-preset", Select)
            preset.value = "grokking"  # the hints follow the preset
            await pilot.pause()
            assert app.screen.query_one("#newrun-hidden", Input).placeholder == "64"
    finally:
        for name in [m for m in sys.modules if m.startswith("gt_plugin_tasks")]:
            del sys.modules[name]


async def test_escape_leaves_without_a_run(tmp_path: Path) -> None:
    app = GrutuiApp(form={"preset": "blog", "out": str(tmp_path / "run")})
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, NewRunForm))
        await pilot.press("escape")
        await until(pilot, lambda: not app.is_running)
    assert app.data is None and not (tmp_path / "run").exists()


def test_the_command_line_fills_the_form(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run_app(**kw: Any) -> int:
        seen.update(kw)
        return 0

    monkeypatch.setattr("grutui.ui.app.run_app", fake_run_app)
    argv = ["new", "--form", "--preset", "grokking", "--hidden", "8", "--task-option", "p=7"]
    assert main([*argv, "--force"]) == 0
    assert seen["form"] == {
        "preset": "grokking",
        "hidden": "8",
        "task-option": "p=7",
        "force": "yes",
    }


def test_form_layout(snap_compare: Any) -> None:
    app = GrutuiApp(form={"preset": "grokking", "hidden": "32", "task-option": "p=23"})

    async def shown_form(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, NewRunForm))
        await until(pilot, lambda: "grutui new" in shown(app, "#newrun-command"))

    assert snap_compare(app, terminal_size=(80, 24), run_before=shown_form)
