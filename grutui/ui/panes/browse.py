"""Browse pane: the weights at the cursor epoch grouped by gate, with their change since
the previous epoch on a colour scale, and trajectories of the selected weights and of
the loss over all epochs with a vertical line at the cursor.

Scrubbing stays cheap: the plotted series are downsampled once per (row, data size)
and cached; a cursor move only swaps the vertical line and re-renders the plots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Static

from grutui.core.gru import GATES
from grutui.core.layout import PARAM_NAMES
from grutui.core.rundata import RunData
from grutui.ui.analyses import marker_key
from grutui.ui.panes.base import PaneScreen
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.cursorplot import CursorPlot, draw_series
from grutui.ui.widgets.text import set_text

TABLE_MAX_HIDDEN = 4  # above this the weights are a heat map plus the selected row's numbers
PLOT_EVERY = 1.0  # seconds between plot rebuilds while a live run grows
PLOT_POINTS = 160  # points per series: ~2 per column (braille) of a wide plot

NEUTRAL = (70, 70, 70)
POS = (235, 80, 60)
NEG = (70, 140, 240)


def colour(x: float, scale: float) -> str:
    """A diverging colour for ``x`` relative to ``scale`` (red +, blue −)."""
    if not np.isfinite(x) or scale <= 0:
        return "rgb(128,128,128)"
    t = min(abs(x) / scale, 1.0)
    end = POS if x >= 0 else NEG
    r, g, b = (int(n + (e - n) * t) for n, e in zip(NEUTRAL, end, strict=True))
    return f"rgb({r},{g},{b})"


@dataclass(frozen=True)
class Row:
    """One row of the weight grid: a gate's unit (or the read-out)."""

    label: str  # e.g. "r0" or "out"
    cells: tuple[tuple[str, str, tuple[int, ...]], ...]  # (column name, param, index)


def grid_rows(hidden: int, input_size: int = 2) -> list[Row]:
    """Rows r0..r{H-1}, z…, n…, then the read-out; columns W_i (per input), W_h (per
    hidden unit), b_i, b_h, indexing PyTorch's stacked parameters (gate order r, z, n)."""
    w_ih, w_hh, b_ih, b_hh, w_o, b_o = PARAM_NAMES
    rows = []
    inputs = ["v", "f"] if input_size == 2 else [str(i) for i in range(input_size)]
    for k, g in enumerate(GATES):
        for j in range(hidden):
            i = k * hidden + j
            cells: list[tuple[str, str, tuple[int, ...]]] = [
                (f"W_i{g}·{nm}", w_ih, (i, c)) for c, nm in enumerate(inputs)
            ]
            cells += [(f"W_h{g}·h{c}", w_hh, (i, c)) for c in range(hidden)]
            cells += [(f"b_i{g}", b_ih, (i,)), (f"b_h{g}", b_hh, (i,))]
            rows.append(Row(f"{g}{j}" if hidden > 1 else g, tuple(cells)))
    out: list[tuple[str, str, tuple[int, ...]]] = [
        (f"W_o·h{c}", w_o, (0, c)) for c in range(hidden)
    ]
    out.append(("b_o", b_o, (0,)))
    rows.append(Row("out", tuple(out)))
    return rows


def downsample(
    x: np.ndarray, y: np.ndarray, points: int = PLOT_POINTS
) -> tuple[list[float], list[float]]:
    if len(x) > points:
        idx = np.unique(np.linspace(0, len(x) - 1, points).round().astype(int))
        x, y = x[idx], y[idx]
    return x.tolist(), y.tolist()


class BrowsePane(PaneScreen):
    PANE_MODE = "browse"
    PANE_TITLE = "Browse"
    AUTO_FOCUS = ""  # ↑/↓ select rows; nothing focusable should take them
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up,k",
            "select(-1)",
            "Row",
            id="browse.up",
            tooltip="Select the row above",
            key_display="↑",
        ),
        Binding(
            "down,j",
            "select(1)",
            "Row",
            id="browse.down",
            tooltip="Select the row below",
            key_display="↓",
        ),
        Binding(
            "ctrl+up,K",
            "select_gate(-1)",
            "Gate up",
            id="browse.gate_up",
            tooltip="Previous gate block",
            show=False,
        ),
        Binding(
            "ctrl+down,J",
            "select_gate(1)",
            "Gate down",
            id="browse.gate_down",
            tooltip="Next gate block",
            show=False,
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sel = 0
        self.rows: list[Row] = []
        self._hidden = -1
        self._traj_key: tuple[object, ...] | None = None
        self._traj: list[tuple[str, list[float], list[float]]] = []
        self._loss_key: tuple[object, ...] | None = None
        # per plot: the key (less the data size) it was last rebuilt for, and when
        self._built_at: dict[str, tuple[tuple[object, ...], float]] = {}
        self._loss: list[tuple[str, list[float], list[float]]] = []
        self._markers: list[int] = []  # transition marker epochs drawn on both plots

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        with Horizontal(id="browse-body"):
            with Vertical(id="browse-left"):
                yield Static("", id="browse-title")
                with VerticalScroll(id="browse-grid", can_focus=False):
                    yield Static("", id="browse-weights")
                with VerticalScroll(id="browse-row-box", can_focus=False):
                    yield Static("", id="browse-row")
            with Horizontal(id="browse-plots"):
                yield CursorPlot(id="plot-traj")
                yield CursorPlot(id="plot-loss")
        yield Footer()

    # -- the pane interface --------------------------------------------------------
    def data_grew(self, data: RunData) -> None:
        """Nothing to drop: the plot caches are keyed by the data's length."""

    def analysis_changed(self) -> None:
        """Transition markers were found: the plots' keys see the new list."""
        self.sync()

    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        if epoch < 0 or not len(data.snapshot_epochs):
            self.query_one("#browse-title", Static).update("no weights recorded yet")
            return
        hidden = data.config.hidden
        if hidden != self._hidden:
            self._hidden = hidden
            self.rows = grid_rows(hidden)
            self.sel = min(self.sel, len(self.rows) - 1)
        self._grid(data, epoch, member)
        self._plots(data, epoch, member)

    # -- actions ------------------------------------------------------------------
    def action_select(self, delta: int) -> None:
        if not self.rows:
            return
        self.sel = (self.sel + delta) % len(self.rows)
        self._refresh_all()

    def action_select_gate(self, delta: int) -> None:
        h = max(self._hidden, 1)
        if not self.rows:
            return
        block = min(self.sel // h, 3) + delta
        self.sel = min(max(block, 0), 3) * h if block < 3 else len(self.rows) - 1
        self.sel = min(self.sel, len(self.rows) - 1)
        self._refresh_all()

    def _refresh_all(self) -> None:
        app = self.grutui
        if app.data is not None:
            self.show_epoch(app.data, app.epoch, app.member)

    # -- the weights ---------------------------------------------------------------
    def _grid(self, data: RunData, epoch: int, member: int) -> None:
        row_i = data.snapshot_index(epoch)
        snap_epoch = int(data.snapshot_epochs[row_i])
        w = data.weights_at_row(row_i, member)
        prev = data.weights_at_row(row_i - 1, member) if row_i > 0 else None
        if prev is None:
            init = data.initial_weights(member)
            prev = init if init is not None else None
        vals = {r.label: [float(w[p][ix]) for _c, p, ix in r.cells] for r in self.rows}
        deltas = {
            r.label: [
                float(w[p][ix]) - float(prev[p][ix]) if prev is not None else float("nan")
                for _c, p, ix in r.cells
            ]
            for r in self.rows
        }
        scale = max((abs(v) for vs in vals.values() for v in vs), default=1.0) or 1.0
        dscale = max((abs(v) for vs in deltas.values() for v in vs if np.isfinite(v)), default=0.0)
        since = "initial weights" if row_i == 0 else f"epoch {int(data.snapshot_epochs[row_i - 1])}"
        title = Text.assemble(
            ("weights at epoch ", "dim"),
            (f"{snap_epoch}", "bold"),
            (f"  Δ since {since}", "dim"),
            ("  ↑↓ row", "dim"),
        )
        set_text(self.query_one("#browse-title", Static), title)
        grid = self.query_one("#browse-weights", Static)
        if self._hidden <= TABLE_MAX_HIDDEN:
            set_text(grid, self._table(vals, deltas, scale, dscale))
        else:
            set_text(grid, self._heat(vals, scale))
        sel = self.rows[self.sel]
        line = Text(no_wrap=False)
        line.append(f"{sel.label}: ", style="bold")
        for (name, _p, _ix), v, d in zip(
            sel.cells, vals[sel.label], deltas[sel.label], strict=True
        ):
            line.append(f"{name} ", style="dim")
            line.append(f"{v:+.4f}", style=colour(v, scale))
            line.append(f" ({d:+.1e}) " if np.isfinite(d) else " ", style=colour(d, dscale))
        set_text(self.query_one("#browse-row", Static), line)
        self._keep_visible()

    def _keep_visible(self) -> None:
        """Scroll the grid so the selected row is on screen (heat maps are tall)."""
        grid = self.query_one("#browse-grid", VerticalScroll)
        per = 2 if self._hidden <= TABLE_MAX_HIDDEN else 1
        top = 1 + self.sel * per
        height = grid.size.height or 1
        if top < grid.scroll_y + 1:
            grid.scroll_to(y=max(0, top - 1), animate=False)
        elif top + per > grid.scroll_y + height:
            grid.scroll_to(y=top + per - height, animate=False)

    def _table(
        self,
        vals: dict[str, list[float]],
        deltas: dict[str, list[float]],
        scale: float,
        dscale: float,
    ) -> Text:
        """Fixed-width text (a rich Table costs ~10× more to measure and render, and
        this is redrawn on every key)."""
        h = self._hidden
        cw = 10
        heads = ["W_i·v", "W_i·f", *[f"W_h·h{c}" if h > 1 else "W_h" for c in range(h)]]
        t = Text(no_wrap=True)
        t.append(" " * 5 + "".join(f"{x:>{cw}}" for x in (*heads, "b_i", "b_h")), style="dim")
        for i, r in enumerate(self.rows):
            vs, ds = vals[r.label], deltas[r.label]
            if r.label == "out":  # read-out: weights under W_h, bias under b_i
                vs = [float("nan"), float("nan"), *vs, float("nan")]
                ds = [float("nan"), float("nan"), *ds, float("nan")]
            t.append("\n")
            t.append(f"{r.label:<4}", style="reverse bold" if i == self.sel else "bold")
            t.append(" ")
            for v in vs:
                t.append(f"{v:>+{cw}.4f}" if np.isfinite(v) else " " * cw, style=colour(v, scale))
            t.append("\n     ")
            for v, d in zip(vs, ds, strict=True):
                ok = np.isfinite(v) and np.isfinite(d)
                t.append(f"{d:>+{cw}.1e}" if ok else " " * cw, style=colour(d, dscale))
        return t

    def _heat(self, vals: dict[str, list[float]], scale: float) -> Text:
        t = Text(no_wrap=True)
        t.append("     W_i   W_h" + " " * max(0, self._hidden - 3) + "  b_i b_h\n", style="dim")
        for i, r in enumerate(self.rows):
            t.append(f"{r.label:>4} ", style="reverse bold" if i == self.sel else "bold")
            vs = vals[r.label]
            for k, v in enumerate(vs):
                if r.label != "out" and k in (2, len(vs) - 2):
                    t.append(" ")
                t.append("█", style=colour(v, scale))
            t.append("\n")
        return t

    # -- the plots -----------------------------------------------------------------
    def _plots(self, data: RunData, epoch: int, member: int) -> None:
        """Rebuild a figure only when its series or the transition markers changed;
        otherwise move the cursor. Markers are drawn once found (by ``<``/``>`` or the
        Transitions pane); this pane never starts the search itself."""
        traj = self.query_one("#plot-traj", CursorPlot)
        loss = self.query_one("#plot-loss", CursorPlot)
        found = self.grutui.analyses.markers_for(member)
        marks = marker_key(found)
        self._markers = sorted({t.epoch for t in found or ()})
        n_snap = len(data.snapshot_epochs)
        # the run itself (not its id: a replay's rebuilt run is another object)
        key = (data, self.sel, member, marks, n_snap)
        if key != self._traj_key and self._rebuild_due("traj", key, self._traj_key):
            self._traj_key = key
            sel = self.rows[self.sel]
            x = np.asarray(data.snapshot_epochs)
            hist = {p: data.weight_history(p, member) for p in {c[1] for c in sel.cells}}
            self._traj = []
            for name, p, ix in sel.cells:
                y = hist[p][(slice(None), *ix)]  # type: ignore[arg-type]
                xs, ys = downsample(x, np.asarray(y, np.float64))
                self._traj.append((name, xs, ys))
            self._draw(traj, f"{sel.label} over epochs", self._traj, data)
        lkey = (data, member, marks, data.n_epochs)
        if lkey != self._loss_key and self._rebuild_due("loss", lkey, self._loss_key):
            self._loss_key = lkey
            m = data.metrics
            self._loss = []
            for name, arr in (("train", m.train_loss[:, member]), ("test", m.test_loss[:, member])):
                ok = np.isfinite(arr) & (arr > 0)
                xs, ys = downsample(m.epoch[ok], np.log10(arr[ok]))
                self._loss.append((name, xs, ys))
            self._draw(loss, "log10 loss", self._loss, data)
        traj.set_cursor(epoch)
        loss.set_cursor(epoch)

    def _rebuild_due(
        self, plot: str, key: tuple[object, ...], old: tuple[object, ...] | None
    ) -> bool:
        """A figure is rebuilt at once for a new selection, but only every
        ``PLOT_EVERY`` s when just the data grew (the key's last item): a live run
        would otherwise rebuild both plots at every batch (~10 Hz) and take CPU from
        training."""
        if old is None or key[:-1] != old[:-1] or not self.grutui.training:
            return True
        now = time.monotonic()
        built_for, at = self._built_at.get(plot, ((), 0.0))
        if built_for != key[:-1] or now - at >= PLOT_EVERY:
            self._built_at[plot] = (key[:-1], now)
            return True
        return False

    def _draw(
        self,
        widget: CursorPlot,
        title: str,
        series: list[tuple[str, list[float], list[float]]],
        data: RunData,
    ) -> None:
        draw_series(widget, title, series, data.first_epoch, data.last_epoch, markers=self._markers)
