"""A pane that does not apply to the session's task (``PaneScreen.unavailable``) has
no tab, no palette entry and no start; its key says why and changes nothing."""

from __future__ import annotations

import pytest

from grutui.core.config import TrainConfig
from grutui.core.rundata import RunData
from grutui.ui.app import GrutuiApp
from grutui.ui.commands import pane_applies
from grutui.ui.panes.ood import OODPane
from grutui.ui.widgets.cursorbar import CursorBar
from tests.ui.noting import Noting

REASON = "this task has no generalisation axes"


@pytest.fixture
def no_ood(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(cls: type[OODPane], config: TrainConfig) -> str | None:
        return REASON

    monkeypatch.setattr(OODPane, "unavailable", classmethod(unavailable))


async def test_a_pane_that_does_not_apply_is_hidden(no_ood: None, demo_data: RunData) -> None:
    app = Noting(data=demo_data, start_pane="ood")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.current_mode == "train"  # the start falls back to the first pane
        tabs = app.screen.query_one(CursorBar).render().plain
        assert "Browse" in tabs or " 2 " in tabs
        assert "OOD" not in tabs and " 4 " not in tabs
        await pilot.press("4")
        await pilot.pause()
        assert app.current_mode == "train"
        assert app.notes == [f"OOD: {REASON}"]
        await pilot.press("5")  # the panes after it keep their keys
        await pilot.pause()
        assert app.current_mode == "transitions"
        assert not pane_applies(app, "pane('ood')")
        assert pane_applies(app, "pane('seeds')") and pane_applies(app, "step(1)")


async def test_every_pane_applies_to_the_adding_task(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="ood")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.current_mode == "ood"
        assert " 4 " in app.screen.query_one(CursorBar).render().plain
