"""Browse pane: the weights at the cursor epoch, grouped by gate, and their trajectories."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Static

from grutui.core.rundata import RunData
from grutui.ui.panes.base import PaneScreen
from grutui.ui.widgets.cursorbar import CursorBar


class BrowsePane(PaneScreen):
    PANE_TITLE = "Browse"

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        yield Static(id="browse-weights")
        yield Footer()

    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        if epoch < 0:
            return
        w = data.weights(epoch, member)
        self.query_one("#browse-weights", Static).update(
            "\n".join(f"{k}: {v.ravel()[:6]}" for k, v in w.items())
        )
