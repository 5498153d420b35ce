"""A plotext plot with a cheap vertical cursor line.

Building a plotext figure costs tens of milliseconds (it is pure Python over every
point), too much for key repeat. The figure is built once per data change and kept as
text; moving the cursor only draws a one-column line over that text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Region
from textual.strip import Strip
from textual_plotext import PlotextPlot

from grutui.ui.widgets.textview import changed_regions

CURSOR_STYLE = Style(color="yellow", bold=True)


class CursorPlot(PlotextPlot):
    """Set up ``self.plt`` (with an explicit ``xlim``), call ``replot(xmin, xmax)``;
    then ``set_cursor(x)`` as often as you like."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._base: list[Text] | None = None
        self._base_size: tuple[int, int] = (0, 0)
        self._frame: tuple[int, int, int, int] | None = None  # left, right, top, bottom
        self._xlim: tuple[float, float] = (0.0, 1.0)
        self._strips: list[Strip] = []
        self.cursor_x: float | None = None
        self.markers: tuple[int, ...] = ()  # marker lines in the figure (draw_series)
        self.builds = 0  # figure builds, for tests and benchmarks

    def replot(self, xmin: float, xmax: float) -> None:
        """The figure in ``self.plt`` changed: rebuild it and repaint the cells that
        differ from the last figure (a grown series changes a few cells, not all)."""
        old = self._strips if self._base is not None else None
        old_col = self.cursor_column()
        self._xlim = (xmin, xmax)
        self._base = None
        if old is None or not self.is_mounted or self.size.width <= 0:
            self.refresh()
            return
        self._ensure_base()
        regions = changed_regions(old, self._strips, self.size.width)
        new_col = self.cursor_column()
        # the cursor's column: repainted by the diff where the figure changed under it
        self._refresh_columns(regions, *((old_col, new_col) if new_col != old_col else ()))

    def set_cursor(self, x: float | None) -> None:
        if x != self.cursor_x:
            old_col = self.cursor_column()
            self.cursor_x = x
            new_col = self.cursor_column()
            if new_col != old_col:  # many epochs share a column: most moves draw nothing
                self._refresh_columns([], old_col, new_col)

    def _refresh_columns(self, regions: list[Region], *cols: int | None) -> None:
        """Repaint ``regions`` and the cursor's old and new columns, nothing else (a
        whole plot is kilobytes to the terminal, a column a few hundred bytes)."""
        height = self.size.height
        # from the left edge (see ``changed_regions``)
        regions = regions + [Region(0, 0, c + 1, height) for c in set(cols) if c is not None]
        if self._base is None or self.size.width <= 0:
            self.refresh()
        elif regions:
            self.refresh(*regions)

    def _ensure_base(self) -> None:
        size = (self.size.width, self.size.height)
        if self._base is not None and size == self._base_size:
            return
        built = super().render()  # plotext builds the figure: the expensive part
        self.builds += 1
        text = built if isinstance(built, Text) else Text(str(built))
        self._base = list(text.split("\n", allow_blank=True))
        self._base_size = size
        self._frame = _find_frame([t.plain for t in self._base])
        console = self.app.console
        options = console.options.update_width(max(1, size[0]))
        self._strips = [
            Strip(console.render_lines(line, options, pad=True)[0]) for line in self._base
        ]

    def render_line(self, y: int) -> Strip:
        """Line API: the cached figure's row, with the cursor cell swapped in (a
        cursor move costs one small strip join per row, not a figure build)."""
        self._ensure_base()
        width = self.size.width
        if y >= len(self._strips):
            return Strip.blank(width)
        strip = self._strips[y]
        col = self.cursor_column()
        if col is None or self._frame is None or self._base is None:
            return strip
        _left, _right, top, bottom = self._frame
        if not top < y < bottom or col >= strip.cell_length:
            return strip
        plain = self._base[y].plain
        ch = plain[col] if col < len(plain) and plain[col] != " " else "│"
        return Strip.join(
            [strip.crop(0, col), Strip([Segment(ch, CURSOR_STYLE)]), strip.crop(col + 1, width)]
        )

    def render(self) -> RenderResult:
        """The whole figure with the cursor (for callers that want a renderable)."""
        self._ensure_base()
        assert self._base is not None
        return Text("\n").join(self._base)

    def cursor_column(self) -> int | None:
        if self.cursor_x is None or self._frame is None:
            return None
        left, right, _top, _bottom = self._frame
        lo, hi = self._xlim
        if hi <= lo:
            return left
        frac = (self.cursor_x - lo) / (hi - lo)
        if not 0.0 <= frac <= 1.0:
            return None
        return left + round(frac * (right - left))


def _find_frame(plain: list[str]) -> tuple[int, int, int, int] | None:
    """Canvas columns and frame rows of a plotext figure (its box-drawing frame)."""
    top = next((r for r, s in enumerate(plain) if "┌" in s), None)
    bottom = next((r for r, s in enumerate(plain) if "└" in s), None)
    if top is None or bottom is None or bottom <= top:
        return None
    s = plain[bottom]
    left = s.index("└") + 1
    right = max(s.rfind("┘"), s.rfind("┴")) - 1
    if right <= left:
        return None
    return left, right, top, bottom


def draw_series(
    widget: CursorPlot,
    title: str,
    series: list[tuple[str, list[float], list[float]]],
    lo: float,
    hi: float,
    *,
    markers: Sequence[int] = (),
    marker_colours: Sequence[str] | None = None,
    colour: str | None = None,
) -> None:
    """(Re)build ``widget``'s figure: line series over epochs ``lo..hi``, and a
    vertical line at each of ``markers`` (transition markers; grey unless
    ``marker_colours`` gives one per marker). Plotext draws these lines as grid
    lines, under the series. An empty series name leaves it out of the legend."""
    plt = widget.plt
    plt.clear_data()
    plt.clear_figure()
    plt.title(title)
    for name, all_xs, all_ys in series:
        # plotext cannot place NaN or ±inf (a diverged run's weights and losses): it
        # raises on a series with no finite point; the gaps stay blank
        finite = [(x, y) for x, y in zip(all_xs, all_ys, strict=True) if math.isfinite(y)]
        if finite:
            xs, ys = zip(*finite, strict=True)
            plt.plot(list(xs), list(ys), label=name or None, marker="braille", color=colour)
    if ys_all := [y for _n, _xs, ys in series for y in ys if math.isfinite(y)]:
        ylo, yhi = nice_limits(min(ys_all), max(ys_all))
        plt.ylim(ylo, yhi)
        yt = round_ticks(ylo, yhi)
        plt.yticks(yt, [f"{round(v, 12):.3g}" for v in yt])
    colours = list(marker_colours) if marker_colours is not None else ["gray"] * len(markers)
    for x, c in zip(markers, colours, strict=True):
        plt.vline(x, c)
    widget.markers = tuple(markers)
    hi = max(hi, lo + 1)
    plt.xlim(lo, hi)
    ticks: list[float] = sorted(
        {round(v) for v in (lo, lo + (hi - lo) / 3, lo + 2 * (hi - lo) / 3, hi)}
    )
    plt.xticks(ticks, [str(int(t)) for t in ticks])
    widget.replot(lo, hi)


def nice_limits(lo: float, hi: float) -> tuple[float, float]:
    """``lo..hi`` widened outward to a round step (a tenth of the span's power of ten,
    times 1, 2, 5, 10 or 20: at most 8 steps a span): the axis moves only when the data
    crosses a step, so a growing series redraws a few cells, not the whole figure
    (kilobytes over SSH)."""
    span = hi - lo
    if not span > 0:
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    unit = 10 ** math.floor(math.log10(span))
    # at most 8 steps a span: (m = 20 always fits, the span being under 10 units)
    step = next(m * unit / 10 for m in (1, 2, 5, 10, 20) if span / (m * unit / 10) <= 8)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def axis_end(first: int, last: int, planned: int) -> int:
    """The right end of a growing run's epoch axis: the recorded span rounded up to a
    round length (1, 2 or 5 × 10^k epochs), at most the planned last epoch. The axis
    then moves a few times per decade of epochs, not at every epoch, and in between a
    redraw is the new points' cells only."""
    span = max(last - first, 1)
    unit = 10 ** math.floor(math.log10(span))
    length = next(m * unit for m in (1, 2, 5, 10) if m * unit >= span)
    return max(last, min(first + length, planned))


def round_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """About ``most`` ticks (at most one more) in ``lo..hi``, at multiples of a round
    step (1, 2, 2.5 or 5 × 10^k)."""
    span = hi - lo
    if not span > 0:
        return [lo]
    unit = 10 ** math.floor(math.log10(span / most))
    step = next(m * unit for m in (1, 2, 2.5, 5, 10, 20) if span / (m * unit) <= most)
    first = math.ceil(lo / step - 1e-9)
    return [k * step for k in range(first, math.floor(hi / step + 1e-9) + 1)]
