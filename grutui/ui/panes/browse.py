"""Browse pane: the weights at the cursor epoch grouped by gate, with their change since
the previous epoch on a colour scale, and trajectories of the selected weights and of
the loss over all epochs with a vertical line at the cursor.

Scrubbing stays cheap at any model size: an epoch's grid (values, changes, colour
levels) is computed with numpy once and kept for the last few epochs visited; the grid
widget draws only the rows and columns in view; the plotted series are downsampled once
per (cells shown, plot width, data size), and a cursor move only swaps the plots'
vertical line.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer

from grutui.core.gru import GATES
from grutui.core.layout import PARAM_NAMES
from grutui.core.rundata import RunData
from grutui.ui.analyses import marker_key
from grutui.ui.colours import Mode, current, levels, magnitude_scale, text_style
from grutui.ui.panes.base import PaneScreen
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.cursorplot import CursorPlot, draw_series
from grutui.ui.widgets.heatgrid import GridData, WeightGrid
from grutui.ui.widgets.text import set_text
from grutui.ui.widgets.textview import TextView

TABLE_MAX_HIDDEN = 4  # above this the weights are a heat map plus the selected row's numbers
PLOT_POINTS = 160  # points per series: ~2 per column (braille) of a wide plot
BLOCKS = 8  # per-epoch grids kept (scrubbing back and forth, row keys at one epoch)
ROW_LINES = 3  # lines of numbers in the selected row's box (below its title line)


@dataclass(frozen=True)
class Row:
    """One row of the weight grid: a gate's unit (or the read-out)."""

    label: str  # e.g. "r0" or "out"
    cells: tuple[tuple[str, str, tuple[int, ...]], ...]  # (column name, param, index)
    cols: tuple[int, ...]  # each cell's column in the grid


def grid_rows(hidden: int, input_size: int = 2) -> list[Row]:
    """Rows r0..r{H-1}, z…, n…, then the read-out; columns W_i (per input), W_h (per
    hidden unit), b_i, b_h, indexing PyTorch's stacked parameters (gate order r, z, n).
    The read-out's weights sit under W_h and its bias under b_i."""
    w_ih, w_hh, b_ih, b_hh, w_o, b_o = PARAM_NAMES
    rows = []
    inputs = input_names(input_size)
    for k, g in enumerate(GATES):
        for j in range(hidden):
            i = k * hidden + j
            cells: list[tuple[str, str, tuple[int, ...]]] = [
                (f"W_i{g}·{nm}", w_ih, (i, c)) for c, nm in enumerate(inputs)
            ]
            cells += [(f"W_h{g}·h{c}", w_hh, (i, c)) for c in range(hidden)]
            cells += [(f"b_i{g}", b_ih, (i,)), (f"b_h{g}", b_hh, (i,))]
            label = f"{g}{j}" if hidden > 1 else g
            rows.append(Row(label, tuple(cells), tuple(range(len(cells)))))
    out: list[tuple[str, str, tuple[int, ...]]] = [
        (f"W_o·h{c}", w_o, (0, c)) for c in range(hidden)
    ]
    out.append(("b_o", b_o, (0,)))
    rows.append(Row("out", tuple(out), tuple(range(input_size, input_size + hidden + 1))))
    return rows


def input_names(input_size: int) -> list[str]:
    return ["v", "f"] if input_size == 2 else [str(i) for i in range(input_size)]


def weight_matrix(w: Mapping[str, np.ndarray], hidden: int) -> np.ndarray:
    """The grid of ``grid_rows`` as one (3H+1, inputs+H+2) array; NaN where a row has
    no cell (the read-out's)."""
    w_ih, w_hh, b_ih, b_hh, w_o, b_o = (np.asarray(w[p], np.float64) for p in PARAM_NAMES)
    g, n_in = 3 * hidden, w_ih.shape[1]
    m = np.full((g + 1, n_in + hidden + 2), np.nan)
    m[:g, :n_in] = w_ih
    m[:g, n_in : n_in + hidden] = w_hh
    m[:g, -2] = b_ih
    m[:g, -1] = b_hh
    m[g, n_in : n_in + hidden] = w_o[0]
    m[g, n_in + hidden] = b_o[0]
    return m


def short_name(name: str) -> str:
    """A cell's name within its row: "W_hr·h5" → "h5", "b_ir" → "b_i", "b_o" → "b"."""
    if "·" in name:
        return name.split("·", 1)[1]
    return "b" if name == "b_o" else name[:3]


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
        Binding(
            "h",
            "cell(-1)",
            "Cell",
            id="browse.cell_left",
            tooltip="Heat map: select the cell to the left (its number is in the row box)",
            show=False,
        ),
        Binding(
            "l",
            "cell(1)",
            "Cell",
            id="browse.cell_right",
            tooltip="Heat map: select the cell to the right (its number is in the row box)",
            show=False,
        ),
        Binding(
            "H",
            "cell_page(-1)",
            "Row page",
            id="browse.page_left",
            tooltip="Heat map: the previous page of the selected row's numbers",
            show=False,
        ),
        Binding(
            "L",
            "cell_page(1)",
            "Row page",
            id="browse.page_right",
            tooltip="Heat map: the next page of the selected row's numbers",
            show=False,
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sel = 0
        self.col = 0  # the selected cell's grid column (heat map)
        self.rows: list[Row] = []
        self._hidden = -1
        self._inputs = -1  # the model's input size D (the task's features)
        self._blocks: OrderedDict[tuple[object, ...], GridData] = OrderedDict()
        self._page: tuple[int, ...] = ()  # the selected row's cells in its box
        self._plotted: tuple[int, ...] = ()  # the cells whose trajectories are drawn
        self._traj_key: tuple[object, ...] | None = None
        self._traj: list[tuple[str, list[float], list[float]]] = []
        self._loss_key: tuple[object, ...] | None = None
        self._loss: list[tuple[str, list[float], list[float]]] = []
        self._markers: list[int] = []  # transition marker epochs drawn on both plots

    def compose(self) -> ComposeResult:
        yield CursorBar(id="cursor-bar")
        with Horizontal(id="browse-body"):
            with Vertical(id="browse-left"):
                yield TextView("", id="browse-title")
                yield WeightGrid(id="browse-weights")
                yield TextView("", id="browse-row")
            with Horizontal(id="browse-plots"):
                yield CursorPlot(id="plot-traj")
                yield CursorPlot(id="plot-loss")
        yield Footer()

    # -- the pane interface --------------------------------------------------------
    def data_grew(self, data: RunData) -> None:
        """Nothing to drop: blocks are per snapshot row (never rewritten) and the plot
        caches are keyed by the data's length."""

    def analysis_changed(self) -> None:
        """Transition markers were found: the plots' keys see the new list."""
        self.sync()

    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        if epoch < 0 or not len(data.snapshot_epochs):
            set_text(self.query_one("#browse-title", TextView), "no weights recorded yet")
            return
        hidden, inputs = data.config.hidden, data.config.input_size
        if (hidden, inputs) != (self._hidden, self._inputs):
            self._hidden, self._inputs = hidden, inputs
            self.rows = grid_rows(hidden, inputs)
            self.sel = min(self.sel, len(self.rows) - 1)
            self._blocks.clear()
        self._grid(data, epoch, member)
        self._plots(data, epoch, member)

    @property
    def table(self) -> bool:
        return self._hidden <= TABLE_MAX_HIDDEN

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

    def action_cell(self, delta: int) -> None:
        if not self.rows or self.table:
            return
        cols = self.rows[self.sel].cols
        i = min(max(self._cell_index() + delta, 0), len(cols) - 1)
        self.col = cols[i]
        self._refresh_all()

    def action_cell_page(self, delta: int) -> None:
        if not self.rows or self.table or not self._page:
            return
        cols = self.rows[self.sel].cols
        i = min(max(self._cell_index() + delta * len(self._page), 0), len(cols) - 1)
        self.col = cols[i]
        self._refresh_all()

    def _cell_index(self) -> int:
        """The selected row's cell at (or nearest after) the selected column."""
        cols = self.rows[self.sel].cols
        return min(int(np.searchsorted(cols, self.col)), len(cols) - 1)

    def _refresh_all(self) -> None:
        app = self.grutui
        if app.data is not None:
            self.show_epoch(app.data, app.epoch, app.member)

    # -- the weights ---------------------------------------------------------------
    def _block(self, data: RunData, row_i: int, member: int) -> GridData:
        """The grid at snapshot row ``row_i``: values, changes and their colour levels,
        computed with numpy once and kept for the last few rows visited."""
        key = (data, row_i, member, self._hidden)
        got = self._blocks.get(key)
        if got is not None:
            self._blocks.move_to_end(key)
            return got
        h = self._hidden
        vals = weight_matrix(data.weights_at_row(row_i, member), h)
        prev = data.weights_at_row(row_i - 1, member) if row_i > 0 else None
        if prev is None:
            prev = data.initial_weights(member)
        deltas = vals - weight_matrix(prev, h) if prev is not None else np.full_like(vals, np.nan)
        scale = magnitude_scale(vals)
        dscale = magnitude_scale(deltas)
        n_in = vals.shape[1] - h - 2
        columns = (
            *(f"W_i·{nm}" for nm in input_names(n_in)),
            *(f"W_h·h{c}" if h > 1 else "W_h" for c in range(h)),
            "b_i",
            "b_h",
        )
        got = GridData(
            labels=tuple(r.label for r in self.rows),
            columns=columns,
            groups=((0, "W_i"), (n_in, "W_h"), (n_in + h, "b")),
            scroll=(n_in, n_in + h),
            vals=vals,
            deltas=deltas,
            vlev=levels(vals, scale),
            dlev=levels(deltas, dscale),
            scale=scale,
            dscale=dscale,
        )
        self._blocks[key] = got
        while len(self._blocks) > BLOCKS:
            self._blocks.popitem(last=False)
        return got

    def _grid(self, data: RunData, epoch: int, member: int) -> None:
        row_i = data.snapshot_index(epoch)
        snap_epoch = int(data.snapshot_epochs[row_i])
        g = self._block(data, row_i, member)
        mode = current()  # the terminal's, set by the app
        since = "initial weights" if row_i == 0 else f"epoch {int(data.snapshot_epochs[row_i - 1])}"
        title = Text.assemble(
            ("weights at epoch ", "dim"),
            (f"{snap_epoch}", "bold"),
            (f"  Δ since {since}", "dim"),
            ("  ↑↓ row" if self.table else "  ↑↓ row  h/l cell  H/L page", "dim"),
        )
        set_text(self.query_one("#browse-title", TextView), title)
        self.query_one("#browse-weights", WeightGrid).show(
            g, self.sel, self.col, table=self.table, mode=mode
        )
        box = self.query_one("#browse-row", TextView)
        line = self._row_full(g, mode) if self.table else self._row_paged(g, mode, box)
        set_text(box, line)

    def _row_full(self, g: GridData, mode: Mode) -> Text:
        """Small models: the table shows every number, so the box names the selected
        row's cells (their numbers again would cost their bytes twice per key)."""
        sel = self.rows[self.sel]
        self._page = self._plotted = sel.cols
        line = Text(no_wrap=False)
        line.append(f"{sel.label}: ", style="bold")
        line.append("  ".join(name for name, _p, _ix in sel.cells))
        line.append("  (plotted below)", style="dim")
        return line

    def _row_paged(self, g: GridData, mode: Mode, box: TextView) -> Text:
        """The selected row's numbers a page at a time (a row of a big model has more
        than fit): the selected cell's value and change on the first line, then the
        page of cells around it, aligned."""
        sel, r = self.rows[self.sel], self.sel
        width = box.content_size.width or max(20, self.size.width - 2)
        names = [short_name(c[0]) for c in sel.cells]
        nw = max(len(n) for n in names)
        per_line = max(1, (width + 2) // (nw + 11))
        size = per_line * ROW_LINES
        si = self._cell_index()
        p0 = si // size * size
        p1 = min(p0 + size, len(names))
        self._page = sel.cols[p0:p1]
        l0 = si // per_line * per_line  # the box's line holding the selected cell
        self._plotted = sel.cols[l0 : min(l0 + per_line, len(names))]
        c = sel.cols[si]
        v, d = g.vals[r, c], g.deltas[r, c]
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"{sel.label}: ", style="bold")
        t.append(f"{sel.cells[si][0]} ")
        t.append(f"{v:+.4f}", style=text_style(int(g.vlev[r, c]), mode))
        if np.isfinite(d):
            t.append("  Δ ", style="dim")
            t.append(f"{d:+.1e}", style=text_style(int(g.dlev[r, c]), mode))
        t.append(f"   {p0 + 1}–{p1} of {len(names)}", style="dim")
        for i in range(p0, p1):
            t.append("\n" if (i - p0) % per_line == 0 else "  ")
            c = sel.cols[i]
            t.append(f"{names[i]:>{nw}} ", style="reverse bold" if i == si else "dim")
            t.append(f"{g.vals[r, c]:+8.4f}", style=text_style(int(g.vlev[r, c]), mode))
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
        points = min(PLOT_POINTS, max(40, 2 * traj.size.width))  # ~2 per column
        key = (data, self.sel, self._plotted, points, member, marks, n_snap)
        if key != self._traj_key and self.rebuild_due("traj", key, self._traj_key):
            self._traj_key = key
            sel = self.rows[self.sel]
            shown = [
                cell for cell, c in zip(sel.cells, sel.cols, strict=True) if c in self._plotted
            ]
            x = np.asarray(data.snapshot_epochs)
            hist = {p: data.weight_history(p, member) for p in {c[1] for c in shown}}
            self._traj = []
            for name, p, ix in shown:
                y = hist[p][(slice(None), *ix)]  # type: ignore[arg-type]
                xs, ys = downsample(x, np.asarray(y, np.float64), points)
                self._traj.append((name, xs, ys))
            self._draw(traj, f"{sel.label} over epochs", self._traj, data)
        lkey = (data, member, marks, data.n_epochs)
        if lkey != self._loss_key and self.rebuild_due("loss", lkey, self._loss_key):
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

    def _draw(
        self,
        widget: CursorPlot,
        title: str,
        series: list[tuple[str, list[float], list[float]]],
        data: RunData,
    ) -> None:
        lo, hi = self.grutui.epoch_axis()
        draw_series(widget, title, series, lo, hi, markers=self._markers)
