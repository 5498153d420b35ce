"""OOD pane: the generalization grid over the task's axes (the adding problem's
sequence length 1–8 × flags 1–4) at the cursor epoch, and the strategy view (every cell
over the epochs, cursor column marked). A task without axes, or without a sampler for
them, has no OOD pane.

The grid comes from ``grutui.core.analysis.ood.OODView`` in the pane's job thread
(``AnalysisPane``; about 10 ms a grid at hidden 1 here, more for wider nets). The
strategy history is ``ood_history`` (the app's ``Analyses``; cached in ``analysis.h5``
for sessions opened from disk).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer

from grutui.core.analysis.history import BARS, OODHistory
from grutui.core.analysis.ood import (
    DEFAULT_SAMPLES,
    RELATIVE,
    OODResult,
    OODView,
    Scoring,
    ood_unavailable,
    snapshot_epoch,
)
from grutui.core.config import TrainConfig
from grutui.core.errors import SessionError
from grutui.core.rundata import RunData
from grutui.ui.colours import current, error_colour, error_fraction, on_colour, success_colour
from grutui.ui.panes.analysis_base import AnalysisPane
from grutui.ui.panes.base import recorded, recorded_int
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.text import set_text
from grutui.ui.widgets.textview import TextView

SAMPLE_CHOICES = (50, 100, DEFAULT_SAMPLES, 500, 1000)

# (samples, snapshot epoch, member)
GridKey = tuple[int, int, int]


class OODPane(AnalysisPane[GridKey, OODResult]):
    PANE_MODE = "ood"
    PANE_TITLE = "OOD"
    JOB_GROUP = "ood"
    MAX_RESULTS = 1024
    TITLE_ID = "ood-title"
    BODY_ID = "ood-grid"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "toggle_metric", "Succ/err", id="ood.metric", tooltip="Show success or error"),
        Binding("v", "toggle_view", "Grid/epochs", id="ood.view", tooltip="Grid or strategy"),
        Binding("s", "samples", "Samples", id="ood.samples", tooltip="Cycle the sample size"),
        Binding("up,k", "scroll(-1)", "Scroll", id="ood.up", tooltip="Scroll up", show=False),
        Binding("down,j", "scroll(1)", "Scroll", id="ood.down", tooltip="Scroll down", show=False),
        Binding(
            "r",
            "recompute",
            "Recompute",
            id="ood.recompute",
            tooltip="Compute the strategy history (again, e.g. after the run grew)",
        ),
    ]

    @classmethod
    def unavailable(cls, config: TrainConfig) -> str | None:
        return ood_unavailable(config.task)

    def __init__(self) -> None:
        super().__init__()
        self.metric = "success"  # or "error"
        self.view = "grid"  # or "history"
        self.samples = DEFAULT_SAMPLES
        self.recomputed = 0  # r presses: a replay recomputes the history when it grows
        self._view: OODView | None = None
        self._view_key: tuple[RunData, int] | None = None  # (data, samples)

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        yield TextView("", id="ood-title")
        with VerticalScroll(id="ood-body", can_focus=False):
            yield TextView("", id="ood-grid")
        yield Footer()

    # -- the pane interface ----------------------------------------------------------
    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        if epoch < 0 or not len(data.snapshot_epochs):
            self.no_result("no weights recorded yet")
            return
        if self.view == "history":
            self._show_history(data, epoch, member)
            return
        try:
            key = (self.samples, snapshot_epoch(data, epoch), member)
        except SessionError as exc:  # before the first snapshot
            self.no_result(str(exc))
            return
        self.want(key)

    def data_grew(self, data: RunData) -> None:
        if self.view == "history":
            self.analysis_changed()

    def analysis_changed(self) -> None:
        """The shared analyses moved (history progress or result)."""
        if self.view == "history":
            self.sync()

    # -- actions -----------------------------------------------------------------------
    def action_toggle_metric(self) -> None:
        self.metric = "error" if self.metric == "success" else "success"
        self.sync()
        self.record_view()

    def action_toggle_view(self) -> None:
        self.view = "history" if self.view == "grid" else "grid"
        self._want_history()
        self.sync()
        self.record_view()

    def _want_history(self) -> None:
        """The history view: its strategy history computed unless it is, or is running."""
        app = self.grutui
        an = app.analyses
        if (
            self.view == "history"
            and an.history_for(app.member, self.samples) is None
            and not an.history_running
        ):
            an.compute_history(app.member, self.samples)

    def action_samples(self) -> None:
        i = SAMPLE_CHOICES.index(self.samples) if self.samples in SAMPLE_CHOICES else -1
        self.samples = SAMPLE_CHOICES[(i + 1) % len(SAMPLE_CHOICES)]
        if self.view == "history":
            app = self.grutui
            app.analyses.compute_history(app.member, self.samples)
        self.sync()
        self.record_view()

    def action_scroll(self, delta: int) -> None:
        body = self.query_one("#ood-body", VerticalScroll)
        body.scroll_to(y=max(0, body.scroll_y + delta), animate=False)

    def action_recompute(self) -> None:
        app = self.grutui
        self.view = "history"
        self.recomputed += 1
        app.analyses.compute_history(app.member, self.samples)
        self.sync()
        self.record_view()

    def view_state(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "view": self.view,
            "samples": self.samples,
            "recomputed": self.recomputed,
        }

    def apply_view(self, state: Mapping[str, Any]) -> None:
        self.metric = recorded(state, "metric", ("success", "error"), self.metric)
        self.view = recorded(state, "view", ("grid", "history"), self.view)
        samples = recorded(state, "samples", SAMPLE_CHOICES, self.samples)
        runs = recorded_int(state, "recomputed", self.recomputed)
        app = self.grutui
        if self.view == "history" and (
            samples != self.samples or (runs != self.recomputed and runs > 0)
        ):  # another sample size, or r was pressed: the history computed again
            self.samples = samples
            app.analyses.compute_history(app.member, samples)
        self.samples, self.recomputed = samples, runs
        self._want_history()
        self.sync()

    def _scoring(self) -> Scoring:
        """How the session's task scores a cell (the titles name its error)."""
        data = self.grutui.data
        return RELATIVE if data is None else Scoring.of(data.config.task.output())

    # -- the grid ------------------------------------------------------------------------
    def _ood_view(self, samples: int) -> OODView:
        data = self.grutui.data
        assert data is not None
        vk = (data, samples)  # the object itself: a replay's rebuilt run is another one
        if self._view is None or self._view_key != vk:
            self._view = OODView(data, samples)
            self._view_key = vk
        return self._view

    def compute(self, key: GridKey) -> OODResult:
        samples, epoch, member = key
        return self._ood_view(samples).at(epoch, member)

    def draw(self) -> None:
        if self.view == "grid":
            self._show_grid()

    def _show_grid(self) -> None:
        res = self.cache.shown
        want = self.cache.wanted
        fresh = res is not None and want is not None and (res.epoch, res.member) == want[1:]
        fresh = fresh and res is not None and res.samples == self.samples
        t = Text()
        t.append("generalization ", style="bold")
        if res is None:
            t.append("computing…", style="dim italic")
        else:
            t.append(f"at epoch {res.epoch}", style="bold" if fresh else "dim")
            if not fresh:
                t.append(" (updating…)", style="dim italic")
        what = "success rate" if self.metric == "success" else self._scoring().error
        t.append(f"  {what}, {self.samples}/cell", style="dim")
        t.append("  e v s", style="dim")
        self.show_title(t)
        grid = self.query_one("#ood-grid", TextView)
        if res is None:
            grid.update(Text(self.cache.error or "", style="red"))
            return
        set_text(grid, self._render_grid(res))

    def _render_grid(self, res: OODResult) -> Text:
        """Fixed-width text, not a rich Table: same shape on every cursor move, so the
        update repaints without a layout pass (``set_text``)."""
        vals = res.table(self.metric)
        rows, cols = res.axes.rows, res.axes.cols
        ind = np.full(vals.shape, False)
        for (n, k), flag in zip(res.cells, res.in_distribution, strict=True):
            ind[cols.index(k), rows.index(n)] = flag
        colour = success_colour if self.metric == "success" else error_colour
        corner = res.axes.corner("╲")
        t = Text()
        t.append(f"{corner} " + "".join(f" {n:^6} " for n in rows), style="dim")
        for i, k in enumerate(cols):
            t.append(f"\n{k:>{len(corner)}} ", style="dim")
            for j in range(len(rows)):
                v = float(vals[i, j])
                if math.isnan(v):
                    t.append(f" {'·':^6} ", style="dim")
                    continue
                mark = "*" if ind[i, j] else " "
                t.append(" ")
                t.append(f"{_fmt(v, self.metric)}{mark}".center(6), style=on_colour(colour(v)))
                t.append(" ")
        t.append("\n")
        t.append_text(self._summary(res))
        return t

    def _summary(self, res: OODResult) -> Text:
        ind = res.in_distribution
        s = Text()
        s.append("\n* = training distribution", style="dim")
        for name, mask in (("in", ind), ("out", ~ind)):
            if mask.any():
                su = float(res.success[mask].mean())
                me = res.mean_rel_error[mask]
                me_s = f"{float(me.mean()):.2f}" if np.isfinite(me).all() else "inf"
                s.append(f"\n{name:>3}: success {su:.2f}, {res.scoring.short} {me_s}")
        s.append(f"\nsuccess = {res.scoring.rule}", style="dim")
        if self.cache.error:
            s.append(f"\n{self.cache.error}", style="red")
        return s

    # -- strategy over epochs ---------------------------------------------------------------
    def _show_history(self, data: RunData, epoch: int, member: int) -> None:
        an = self.grutui.analyses
        hist = an.history_for(member, self.samples)
        t = Text()
        what = "success" if self.metric == "success" else self._scoring().short
        t.append(f"{what} over epochs ", style="bold")
        if an.history_progress is not None:
            done, total = an.history_progress
            t.append(f"computing {done}/{total}… ", style="yellow")
        if hist is not None:
            stride = hist.stride
            span = f"{hist.epochs[0]}..{hist.epochs[-1]}" if len(hist) else "—"
            every = "every snapshot" if stride == 1 else f"every {stride}th snapshot"
            t.append(f"{span}, {every}", style="dim")
            key = an.history_key
            if key is not None and len(data.snapshot_epochs) > key.n_snapshots:
                t.append("  r: update", style="yellow")
        elif an.history_progress is None:
            t.append("r: compute", style="yellow")
        t.append(f"  {self.samples}/cell", style="dim")
        self.show_title(t)
        body = self.query_one("#ood-grid", TextView)
        if hist is None or not len(hist):
            msg = an.history_error or ""
            body.update(Text(msg, style="red"))
            return
        width = max(10, (self.size.width or 80) - 16)
        body.update(render_history(hist, epoch, width, self.metric))


def _fmt(v: float, metric: str) -> str:
    if metric == "success":
        return f"{v:.2f}"
    if not math.isfinite(v):
        return " inf"
    return f"{v:.2f}" if v < 10 else f"{v:.0f}"


def history_columns(hist: OODHistory, width: int) -> np.ndarray:
    """Rows of ``hist`` shown as columns: all of them, or an even sample of ``width``."""
    n = len(hist)
    return np.unique(np.linspace(0, n - 1, min(width, n)).round().astype(int))


def render_history(hist: OODHistory, epoch: int, width: int, metric: str = "success") -> Text:
    """One line per cell: a coloured bar strip over the evaluated epochs (sampled to
    ``width``), the column holding the cursor epoch underlined and reversed."""
    cols = history_columns(hist, width)
    shown = hist.epochs[cols]
    cur = int(np.searchsorted(shown, epoch, side="right")) - 1
    arr = hist.success if metric == "success" else hist.mean_rel_error
    out = Text(no_wrap=True)
    for j, label in enumerate(hist.labels()):
        out.append(f"{label} ", style="bold" if hist.in_distribution[j] else "")
        for c, i in enumerate(cols):
            v = float(arr[i, j])
            if metric == "success":
                ch, col = BARS[int(v * (len(BARS) - 1) + 0.5)], success_colour(v)
            else:
                bar = BARS[round(error_fraction(v) * (len(BARS) - 1))]
                ch, col = ("█" if current() != "none" else bar), error_colour(v)
            style = f"reverse {col}" if c == cur else col
            out.append(ch if ch != " " else "▁" if c == cur else " ", style=style)
        at = float(arr[cols[max(cur, 0)], j])
        out.append(f" {at:.2f}\n" if math.isfinite(at) else "  inf\n")
    out.append(f"cursor column: epoch {int(shown[max(cur, 0)])}", style="dim")
    return out
