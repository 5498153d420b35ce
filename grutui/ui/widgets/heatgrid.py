"""A virtual grid of signed values: a heat map (one cell a value) or a table (a value
and its change per cell), with a fixed header and legend, drawn with the line API.

Only the rows and columns in view are drawn, from arrays computed once per epoch, so
a key costs the same at hidden 1 and hidden 128. Only lines that changed are repainted
(Textual sends a changed line of a widget whole). The selected row and column stay in
view: the rows scroll under the header, the middle columns under the fixed ones (a
table too wide for the terminal scrolls all its columns under the row labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from grutui.ui.colours import NO_LEVEL, Mode, cell, legend, text_style
from grutui.ui.widgets.textview import changed_regions

LABEL_W = 5  # a row's label ("r127") and a space
TABLE_CW = 10  # a table cell's width
SEL = Style(reverse=True, bold=True)
BOLD = Style(bold=True)
DIM = Style(dim=True)


@dataclass(frozen=True)
class GridData:
    """What the grid shows: R rows × C columns of values (NaN: no cell there), their
    changes, and each one's colour level (``colours.levels``)."""

    labels: tuple[str, ...]
    columns: tuple[str, ...]  # a name per column (table header)
    groups: tuple[tuple[int, str], ...]  # (first column, name) of each column group
    scroll: tuple[int, int]  # the columns [a, b) that scroll sideways; the rest stay
    vals: np.ndarray
    deltas: np.ndarray
    vlev: np.ndarray
    dlev: np.ndarray
    scale: float
    dscale: float


class WeightGrid(Widget):
    """Rows of cells under a fixed header, with a legend line below them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.grid: GridData | None = None
        self.table = False
        self.mode: Mode = "truecolor"
        self.sel = 0
        self.col = 0
        self.top = 0  # first row in view
        self.left = 0  # first scrolling column in view
        self._strips: list[Strip] = []  # the lines on screen, for the next show's diff
        self._key: tuple[int, int, Style] | None = None  # (width, height, style) of them
        self.repainted = 0  # cells named for repainting by ``show`` (tests, benches)

    def show(self, grid: GridData, sel: int, col: int, *, table: bool, mode: Mode) -> None:
        """Show ``grid``; repaint only the cells that changed (the bytes over SSH)."""
        self.grid, self.sel, self.col, self.table, self.mode = grid, sel, col, table, mode
        if self._key != self._render_key() or not self._strips:
            self._strips = []
            self.refresh()
            return
        old = self._strips
        self._strips = [self._line(y) for y in range(self.size.height)]
        regions = changed_regions(old, self._strips, self.size.width)
        self.repainted += sum(r.area for r in regions)
        if regions:
            self.refresh(*regions)

    # -- what is in view -----------------------------------------------------------
    @property
    def per_row(self) -> int:
        return 2 if self.table else 1

    def rows_in_view(self) -> range:
        """The rows on screen: the window moves only as far as the selection needs."""
        g = self.grid
        if g is None:
            return range(0)
        n = len(g.labels)
        fit = max(1, (self.size.height - 2) // self.per_row)
        if self.sel < self.top:
            self.top = self.sel
        elif self.sel >= self.top + fit:
            self.top = self.sel - fit + 1
        self.top = min(max(self.top, 0), max(0, n - fit))
        return range(self.top, min(n, self.top + fit))

    def table_fits(self) -> bool:
        """Whether every column of the table fits the width (else it scrolls sideways);
        true until the widget is laid out."""
        g, width = self.grid, self.size.width
        return g is None or not width or LABEL_W + g.vals.shape[1] * TABLE_CW <= width

    def columns_in_view(self) -> list[int | str]:
        """The columns drawn left to right; a string is a one-cell mark between them:
        a gap before a group, or ``‹``/``›`` where scrolled-off columns hide."""
        g = self.grid
        if g is None:
            return []
        ncol = g.vals.shape[1]
        if self.table:
            return self._table_columns(ncol)
        a, b = g.scroll
        starts = {s for s, _name in g.groups if s}
        fixed = (ncol - (b - a)) + len(starts)  # fixed cells and one gap per group
        room = max(1, self.size.width - LABEL_W - fixed - 2)  # 2: the ‹ › marks
        if b - a <= room + 2:
            room = b - a
        if a <= self.col < b:
            if self.col < a + self.left:
                self.left = self.col - a
            elif self.col >= a + self.left + room:
                self.left = self.col - a - room + 1
        self.left = min(max(self.left, 0), max(0, b - a - room))
        lo, hi = a + self.left, a + self.left + room
        out: list[int | str] = []
        for c in range(ncol):
            if a <= c < b and not lo <= c < hi:
                if c == lo - 1:
                    out.append("‹")
                elif c == hi:
                    out.append("›")
                continue
            if c in starts:
                out.append(" ")
            out.append(c)
        return out

    def _table_columns(self, ncol: int) -> list[int | str]:
        """The table's columns: all of them, or a window holding the selected one (with
        a cell kept for the ``›`` mark)."""
        if self.table_fits():
            return list(range(ncol))
        fit = max(1, (self.size.width - LABEL_W - 1) // TABLE_CW)
        if self.col < self.left:
            self.left = self.col
        elif self.col >= self.left + fit:
            self.left = self.col - fit + 1
        self.left = min(max(self.left, 0), max(0, ncol - fit))
        return list(range(self.left, min(ncol, self.left + fit)))

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        g = self.grid
        return 2 + (len(g.labels) * self.per_row if g is not None else 0)

    # -- drawing -------------------------------------------------------------------
    def _render_key(self) -> tuple[int, int, Style]:
        return self.size.width, self.size.height, self.rich_style

    def render_line(self, y: int) -> Strip:
        key = self._render_key()
        if key != self._key or not self._strips:
            self._strips = [self._line(i) for i in range(self.size.height)]
            self._key = key
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    def _line(self, y: int) -> Strip:
        base = self.rich_style
        width = self.size.width
        g = self.grid
        if g is None:
            return Strip.blank(width, base)
        rows = self.rows_in_view()
        cols = self.columns_in_view()
        last = 1 + len(rows) * self.per_row
        if y == 0:
            segs = self._header(g, cols)
        elif y == last:
            what = "" if self.table else "98th pct of |w|"
            segs = list(legend(g.scale, self.mode, what).render(self.app.console))
        elif y > last:
            segs = []
        else:
            r = rows.start + (y - 1) // self.per_row
            second = (y - 1) % self.per_row == 1
            segs = self._table_row(g, r, second, cols) if self.table else self._heat_row(g, r, cols)
        # adjacent cells of one style as one segment: one style code, not one per cell
        return Strip(segs).apply_style(base).crop_extend(0, width, base).simplify()

    def _label(self, g: GridData, r: int, second: bool = False) -> Segment:
        if second:
            return Segment(" " * LABEL_W)
        style = SEL if r == self.sel else BOLD
        return Segment(f"{g.labels[r]:<{LABEL_W - 1}}", style)

    def _header(self, g: GridData, cols: list[int | str]) -> list[Segment]:
        if self.table:
            shown = [c for c in cols if isinstance(c, int)]
            # a long feature name is cut rather than pushing the columns out of line
            heads = "".join(f"{g.columns[c][: TABLE_CW - 1]:>{TABLE_CW}}" for c in shown)
            if len(shown) == len(g.columns):
                return [Segment(" " * LABEL_W + heads, DIM)]
            left = "‹" if shown[0] > 0 else " "
            right = "›" if shown[-1] < len(g.columns) - 1 else ""
            return [Segment(" " * (LABEL_W - 1) + left + heads + right, DIM)]
        names = dict(g.groups)
        a, b = g.scroll
        shown = [c for c in cols if isinstance(c, int) and a <= c < b]
        if shown and len(shown) < b - a:  # scrolled sideways: name the columns in view
            bounds = [s for s, _name in g.groups] + [len(g.columns)]
            for s, e in pairwise(bounds):
                part = [c for c in shown if s <= c < e]
                if part and len(part) < e - s:  # this group is cut: say which columns
                    first, last = (g.columns[c].split("·")[-1] for c in (part[0], part[-1]))
                    names[part[0]] = f"{names.pop(s, '')} {first}–{last}"
        line = [" "] * (LABEL_W + len(cols))
        free = 0  # labels don't overlap: each starts a space after the last
        for x, c in enumerate(cols):
            if isinstance(c, int) and c in names:
                # at the right edge a label moves left rather than lose its end
                at = max(min(LABEL_W + x, self.size.width - len(names[c])), free)
                line[at : at + len(names[c])] = names[c]
                free = at + len(names[c]) + 1
        return [Segment("".join(line).rstrip(), DIM)]

    def _heat_row(self, g: GridData, r: int, cols: list[int | str]) -> list[Segment]:
        segs = [self._label(g, r), Segment(" ")]
        lev = g.vlev[r]
        here = r == self.sel  # the selected cell is drawn reversed
        mode = self.mode
        for c in cols:
            if isinstance(c, str):
                segs.append(Segment(c, DIM if c.strip() else None))
                continue
            ch, style = cell(int(lev[c]), mode)
            segs.append(Segment(ch, style + SEL if here and c == self.col else style))
        return segs

    def _table_row(self, g: GridData, r: int, second: bool, cols: list[int | str]) -> list[Segment]:
        segs = [self._label(g, r, second)] + ([] if second else [Segment(" ")])
        mode = self.mode
        # a table too wide to fit marks its selected cell, as the heat map does
        mark = r == self.sel and not second and len(cols) < g.vals.shape[1]
        for c in cols:
            assert isinstance(c, int)
            v = g.vals[r, c]
            if not np.isfinite(v):
                segs.append(Segment(" " * TABLE_CW))
            elif second:
                # the changes in one dim style: every one of them changes each epoch,
                # and a colour per cell would be a style code per cell per key over SSH
                # (the sign and the exponent say what the colour said)
                d = g.deltas[r, c]
                lv = int(g.dlev[r, c])
                txt = f"{d:>+{TABLE_CW}.1e}" if lv != NO_LEVEL else " " * TABLE_CW
                segs.append(Segment(txt, DIM))
            else:
                style = text_style(int(g.vlev[r, c]), mode)
                if mark and c == self.col:
                    segs.append(Segment(" " * (TABLE_CW - 8)))
                    segs.append(Segment(f"{v:>+8.4f}", style + SEL))
                else:
                    segs.append(Segment(f"{v:>+{TABLE_CW}.4f}", style))
        return segs
