"""Debug pane: a typed sequence through the gate function, step by step."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Input, Static

from grutui.core.rundata import RunData
from grutui.ui.panes.base import PaneScreen
from grutui.ui.widgets.cursorbar import CursorBar


class DebugPane(PaneScreen):
    PANE_TITLE = "Debug"
    AUTO_FOCUS = ""  # arrows belong to the epoch cursor until the user edits

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        yield Input(value="12:0 37:1 12:0 21:1", id="debug-input")
        yield Static(id="debug-trace")
        yield Footer()

    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        pass
