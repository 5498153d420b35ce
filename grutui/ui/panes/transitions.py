"""Transitions pane: the candidate moments ``find_transitions`` reports (epoch,
detector, evidence), a log-loss plot with a line per marker and the cursor line. For a
classification task, the plot shows train and test accuracy instead, and a line above
the list the epochs each reached 99 % and the delay between them (grokking).

↑/↓ select a candidate and move the cursor to it; ``<``/``>`` (app-wide) jump between
markers. The candidates are found in a worker when the pane first shows (and on ``r``);
OOD jumps are included when the strategy history has been computed for this member.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Static

from grutui.core.analysis.transitions import Transition, accuracy_gap
from grutui.core.rundata import RunData
from grutui.ui.analyses import marker_key
from grutui.ui.panes.base import PaneScreen, recorded_int
from grutui.ui.panes.browse import downsample
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.cursorplot import CursorPlot, draw_series
from grutui.ui.widgets.text import set_text

KIND_COLOURS = {
    "loss_curvature": "orange",
    "weight_velocity": "cyan",
    "sign_change": "magenta",
    "ood_jump": "green",
    "train_accuracy": "blue",
    "test_accuracy": "red",
}
KIND_LABELS = {
    "loss_curvature": "loss curv.",
    "weight_velocity": "velocity",
    "sign_change": "sign flip",
    "ood_jump": "OOD jump",
    "train_accuracy": "train acc",
    "test_accuracy": "test acc",
}


class TransitionsPane(PaneScreen):
    PANE_MODE = "transitions"
    PANE_TITLE = "Transitions"
    AUTO_FOCUS = ""
    CSS_PATH = "../styles/analysis.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up,k",
            "select(-1)",
            "Prev",
            id="tr.up",
            tooltip="Select the candidate above (moves the cursor)",
            key_display="↑",
        ),
        Binding(
            "down,j",
            "select(1)",
            "Next",
            id="tr.down",
            tooltip="Select the candidate below (moves the cursor)",
            key_display="↓",
        ),
        Binding(
            "r", "recompute", "Recompute", id="tr.recompute", tooltip="Find the candidates again"
        ),
        Binding(
            "plus",
            "sigma(1)",
            "σ+",
            id="tr.sigma_up",
            tooltip="Smooth the loss more (σ ×1.5)",
            key_display="+",
        ),
        Binding(
            "minus",
            "sigma(-1)",
            "σ−",
            id="tr.sigma_down",
            tooltip="Smooth the loss less (σ ÷1.5)",
            key_display="-",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sel = -1
        self.recomputed = 0  # r presses: a replay finds the markers again when it grows
        self._plot_key: tuple[object, ...] | None = None
        self._list_key: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        yield Static("", id="tr-title")
        yield Static("", id="tr-gap")  # classification only
        with Horizontal(id="tr-body"):
            with VerticalScroll(id="tr-list-box", can_focus=False):
                yield Static("", id="tr-list")
            yield CursorPlot(id="tr-plot")
        yield Footer()

    # -- the pane interface ----------------------------------------------------------
    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        an = self.grutui.analyses
        markers = an.markers_for(member)
        if markers is None and not an.finding and data.n_epochs and an.markers_error is None:
            an.find_markers(member)
        if (
            markers is not None
            and self.sel >= 0
            and (self.sel >= len(markers) or markers[self.sel].epoch != epoch)
        ):
            self.sel = -1
        if markers is not None and self.sel < 0:
            self.sel = next((i for i, t in enumerate(markers) if t.epoch == epoch), -1)
        self._title(data, markers)
        self._gap(data, member)
        self._list(markers)
        self._plot(data, epoch, member, markers)

    def data_grew(self, data: RunData) -> None:
        self._plot_key = None

    def analysis_changed(self) -> None:
        self.sync()

    # -- actions -----------------------------------------------------------------------
    def action_select(self, delta: int) -> None:
        app = self.grutui
        markers = app.analyses.markers_for(app.member)
        if not markers:
            return
        if self.sel < 0:  # from the cursor: the next/previous candidate
            eps = [t.epoch for t in markers]
            i = int(np.searchsorted(eps, app.epoch, side="right" if delta > 0 else "left"))
            self.sel = min(max(i if delta > 0 else i - 1, 0), len(markers) - 1)
        else:
            self.sel = min(max(self.sel + delta, 0), len(markers) - 1)
        keep = self.sel
        app.set_epoch(markers[self.sel].epoch, via="transition")
        self.sel = keep  # several candidates can share an epoch: keep the one chosen
        self.sync()
        self.record_view()

    def action_recompute(self) -> None:
        self.recomputed += 1
        self._find()
        self.record_view()

    def _find(self) -> None:
        app = self.grutui
        app.analyses.find_markers(app.member)
        self.sync()

    def action_sigma(self, direction: int) -> None:
        an = self.grutui.analyses
        an.sigma = round(an.sigma * (1.5 if direction > 0 else 1 / 1.5), 2)
        self._find()
        self.record_view()

    def view_state(self) -> dict[str, Any]:
        # sigma is the app's (the markers every pane draws), but set by these keys only
        an = self.grutui.analyses
        return {"sel": self.sel, "sigma": an.sigma, "recomputed": self.recomputed}

    def apply_view(self, state: Mapping[str, Any]) -> None:
        an = self.grutui.analyses
        v = state.get("sigma")
        sigma = an.sigma
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            sigma = float(v)
        runs = recorded_int(state, "recomputed", self.recomputed)
        find = sigma != an.sigma or (runs != self.recomputed and runs > 0)
        an.sigma, self.recomputed = sigma, runs
        # a candidate among several at the cursor's epoch (show_epoch drops another)
        self.sel = recorded_int(state, "sel", self.sel)
        if find:
            self._find()
        else:
            self.sync()

    # -- drawing -------------------------------------------------------------------------
    def _title(self, data: RunData, markers: list[Transition] | None) -> None:
        an = self.grutui.analyses
        t = Text()
        t.append("transitions ", style="bold")
        if markers is None:
            t.append(an.markers_error or "finding…", style="red" if an.markers_error else "dim")
        else:
            t.append(f"{len(markers)} candidates", style="bold")
            t.append(f" σ={an.sigma:g}", style="dim")
            if an.finding:
                t.append(" updating…", style="dim italic")
            elif an.markers_epochs != data.n_epochs:
                t.append(f" (of {an.markers_epochs} epochs; r: update)", style="yellow")
        t.append("  ↑↓ select  < > jump", style="dim")
        set_text(self.query_one("#tr-title", Static), t)

    def _gap(self, data: RunData, member: int) -> None:
        """When train and test accuracy reached 99 %, and the epochs between."""
        box = self.query_one("#tr-gap", Static)
        gap = accuracy_gap(data, member) if data.n_epochs else None
        box.display = gap is not None
        if gap is None:
            return
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"{gap.level:.0%} accuracy ", style="dim")
        for which, epoch in (("train", gap.train_epoch), ("test", gap.test_epoch)):
            t.append(f"{which} ", style=KIND_COLOURS[f"{which}_accuracy"])
            t.append("—" if epoch is None else f"@{epoch}", style="bold")
            t.append("  ")
        if gap.delay is not None:
            t.append("grokking delay ", style="dim")
            t.append(f"{gap.delay} epochs", style="bold")
        set_text(box, t)

    def _list(self, markers: list[Transition] | None) -> None:
        # a rich Table costs a layout pass: rebuilt only when the markers or the
        # selection changed, not on every cursor move
        key = (marker_key(markers), self.sel, self.size.width)
        if key == self._list_key:
            return
        self._list_key = key
        box = self.query_one("#tr-list", Static)
        if not markers:
            box.update(Text("no candidates" if markers is not None else "", style="dim"))
            return
        t = Table(box=None, pad_edge=False, padding=(0, 1), header_style="dim", expand=True)
        t.add_column("epoch", justify="right", no_wrap=True)
        t.add_column("detector", no_wrap=True)
        t.add_column("score", justify="right", no_wrap=True)
        t.add_column("evidence", ratio=1, no_wrap=True, overflow="ellipsis")
        for i, m in enumerate(markers):
            style = "reverse" if i == self.sel else ""
            t.add_row(
                str(m.epoch),
                Text(KIND_LABELS.get(m.kind, m.kind), style=KIND_COLOURS.get(m.kind, "")),
                f"{m.score:.3g}",
                m.detail,
                style=style,
            )
        box.update(t)
        self._keep_visible()

    def _keep_visible(self) -> None:
        if self.sel < 0:
            return
        box = self.query_one("#tr-list-box", VerticalScroll)
        top = 1 + self.sel
        height = box.size.height or 1
        if top < box.scroll_y + 1:
            box.scroll_to(y=max(0, top - 1), animate=False)
        elif top + 1 > box.scroll_y + height:
            box.scroll_to(y=top + 1 - height, animate=False)

    def _plot(
        self, data: RunData, epoch: int, member: int, markers: list[Transition] | None
    ) -> None:
        """The figure (loss and marker lines) is built when the data or the markers
        change; a cursor move only moves ``CursorPlot``'s line."""
        widget = self.query_one("#tr-plot", CursorPlot)
        key = (data, member, marker_key(markers), data.n_epochs)
        due = key != self._plot_key and self.rebuild_due("plot", key, self._plot_key)
        if due and data.n_epochs:
            self._plot_key = key
            m = data.metrics
            marks = markers or []
            if accuracy_gap(data, member) is not None:  # classification: the grokking picture
                series = []
                for name, arr in (("train", m.train_acc), ("test", m.test_acc)):
                    ok = np.isfinite(arr[:, member])
                    series.append((name, *downsample(m.epoch[ok], arr[ok, member])))
                title, colour = "accuracy, markers", None
            else:
                arr = m.train_loss[:, member]
                ok = np.isfinite(arr) & (arr > 0)
                series = [("", *downsample(m.epoch[ok], np.log10(arr[ok])))]
                title, colour = "log10 train loss, markers", "blue"
            draw_series(
                widget,
                title,
                series,
                *self.grutui.epoch_axis(),
                markers=[mk.epoch for mk in marks],
                marker_colours=[KIND_COLOURS.get(mk.kind, "gray") for mk in marks],
                colour=colour,
            )
        widget.set_cursor(epoch if epoch >= 0 else None)

    def markers(self) -> list[Transition] | None:
        app = self.grutui
        return app.analyses.markers_for(app.member)
