"""A multi-row sparkline that stays still while its series grows.

Drawn as text in a ``TextView``: one column per bucket of a fixed epoch range (a live
run's planned epochs), y limits rounded to a step (``nice_limits``). A bucket that is
complete never changes and the axis moves only when the data crosses a step, so a
growing run repaints a column or two per redraw instead of the whole curve (Textual's
``Sparkline`` repaints every cell, each in its own colour: kilobytes over SSH).
"""

from __future__ import annotations

import math

import numpy as np
from rich.style import Style
from rich.text import Text

from grutui.ui.widgets.cursorplot import nice_limits
from grutui.ui.widgets.textview import TextView

BLOCKS = " ▁▂▃▄▅▆▇█"


def bucket_of(x: float, lo: float, hi: float, width: int) -> int:
    """The column of ``x`` among ``width`` equal bins of ``lo..hi`` (as ``buckets``)."""
    span = max(hi - lo, 1e-12)
    return min(max(int((x - lo) / span * width), 0), width - 1)


def buckets(x: np.ndarray, y: np.ndarray, lo: float, hi: float, width: int) -> list[float]:
    """The mean of ``y`` in each of ``width`` equal bins of ``lo..hi`` (by ``x``); NaN
    where a bin holds no finite value."""
    out = [math.nan] * width
    ok = np.isfinite(y) & np.isfinite(x)
    if width <= 0 or not ok.any():
        return out
    span = max(hi - lo, 1e-12)
    idx = np.clip(((x[ok] - lo) / span * width).astype(int), 0, width - 1)
    sums = np.bincount(idx, weights=y[ok], minlength=width)
    counts = np.bincount(idx, minlength=width)
    for i in np.flatnonzero(counts):
        out[int(i)] = float(sums[i] / counts[i])
    return out


def _levels(values: list[float], lo: float, hi: float, levels: int) -> list[int]:
    """Eighths of height per column (−1: no value): ``lo`` → 1, ``hi`` → ``levels``."""
    return [
        -1
        if not math.isfinite(v)
        else round((min(max(v, lo), hi) - lo) / (hi - lo) * (levels - 1)) + 1
        for v in values
    ]


def spark_text(
    values: list[float],
    height: int,
    style: str,
    *,
    limits: tuple[float, float] | None = None,
    behind: tuple[list[float], str] | None = None,
) -> Text:
    """Columns of eighth-blocks, ``height`` rows tall, on ``limits`` (default: the
    values' range rounded to a step). ``behind``: a second series and its style on the
    same axis; in each column the lower of the two is drawn over the higher, so both
    show (the higher one's part above the lower one's top, e.g. train accuracy above
    test accuracy: the generalisation gap)."""
    other = behind[0] if behind is not None else []
    finite = [v for v in (*values, *other) if math.isfinite(v)]
    t = Text(no_wrap=True, style=style)
    if not finite or height <= 0:
        t.append("\n" * max(height - 1, 0))
        return t
    lo, hi = limits if limits is not None else nice_limits(min(finite), max(finite))
    levels = height * 8
    cols = _levels(values, lo, hi, levels)
    if behind is None:
        rows = []
        for r in range(height - 1, -1, -1):  # top row first
            base = r * 8
            rows.append("".join(" " if c < 0 else BLOCKS[min(max(c - base, 0), 8)] for c in cols))
        t.append("\n".join(rows))
        return t
    back_style = behind[1]
    back = _levels(other, lo, hi, levels)
    for r in range(height - 1, -1, -1):
        base = r * 8
        for front, rear in zip(cols, back, strict=True):
            # the lower series in front, in its own style; the higher one around it
            low, low_style, high, high_style = (
                (front, "", rear, back_style) if front <= rear else (rear, back_style, front, "")
            )
            if low < 0:  # one series has no value here: the other alone
                low, low_style = high, high_style
            f = min(max(low - base, 0), 8)
            b = min(max(high - base, 0), 8)
            if f == 8 or b <= f:
                t.append(BLOCKS[f], low_style)
            elif b == 8 and f > 0:  # the low top in this cell, the high one's colour above
                t.append(BLOCKS[f], f"{low_style or style} on {_colour(high_style or style)}")
            else:
                t.append(BLOCKS[b], high_style)
        if r:
            t.append("\n")
    return t


def _colour(style: str) -> str:
    """The foreground colour of a style, as a background."""
    colour = Style.parse(style).color
    return colour.name if colour is not None else "default"


class Spark(TextView):
    """``show(x, y, lo, hi)``: the series over epochs ``lo..hi`` as a sparkline;
    ``behind``: a second series over the same epochs, drawn in ``behind_style`` (see
    ``spark_text``); ``limits``: a fixed value axis (accuracy's 0..1)."""

    DEFAULT_CSS = """
    Spark { height: 4; }
    """

    def __init__(
        self,
        *,
        style: str = "",
        behind_style: str = "",
        limits: tuple[float, float] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.spark_style = style
        self.behind_style = behind_style
        self.limits = limits
        self._series: tuple[np.ndarray, np.ndarray, float, float] | None = None
        self._behind: np.ndarray | None = None

    def show(
        self, x: np.ndarray, y: np.ndarray, lo: float, hi: float, behind: np.ndarray | None = None
    ) -> None:
        self._series = (x, y, lo, hi)
        self._behind = behind
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width, height = self.size.width, self.size.height
        if self._series is None or width <= 0 or height <= 0:
            return
        x, y, lo, hi = self._series
        behind = None
        if self._behind is not None:
            behind = (buckets(x, self._behind, lo, hi, width), self.behind_style)
        values = buckets(x, y, lo, hi, width)
        self.update(spark_text(values, height, self.spark_style, limits=self.limits, behind=behind))
