"""Browse pane: the weights at the cursor epoch grouped by gate, with their change since
the previous epoch on a colour scale, and trajectories of the selected weights and of
the loss over all epochs with a vertical line at the cursor.

The grid follows the session's task: one input column per feature, named after it (a
token feature's column is the token selected in its map), one read-out row per output.
A token input (one-hot, ``vocab`` columns of ``W_i``) also has a map of its own, tokens
× gate units (the token's column of ``W_ir``/``W_iz``/``W_in``), with the selected
token's numbers beneath; ``t`` switches between the gate rows and the token maps.

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
from typing import Any, ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer

from grutui.core.gru import GATES
from grutui.core.layout import PARAM_NAMES
from grutui.core.rundata import RunData
from grutui.core.tasks import AddingTask, Feature
from grutui.ui.analyses import marker_key
from grutui.ui.colours import Mode, current, levels, magnitude_scale, text_style
from grutui.ui.panes.base import PaneScreen, recorded, recorded_int
from grutui.ui.widgets.cursorbar import CursorBar
from grutui.ui.widgets.cursorplot import CursorPlot, draw_series
from grutui.ui.widgets.heatgrid import GridData, WeightGrid
from grutui.ui.widgets.text import set_text
from grutui.ui.widgets.textview import TextView

TABLE_MAX_HIDDEN = 4  # above this the weights are a heat map plus the selected row's numbers
PLOT_POINTS = 160  # points per series: ~2 per column (braille) of a wide plot
BLOCKS = 8  # per-epoch grids kept (scrubbing back and forth, row keys at one epoch)
ROW_LINES = 3  # lines of numbers in the selected row's box (below its title line)
FIXED_INPUTS = 16  # heat map: up to this many input columns stay put, more scroll too


@dataclass(frozen=True)
class Row:
    """One row of the weight grid: a gate's unit, an output, or a token."""

    label: str  # e.g. "r0", "out" or "3" (a token)
    cells: tuple[tuple[str, str, tuple[int, ...]], ...]  # (column name, param, index)
    cols: tuple[int, ...]  # each cell's column in the grid
    name: str = ""  # what the row box and the plot call it, if not ``label``

    @property
    def title(self) -> str:
        return self.name or self.label


InputColumn = tuple[str, int]  # (name, its column of W_i)


def feature_labels(features: tuple[Feature, ...]) -> list[str]:
    """Each feature's shortest name prefix no other feature's name starts with (the
    adding task's value and flag → v, f; in1, in2 stay whole): a narrow column head."""
    names = [f.name for f in features]
    out = []
    for i, nm in enumerate(names):
        others = names[:i] + names[i + 1 :]
        prefixes = (nm[:n] for n in range(1, len(nm)))
        out.append(next((p for p in prefixes if not any(o.startswith(p) for o in others)), nm))
    return out


def input_columns(
    features: tuple[Feature, ...], tokens: Mapping[int, int] | None = None
) -> list[InputColumn]:
    """One grid column per feature: a continuous feature's input unit, a token
    feature's unit of the token ``tokens[i]`` (feature index → token; 0 by default)."""
    out, unit = [], 0
    for i, (f, lab) in enumerate(zip(features, feature_labels(features), strict=True)):
        if f.kind == "token":
            t = (tokens or {}).get(i, 0)
            out.append((f"{lab}={t}", unit + t))
        else:
            out.append((lab, unit))
        unit += f.size
    return out


ADDING_COLUMNS = input_columns(AddingTask().features())


def grid_rows(hidden: int, inputs: list[InputColumn] | None = None, outputs: int = 1) -> list[Row]:
    """Rows r0..r{H-1}, z…, n…, then the read-out (a row per output); columns W_i
    (``inputs``: the adding task's by default), W_h (per hidden unit), b_i, b_h,
    indexing PyTorch's stacked parameters (gate order r, z, n). The read-out's weights
    sit under W_h and its bias under b_i."""
    w_ih, w_hh, b_ih, b_hh, w_o, b_o = PARAM_NAMES
    rows = []
    inputs = ADDING_COLUMNS if inputs is None else inputs
    n_in = len(inputs)
    for k, g in enumerate(GATES):
        for j in range(hidden):
            i = k * hidden + j
            cells: list[tuple[str, str, tuple[int, ...]]] = [
                (f"W_i{g}·{nm}", w_ih, (i, unit)) for nm, unit in inputs
            ]
            cells += [(f"W_h{g}·h{c}", w_hh, (i, c)) for c in range(hidden)]
            cells += [(f"b_i{g}", b_ih, (i,)), (f"b_h{g}", b_hh, (i,))]
            label = f"{g}{j}" if hidden > 1 else g
            rows.append(Row(label, tuple(cells), tuple(range(len(cells)))))
    for o in range(outputs):
        on = "" if outputs == 1 else str(o)
        out: list[tuple[str, str, tuple[int, ...]]] = [
            (f"W_o{on}·h{c}", w_o, (o, c)) for c in range(hidden)
        ]
        out.append((f"b_o{on}", b_o, (o,)))
        cols = tuple(range(n_in, n_in + hidden + 1))
        rows.append(Row("out" if outputs == 1 else f"o{o}", tuple(out), cols))
    return rows


def weight_matrix(
    w: Mapping[str, np.ndarray], hidden: int, units: list[int] | None = None
) -> np.ndarray:
    """The grid of ``grid_rows`` as one (3H+O, inputs+H+2) array, the input columns
    ``units`` of W_i (all by default); NaN where a row has no cell (the read-out's)."""
    w_ih, w_hh, b_ih, b_hh, w_o, b_o = (np.asarray(w[p], np.float64) for p in PARAM_NAMES)
    if units is not None:
        w_ih = w_ih[:, units]
    g, n_in, n_out = 3 * hidden, w_ih.shape[1], w_o.shape[0]
    m = np.full((g + n_out, n_in + hidden + 2), np.nan)
    m[:g, :n_in] = w_ih
    m[:g, n_in : n_in + hidden] = w_hh
    m[:g, -2] = b_ih
    m[:g, -1] = b_hh
    m[g:, n_in : n_in + hidden] = w_o
    m[g:, n_in + hidden] = b_o
    return m


@dataclass(frozen=True)
class TokenMap:
    """A token feature's block of W_i: its ``vocab`` input units from ``first``."""

    name: str
    vocab: int
    first: int


def token_maps(features: tuple[Feature, ...]) -> list[TokenMap]:
    out, unit = [], 0
    for f in features:
        if f.kind == "token":
            out.append(TokenMap(f.name, f.vocab, unit))
        unit += f.size
    return out


def token_rows(hidden: int, tm: TokenMap) -> list[Row]:
    """A row per token: its column of W_ir, W_iz, W_in, one cell per hidden unit."""
    w_ih = PARAM_NAMES[0]
    cols = tuple(range(3 * hidden))
    rows = []
    for t in range(tm.vocab):
        cells = tuple(
            (f"W_i{g}·{g}{j}", w_ih, (k * hidden + j, tm.first + t))
            for k, g in enumerate(GATES)
            for j in range(hidden)
        )
        rows.append(Row(str(t), cells, cols, name=f"{tm.name}={t}"))
    return rows


def token_matrix(w: Mapping[str, np.ndarray], tm: TokenMap) -> np.ndarray:
    """``token_rows``' grid: (vocab, 3H), W_i's columns of the tokens transposed."""
    w_ih = np.asarray(w[PARAM_NAMES[0]], np.float64)
    return w_ih[:, tm.first : tm.first + tm.vocab].T.copy()


def short_name(name: str) -> str:
    """A cell's name within its row: "W_hr·h5" → "h5", "b_ir" → "b_i", "b_o2" → "b"."""
    if "·" in name:
        return name.split("·", 1)[1]
    return "b" if name.startswith("b_o") else name[:3]


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
            tooltip="Previous gate block (token map: a page of tokens up)",
            show=False,
        ),
        Binding(
            "ctrl+down,J",
            "select_gate(1)",
            "Gate down",
            id="browse.gate_down",
            tooltip="Next gate block (token map: a page of tokens down)",
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
        Binding(
            "t",
            "view",
            "Tokens",
            id="browse.tokens",
            tooltip="Token inputs: a token feature's W_i columns as tokens × gate units, "
            "then the next token feature, then back to the gate rows",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sel = 0
        self.col = 0  # the selected cell's grid column (heat map, a scrolled table)
        self.rows: list[Row] = []
        self.view = 0  # 0: the gate rows; k: the k-th token feature's map
        self._where: dict[int, tuple[int, int]] = {}  # another view's (sel, col)
        self._shape: tuple[object, ...] = ()  # (hidden, features, outputs) of ``rows``
        self._hidden = -1
        self._features: tuple[Feature, ...] = ()
        self._outputs = 1
        self._maps: list[TokenMap] = []
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
        cfg = data.config
        features = cfg.task.features()
        shape = (cfg.hidden, features, cfg.output_size)
        if shape != self._shape:
            self._shape = shape
            self._hidden, self._features, self._outputs = shape
            self._maps = token_maps(features)
            # a token task's inputs are its token maps: they are what Browse opens on
            self.view = 1 if self._maps else 0
            self._where = {}
            self.sel = self.col = 0
            self._set_rows()
            self.refresh_bindings()  # the token key applies or not
        self._grid(data, epoch, member)
        self._plots(data, epoch, member)

    def _set_rows(self) -> None:
        if self.view:
            self.rows = token_rows(self._hidden, self._maps[self.view - 1])
        else:
            self.rows = grid_rows(self._hidden, self._input_columns(), self._outputs)
        self.sel = min(self.sel, len(self.rows) - 1)

    def _input_columns(self) -> list[InputColumn]:
        """The gate rows' input columns: a token feature's is its map's selected token."""
        chosen, k = {}, 0
        for i, f in enumerate(self._features):
            if f.kind == "token":
                k += 1
                chosen[i] = self.sel if self.view == k else self._where.get(k, (0, 0))[0]
        return input_columns(self._features, chosen)

    @property
    def table(self) -> bool:
        return self.view == 0 and self._hidden <= TABLE_MAX_HIDDEN

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # the token key is for tasks with token inputs only (off the footer otherwise)
        return bool(self._maps) if action == "view" else True

    # -- actions ------------------------------------------------------------------
    def action_view(self) -> None:
        if not self._maps:
            return
        self._where[self.view] = (self.sel, self.col)
        self.view = (self.view + 1) % (len(self._maps) + 1)
        self.sel, self.col = self._where.get(self.view, (0, 0))
        self._set_rows()
        self._refresh_all()

    def action_select(self, delta: int) -> None:
        if not self.rows:
            return
        self.sel = (self.sel + delta) % len(self.rows)
        self._refresh_all()

    def action_select_gate(self, delta: int) -> None:
        h = max(self._hidden, 1)
        if not self.rows:
            return
        if self.view:  # a token map: a page of tokens
            page = max(1, len(self.query_one(WeightGrid).rows_in_view()))
            self.sel = min(max(self.sel + delta * page, 0), len(self.rows) - 1)
        else:  # the gate blocks, then the read-out's first row
            block = min(max(min(self.sel // h, 3) + delta, 0), 3)
            self.sel = min(block * h, len(self.rows) - 1)
        self._refresh_all()

    def _cells_scroll(self) -> bool:
        """Whether h/l select a cell: in a heat map, or a table too wide to fit."""
        return not self.table or not self.query_one(WeightGrid).table_fits()

    def action_cell(self, delta: int) -> None:
        if not self.rows or not self._cells_scroll():
            return
        cols = self.rows[self.sel].cols
        i = min(max(self._cell_index() + delta, 0), len(cols) - 1)
        self.col = cols[i]
        self._refresh_all()

    def action_cell_page(self, delta: int) -> None:
        if not self.rows or not self._cells_scroll() or not self._page:
            return
        cols = self.rows[self.sel].cols
        page = len(self._page)
        if self.table:  # a scrolled table: the columns in view
            page = sum(isinstance(c, int) for c in self.query_one(WeightGrid).columns_in_view())
        i = min(max(self._cell_index() + delta * max(page, 1), 0), len(cols) - 1)
        self.col = cols[i]
        self._refresh_all()

    def _cell_index(self) -> int:
        """The selected row's cell at (or nearest after) the selected column."""
        cols = self.rows[self.sel].cols
        return min(int(np.searchsorted(cols, self.col)), len(cols) - 1)

    def _refresh_all(self) -> None:
        """Show the selection a key changed, and log it."""
        self._show()
        self.record_view()

    def _show(self) -> None:
        app = self.grutui
        if app.data is not None:
            self.show_epoch(app.data, app.epoch, app.member)

    def view_state(self) -> dict[str, Any]:
        # the other views' selections too: a token map's selected token is the gate
        # rows' column for that feature
        where = [[v, s, c] for v, (s, c) in sorted(self._where.items()) if v != self.view]
        return {"view": self.view, "sel": self.sel, "col": self.col, "where": where}

    def apply_view(self, state: Mapping[str, Any]) -> None:
        if not self._shape:
            self._show()  # the session's rows first: the state indexes them
        if not self._shape:
            return
        where = state.get("where")
        if isinstance(where, list):
            self._where = {}
            for w in where:
                if (
                    isinstance(w, list)
                    and len(w) == 3
                    and all(isinstance(x, int) and not isinstance(x, bool) for x in w)
                    and 0 <= w[0] <= len(self._maps)
                ):  # a token map's row is a token: an input column of the gate rows
                    last = self._maps[w[0] - 1].vocab - 1 if w[0] else max(w[1], 0)
                    self._where[w[0]] = (min(max(w[1], 0), last), w[2])
        self.view = recorded(state, "view", range(len(self._maps) + 1), self.view)
        self.sel = max(recorded_int(state, "sel", self.sel), 0)
        self.col = recorded_int(state, "col", self.col)
        self._set_rows()
        self._show()

    # -- the weights ---------------------------------------------------------------
    def _block(self, data: RunData, row_i: int, member: int) -> GridData:
        """The grid at snapshot row ``row_i``: values, changes and their colour levels,
        computed with numpy once and kept for the last few rows visited."""
        h = self._hidden
        units: list[int] | None = None
        if self.view:
            tm = self._maps[self.view - 1]
            key: tuple[object, ...] = (data, row_i, member, self._shape, tm)
        else:
            inputs = self._input_columns()
            units = [u for _nm, u in inputs]
            key = (data, row_i, member, self._shape, tuple(units))
        got = self._blocks.get(key)
        if got is not None:
            self._blocks.move_to_end(key)
            return got

        def matrix(w: Mapping[str, np.ndarray]) -> np.ndarray:
            return token_matrix(w, tm) if self.view else weight_matrix(w, h, units)

        vals = matrix(data.weights_at_row(row_i, member))
        prev = data.weights_at_row(row_i - 1, member) if row_i > 0 else None
        if prev is None:
            prev = data.initial_weights(member)
        deltas = vals - matrix(prev) if prev is not None else np.full_like(vals, np.nan)
        if self.view:
            columns: tuple[str, ...] = tuple(f"W_i{g}·{g}{j}" for g in GATES for j in range(h))
            groups = tuple((k * h, f"W_i{g}") for k, g in enumerate(GATES))
            scroll = (0, 3 * h)
        else:
            n_in = len(inputs)
            columns = (
                *(f"W_i·{nm}" for nm, _u in inputs),
                *(f"W_h·h{c}" if h > 1 else "W_h" for c in range(h)),
                "b_i",
                "b_h",
            )
            groups = ((0, "W_i"), (n_in, "W_h"), (n_in + h, "b"))
            # a few inputs stay beside the labels; many scroll with W_h
            scroll = (n_in if n_in <= FIXED_INPUTS else 0, n_in + h)
        scale = magnitude_scale(vals)
        dscale = magnitude_scale(deltas)
        got = GridData(
            labels=tuple(r.label for r in self.rows),
            columns=columns,
            groups=groups,
            scroll=scroll,
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
        grid = self.query_one("#browse-weights", WeightGrid)
        if self.view:
            what = f"{self._maps[self.view - 1].name} × W_i at epoch "
            keys = "  ↑↓ token  h/l unit  t rows"
        else:
            what = "weights at epoch "
            if not self.table:
                keys = "  ↑↓ row  h/l cell  " + ("t tokens" if self._maps else "H/L page")
            elif not grid.table_fits():
                keys = "  ↑↓ row  h/l column" + ("  t tokens" if self._maps else "")
            else:
                keys = "  ↑↓ row" + ("  t tokens" if self._maps else "")
        title = Text.assemble(
            (what, "dim"),
            (f"{snap_epoch}", "bold"),
            (f"  Δ since {since}", "dim"),
            (keys, "dim"),
        )
        set_text(self.query_one("#browse-title", TextView), title)
        grid.show(g, self.sel, self.col, table=self.table, mode=mode)
        box = self.query_one("#browse-row", TextView)
        line = self._row_full(g, mode) if self.table else self._row_paged(g, mode, box)
        set_text(box, line)

    def _row_full(self, g: GridData, mode: Mode) -> Text:
        """Small models: the table shows every number, so the box names the selected
        row's cells (their numbers again would cost their bytes twice per key); a table
        too wide to fit names and plots the cells in view, the selected one marked."""
        sel = self.rows[self.sel]
        grid = self.query_one("#browse-weights", WeightGrid)
        scrolled = not grid.table_fits()
        in_view = set(grid.columns_in_view()) if scrolled else set(sel.cols)
        self._page = sel.cols
        self._plotted = tuple(c for c in sel.cols if c in in_view)
        line = Text(no_wrap=False)
        line.append(f"{sel.title}: ", style="bold")
        for i, (c, (name, _p, _ix)) in enumerate(
            (c, cell) for c, cell in zip(sel.cols, sel.cells, strict=True) if c in in_view
        ):
            line.append("  " if i else "")
            line.append(name, style="reverse bold" if scrolled and c == self.col else "")
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
        t.append(f"{sel.title}: ", style="bold")
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
        # the row itself: a token input's column in the gate rows follows its map
        key = (data, self.rows[self.sel], self._plotted, points, member, marks, n_snap)
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
            self._draw(traj, f"{sel.title} over epochs", self._traj, data)
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
