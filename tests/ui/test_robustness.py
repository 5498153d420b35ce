"""The app under a hostile hand: keys faster than screens close, degenerate sessions,
and every way to end it."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App
from textual.command import CommandPalette

from grutui.core.rundata import RunData
from grutui.ui.app import GrutuiApp
from grutui.ui.bookmarks import BookmarkListDialog, BookmarkNoteDialog
from grutui.ui.dialogs import GotoDialog, HelpScreen
from grutui.ui.panes.base import PaneScreen
from tests.helpers import until

SIZE = (80, 24)


def burst(app: App[object], *keys: str) -> None:
    """Keys as a fast typist sends them: all queued before the app handles the first
    (``Pilot.press`` waits for the app to settle after each key)."""
    for key in keys:
        app.post_message(events.Key(key, "\r" if key == "enter" else key))


@pytest.mark.parametrize(
    ("open_keys", "dialog", "then"),
    [
        (("b",), BookmarkNoteDialog, PaneScreen),
        (("B",), BookmarkListDialog, PaneScreen),
        (("ctrl+p", *"go to"), CommandPalette, GotoDialog),  # the command runs once
        (("g", "3"), GotoDialog, PaneScreen),
        (("question_mark",), HelpScreen, PaneScreen),
    ],
)
async def test_enter_twice_quickly_closes_a_dialog_once(
    demo_data: RunData, open_keys: tuple[str, ...], dialog: type, then: type
) -> None:
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PaneScreen))
        app.bookmarks.add(app.epoch, "seen")  # the list has a row to choose
        await pilot.press(*open_keys)
        await until(pilot, lambda: isinstance(app.screen, dialog))
        burst(app, *(("escape", "escape") if dialog is HelpScreen else ("enter", "enter")))
        await until(pilot, lambda: isinstance(app.screen, then))
        assert len(app.screen_stack) == (1 if then is PaneScreen else 2)
        assert app.is_running
        await pilot.press("1")
        await until(pilot, lambda: app.current_mode == "train")
