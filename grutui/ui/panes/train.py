"""Train pane: live training (or a recorded run's curves) at a glance."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Static

from grutui.core.rundata import RunData
from grutui.ui.panes.base import PaneScreen
from grutui.ui.widgets.cursorbar import CursorBar


class TrainPane(PaneScreen):
    PANE_TITLE = "Train"

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        yield Static(id="train-summary")
        yield Footer()

    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        s = self.query_one("#train-summary", Static)
        if epoch < 0:
            s.update("no epochs yet")
            return
        i = epoch - data.first_epoch
        m = data.metrics
        s.update(
            f"train loss {m.train_loss[i, member]:.6g}  test loss {m.test_loss[i, member]:.6g}"
        )
