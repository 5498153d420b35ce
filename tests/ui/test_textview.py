"""TextView and CursorPlot repaint only the cells that changed (bytes over SSH)."""

from __future__ import annotations

from typing import Any

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Static

from grutui.ui.widgets.cursorplot import CursorPlot, draw_series, nice_limits, round_ticks
from grutui.ui.widgets.textview import TextView, changed_regions, changed_span

RED = Style(color="red")


def strip(*parts: tuple[str, Style | None]) -> Strip:
    return Strip([Segment(t, s) for t, s in parts])


def test_changed_span_is_the_differing_cells() -> None:
    a = strip(("epoch ", None), ("2997", RED), ("/2999", None))
    b = strip(("epoch ", None), ("2998", RED), ("/2999", None))
    assert changed_span(a, a) is None
    assert changed_span(a, b) == (9, 10)
    # a style change alone is a change
    c = strip(("epoch ", None), ("2997", None), ("/2999", None))
    assert changed_span(a, c) == (6, 10)
    # a shorter line: its old tail must be repainted
    assert changed_span(a, strip(("epoch ", None))) == (6, 15)


def test_changed_regions_covers_added_and_removed_lines() -> None:
    a = [strip(("x", None)), strip(("y", None))]
    b = [strip(("x", None)), strip(("z", None)), strip(("w", None))]
    assert changed_regions(a, b, 10) == [Region(0, 1, 1, 1), Region(0, 2, 10, 1)]
    # a line that grew: its shifted tail is at new places, so it changed too
    c = [strip(("live  training  device cpu", None))]
    d = [strip(("live  training 1/3000  device cpu", None))]
    assert changed_regions(c, d, 40) == [Region(0, 0, 33, 1)]


def numbers(n: int) -> Text:
    t = Text(no_wrap=True)
    t.append("epoch ", style="dim")
    t.append(f"{n}", style="bold")
    t.append("\nloss ", style="dim")
    t.append(f"{0.1234 + n / 1e4:+.4f}", style="rgb(200,30,30)")
    return t


class Pair(App[None]):
    CSS = "Static, TextView { width: 30; }"

    def compose(self) -> ComposeResult:
        yield Static(numbers(1), id="static")
        yield TextView(numbers(1), id="view")


def rgb(c: Color | None) -> Any:
    return c.get_truecolor() if c is not None else None


def cells(s: Strip) -> list[tuple[str, Any, Any, bool | None]]:
    """Each cell's character, colours (as RGB: one colour has several names) and bold."""
    out = []
    for seg in s:
        st = seg.style or Style()
        out += [(ch, rgb(st.color), rgb(st.bgcolor), st.bold) for ch in seg.text]
    return out


async def test_a_text_view_shows_what_a_static_shows_and_repaints_only_changes() -> None:
    app = Pair()
    async with app.run_test(size=(40, 6)) as pilot:
        static, view = app.query_one("#static", Static), app.query_one("#view", TextView)
        for y in range(2):
            a, b = static.render_line(y), view.render_line(y)
            assert cells(a) == cells(b)[: len(cells(a))]
        view.update(numbers(2))  # "1" -> "2" and one digit of the loss
        await pilot.pause()
        assert view.repainted == 2
        assert "epoch 2" in view.render_line(0).text
        view.update(numbers(2))
        assert view.repainted == 2  # unchanged text: nothing repainted
        view.update(numbers(3).append("\nmore"))  # a new line: laid out again, taller
        await pilot.pause()
        assert view.size.height == 3
        assert view.render_line(2).text.startswith("more")


class PlotApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CursorPlot(id="plot")


async def test_moving_a_plot_cursor_repaints_two_columns() -> None:
    app = PlotApp()
    async with app.run_test(size=(60, 16)) as pilot:
        plot = app.query_one(CursorPlot)
        draw_series(plot, "t", [("a", [0.0, 50.0, 90.0], [1.0, 2.0, 1.5])], 0, 100)
        plot.set_cursor(10)
        await pilot.pause()
        seen: list[tuple[Region, ...]] = []
        real = plot.refresh

        def spy(*regions: Region, **kw: Any) -> Any:
            seen.append(regions)
            return real(*regions, **kw)

        plot.refresh = spy  # type: ignore[method-assign]
        old_col = plot.cursor_column()
        plot.set_cursor(60)
        new_col = plot.cursor_column()
        (regions,) = seen
        # the old and the new column (from the left edge: see changed_regions)
        assert len(regions) == 2 and {r.right - 1 for r in regions} == {old_col, new_col}
        # a figure that grew by one point repaints the lines it touched, not all
        seen.clear()
        draw_series(plot, "t", [("a", [0.0, 50.0, 90.0, 100.0], [1.0, 2.0, 1.5, 1.5])], 0, 100)
        (regions,) = seen
        assert 0 < len(regions) <= 3


def test_nice_limits_hold_still_while_a_series_grows_inside_a_step() -> None:
    lo, hi = nice_limits(-3.27, -0.41)
    assert lo <= -3.27 and hi >= -0.41
    assert nice_limits(-3.29, -0.41) == (lo, hi)  # a new minimum within the step
    assert nice_limits(-3.6, -0.41)[0] < lo  # crossing it moves the axis
    assert nice_limits(5.0, 5.0) == (4.5, 5.5)  # a flat series still gets a range


def test_round_ticks_are_round_and_inside() -> None:
    assert round_ticks(-3.5, 1.0) == [-3.0, -2.0, -1.0, 0.0, 1.0]
    assert round_ticks(-6.0, 6.0) == [-5.0, -2.5, 0.0, 2.5, 5.0]
    for lo, hi in ((0.123, 0.125), (4.5, 5.5), (-1e-9, 2.4e-9)):
        t = round_ticks(lo, hi)
        assert 2 <= len(t) <= 6 and all(lo - 1e-12 <= v <= hi + 1e-12 for v in t)
