"""The sparkline: fixed buckets, still while a series grows inside them."""

from __future__ import annotations

import math

import numpy as np
from textual.app import App, ComposeResult

from grutui.ui.widgets.spark import Spark, buckets, spark_text


def test_buckets_average_each_bin_and_leave_empty_bins_blank() -> None:
    x = np.arange(10.0)
    y = np.array([0, 2, 4, 6, 8, 10, 12, 14, 16, np.nan])
    b = buckets(x, y, 0, 19, 4)  # bins of 5 epochs over 0..19: the last two empty
    assert b[:2] == [4.0, 13.0]  # (0+2+4+6+8)/5 and (10+12+14+16)/4, NaN skipped
    assert all(math.isnan(v) for v in b[2:])


def test_spark_text_draws_eighths_and_blanks() -> None:
    t = spark_text([0.0, 1.0, math.nan], 2, "")
    top, bottom = t.plain.split("\n")
    assert bottom[0] != " " and bottom[1] == "█" and top[1] == "█"
    assert top[2] == bottom[2] == " "  # no data: nothing drawn


def test_a_second_series_behind_shows_above_the_first() -> None:
    """Test accuracy (in front) over train accuracy (behind) on a 0..1 axis: train's
    colour fills the cells above test's top; where test has no value, train alone."""
    front, back = "#e0a030", "#3fa7d6"
    t = spark_text([0.0, 0.5, 1.0, math.nan], 2, front, limits=(0, 1), behind=([1.0] * 4, back))
    top, bottom = t.plain.split("\n")
    assert (top, bottom) == ("█▁██", "▁███")

    def style(i: int) -> str:  # a cell's own style ("" : the text's, the front colour)
        return next((str(sp.style) for sp in reversed(t.spans) if sp.start <= i < sp.end), "")

    assert [style(i) for i in range(4)] == [back, f"{front} on {back}", "", back]
    assert [style(5 + i) for i in range(4)] == [f"{front} on {back}", "", "", back]
    # with nothing behind, the plain sparkline
    alone = spark_text([0.2, 0.4], 2, front, limits=(0, 1))
    nothing = ([math.nan] * 2, back)
    assert alone.plain == spark_text([0.2, 0.4], 2, front, limits=(0, 1), behind=nothing).plain


class One(App[None]):
    CSS = "Spark { width: 40; height: 4; }"

    def compose(self) -> ComposeResult:
        yield Spark(id="s")


async def test_a_growing_series_repaints_a_few_cells() -> None:
    # a live run's curve over its planned epochs: each new epoch lands in the last
    # bucket, so a redraw names a column's cells, not the whole sparkline
    app = One()
    async with app.run_test(size=(60, 6)) as pilot:
        spark = app.query_one(Spark)
        x = np.arange(200.0)
        y = np.log10(np.linspace(10, 0.1, 200))
        spark.show(x[:100], y[:100], 0, 999)
        await pilot.pause()
        before = spark.repainted
        spark.show(x[:101], y[:101], 0, 999)
        assert spark.repainted - before <= 4  # at most the one column's 4 rows
        assert "█" in spark.render_line(3).text
