"""The shared epoch cursor: every key, goto, help, pane switching."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from grutui.core.rundata import RunData
from grutui.ui.app import GrutuiApp
from grutui.ui.dialogs import GotoDialog, HelpScreen
from grutui.ui.widgets.cursorbar import CursorBar
from tests.helpers import shown, tiny_config


def _bar(app: GrutuiApp) -> str:
    return str(app.screen.query_one(CursorBar).render())


async def _searched(app: GrutuiApp, pilot: Pilot[GrutuiApp]) -> None:
    """Wait until the command palette has shown every hit for what was typed."""
    await pilot.pause()  # the last key's search has started
    await app.workers.wait_for_complete()  # (it runs as a worker)
    await pilot.pause()


@pytest.mark.parametrize("pane", ["train", "browse", "debug"])
async def test_every_cursor_key_moves_the_shown_epoch(demo_data: RunData, pane: str) -> None:
    app = GrutuiApp(data=demo_data, start_pane=pane)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        last = demo_data.last_epoch
        assert app.epoch == last and f"epoch {last}/{last}" in _bar(app)
        steps = [
            ("left", last - 1),
            ("pageup", last - 11),
            ("left_square_bracket", last - 111),
            ("shift+left", last - 211),
            ("right", last - 210),
            ("pagedown", last - 200),
            ("right_square_bracket", last - 100),
            ("shift+right", last),
            ("right", last),  # clamped
            ("home", 0),
            ("left", 0),  # clamped
            ("end", last),
        ]
        for key, want in steps:
            await pilot.press(key)
            assert app.epoch == want, key
            assert f"epoch {want}/{last}" in _bar(app), key


async def test_goto_dialog_accepts_numbers_and_reports_bad_input(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")
        assert isinstance(app.screen, GotoDialog)
        await pilot.press(*"99999", "enter")
        assert isinstance(app.screen, GotoDialog)  # still open, message shown
        err = str(app.screen.query_one("#goto-error").render())
        assert "out of range" in err
        await pilot.press(*["backspace"] * 5, *"1234", "enter")
        assert not isinstance(app.screen, GotoDialog)
        assert app.epoch == 1234 and "epoch 1234/" in _bar(app)
        await pilot.press("g", *"-10", "enter")
        assert app.epoch == demo_data.last_epoch - 9
        await pilot.press("g", "escape")
        assert app.epoch == demo_data.last_epoch - 9


async def test_help_lists_every_binding(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        for _title, bindings in app.key_sections():
            for b in bindings:
                assert app.get_key_display(b) in text, b
                if b.id is not None:  # grutui's own keys, described in our words
                    assert b.tooltip in text, b
        for section in ("Global", "Train pane", "Browse pane", "Debug pane"):
            assert section in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_pane_keys_switch_modes_and_keep_the_cursor(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("home", "right")
        for key, mode in (("2", "browse"), ("3", "debug"), ("f1", "train"), ("f2", "browse")):
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode
            assert app.epoch == 1 and "epoch 1/" in _bar(app)


async def test_record_hook_sees_cursor_and_pane_actions(
    demo_data: RunData, recording_app: Callable[[], tuple[GrutuiApp, Any]]
) -> None:
    app, seen = recording_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("left", "2")
        await pilot.pause()
    kinds = [k for k, _ in seen]
    assert kinds[:2] == ["cursor", "pane"]
    assert seen[0][1]["epoch"] == demo_data.last_epoch - 1


async def test_command_palette_lists_and_runs_actions(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"go to an epoch")
        await _searched(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, GotoDialog)
        await pilot.press("escape", "ctrl+p")
        await pilot.press(*"debug pane")
        await _searched(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_mode == "debug"


async def test_member_key_cycles_ensemble_members() -> None:
    from dataclasses import replace

    import numpy as np

    from grutui.core.train import train

    cfg = tiny_config(epochs=3)
    a, b = list(train(cfg)), list(train(cfg.replace(seed=5)))

    def both(x: np.ndarray | None, y: np.ndarray | None) -> np.ndarray | None:
        return None if x is None or y is None else np.concatenate([x, y])

    recs = [
        replace(
            ra,
            train_loss=both(ra.train_loss, rb.train_loss),
            test_loss=both(ra.test_loss, rb.test_loss),
            lr=both(ra.lr, rb.lr),
            weights={k: np.concatenate([ra.weights[k], rb.weights[k]]) for k in ra.weights},
            initial_weights=None,
        )
        for ra, rb in zip(a, b, strict=True)
    ]
    data = RunData(cfg, name="ens", members=2)
    data.extend(recs)
    app = GrutuiApp(data=data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        grid = lambda: shown(app, "#browse-weights")  # noqa: E731
        w1 = b[-1].weights["linear.bias"][0, 0]
        assert "member 0/1" in _bar(app)
        await pilot.press("m")
        assert app.member == 1 and "member 1/1" in _bar(app)
        assert f"{w1:+.4f}" in grid()
        await pilot.press("m")
        assert app.member == 0


async def test_train_pane_ruler_and_values_follow_the_cursor(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="train")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("home")
        await pilot.pause()
        ruler = lambda: str(app.screen.query_one("#train-ruler").render())  # noqa: E731
        assert ruler().index("▲") == 0
        values = str(app.screen.query_one("#train-cursor").render())
        assert "at epoch 0" in values
        assert f"{demo_data.metrics.train_loss[0, 0]:.4g}" in values
        await pilot.press("end")
        assert ruler().rstrip().endswith("▲")
        await pilot.press("g", *"1500", "enter")
        r = ruler()
        assert 0.4 < r.index("▲") / len(r.rstrip()) < 0.6
