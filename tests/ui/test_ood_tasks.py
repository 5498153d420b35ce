"""The OOD pane on an installed task: one with axes and a sampler gets its grid and its
strategy view (keys 4, e, v), labelled by its own axes and scored as a classification;
one with axes but no sampler has no OOD tab."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grutui.cli import main
from grutui.core.analysis.ood import ood_at
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.ood import OODPane
from grutui.ui.widgets.cursorbar import CursorBar
from tests.helpers import shown, until

TINY = ["--epochs", "3", "--batch-size", "32", "--threads", "1", "--device", "cpu"]


def _train(path: Path, task: str) -> Path:
    assert main(["train", "--task", f"gt_plugin_tasks:{task}", "--out", str(path), *TINY]) == 0
    return path


async def test_an_installed_tasks_grid_in_the_ood_pane(plugin_tasks: None, tmp_path: Path) -> None:
    app = GrutuiApp(session=_train(tmp_path / "s", "FirstTokenGrid"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert " 4 " in app.screen.query_one(CursorBar).render().plain  # the OOD tab
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, OODPane) and app.screen.current())
        screen = app.screen
        assert isinstance(screen, OODPane)
        res, data = screen.current(), app.data
        assert res is not None and data is not None
        ref = ood_at(data, app.epoch, samples=screen.samples)
        np.testing.assert_array_equal(res.success, ref.success)
        grid = shown(app, "#ood-grid")
        assert grid.splitlines()[0].split()[:3] == ["noise╲len", "1", "2"]
        assert f"{ref.cell(2, 10).success_rate:.2f}*" in grid
        assert "success = the right class" in grid
        await pilot.press("e")
        await pilot.pause()
        assert "mean cross-entropy" in shown(app, "#ood-title")
        assert f"{ref.cell(6, 40).mean_rel_error:.2f}" in shown(app, "#ood-grid")
        await pilot.press("v")
        await until(pilot, lambda: app.analyses.history_for(0, screen.samples) is not None)
        assert "L2N10*" in shown(app, "#ood-grid")
        await app.shutdown()


async def test_a_task_with_axes_but_no_sampler_has_no_ood_tab(
    plugin_tasks: None, tmp_path: Path
) -> None:
    app = GrutuiApp(session=_train(tmp_path / "s", "AxesOnly"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tabs = app.screen.query_one(CursorBar).render().plain
        assert " 3 " in tabs and "OOD" not in tabs and " 4 " not in tabs
        mode = app.current_mode
        await pilot.press("4")
        await pilot.pause()
        assert app.current_mode == mode
        await app.shutdown()
