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


def spark_text(values: list[float], height: int, style: str) -> Text:
    """Columns of eighth-blocks, ``height`` rows tall, on limits rounded to a step."""
    finite = [v for v in values if math.isfinite(v)]
    t = Text(no_wrap=True, style=style)
    if not finite or height <= 0:
        t.append("\n" * max(height - 1, 0))
        return t
    lo, hi = nice_limits(min(finite), max(finite))
    levels = height * 8
    cols = [
        -1 if not math.isfinite(v) else round((v - lo) / (hi - lo) * (levels - 1)) + 1
        for v in values
    ]
    rows = []
    for r in range(height - 1, -1, -1):  # top row first
        base = r * 8
        rows.append("".join(" " if c < 0 else BLOCKS[min(max(c - base, 0), 8)] for c in cols))
    t.append("\n".join(rows))
    return t


class Spark(TextView):
    """``show(x, y, lo, hi)``: the series over epochs ``lo..hi`` as a sparkline."""

    DEFAULT_CSS = """
    Spark { height: 4; }
    """

    def __init__(
        self, *, style: str = "", id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.spark_style = style
        self._series: tuple[np.ndarray, np.ndarray, float, float] | None = None

    def show(self, x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> None:
        self._series = (x, y, lo, hi)
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width, height = self.size.width, self.size.height
        if self._series is None or width <= 0 or height <= 0:
            return
        x, y, lo, hi = self._series
        self.update(spark_text(buckets(x, y, lo, hi, width), height, self.spark_style))
