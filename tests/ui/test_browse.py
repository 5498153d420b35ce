"""Browse pane: weights and changes at the cursor, row selection, heat map, plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rich.color import Color

from grutui.core.analysis.transitions import find_transitions
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.core.train import train
from grutui.ui import colours
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.browse import BrowsePane, grid_rows, weight_matrix
from grutui.ui.widgets.cursorplot import CursorPlot
from grutui.ui.widgets.heatgrid import WeightGrid
from tests.helpers import random_params, shown, synthetic_session, tiny_config, until


def _text(app: GrutuiApp, sel: str) -> str:
    w = app.screen.query_one(sel)
    lines = w.render_lines(w.region.reset_offset)  # type: ignore[attr-defined]
    return "\n".join(line.text.strip() for line in lines)


async def test_weights_and_changes_follow_the_cursor(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for key, e in (("home", 0), ("right", 1), ("end", demo_data.last_epoch)):
            await pilot.press(key)
            w = demo_data.weights(e)
            grid = _text(app, "#browse-weights")
            assert f"{w['gru.weight_ih_l0'][0, 0]:+.4f}" in grid  # W_ir·value
            assert f"{w['gru.weight_hh_l0'][2, 0]:+.4f}" in grid  # W_hn
            assert f"{w['linear.bias'][0]:+.4f}" in grid  # read-out bias
            prev = demo_data.weights(e - 1) if e else demo_data.initial_weights()
            assert prev is not None
            d = w["gru.bias_ih_l0"][1] - prev["gru.bias_ih_l0"][1]  # b_iz change
            assert f"{d:+.1e}" in grid
            assert f"weights at epoch {e}" in _text(app, "#browse-title")


async def test_row_keys_select_weights_for_the_trajectory(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BrowsePane)
        assert _text(app, "#browse-row").startswith("r:")
        await pilot.press("down")
        assert _text(app, "#browse-row").startswith("z:")
        assert "W_hz" in _text(app, "#browse-row")
        await pilot.press("down", "down")
        assert _text(app, "#browse-row").startswith("out:")
        await pilot.press("down")  # wraps
        assert _text(app, "#browse-row").startswith("r:")
        await pilot.press("up")
        assert screen.sel == len(grid_rows(1)) - 1
        # the trajectory plot shows the selected row's weights
        labels = [name for name, _xs, _ys in screen._traj]
        assert labels == ["W_o·h0", "b_o"]
        _name, xs, ys = screen._traj[0]
        assert xs[-1] == demo_data.last_epoch
        assert ys[-1] == float(demo_data.weight_history("linear.weight")[-1, 0, 0])


async def test_large_hidden_sizes_get_a_heat_map_with_the_selected_rows_numbers() -> None:
    cfg = tiny_config(hidden=6, epochs=2)
    data = RunData(cfg, name="h6")
    data.extend(train(cfg))
    app = GrutuiApp(data=data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("down")  # r1
        row = _text(app, "#browse-row")
        w = data.weights(1)
        assert row.startswith("r1:")
        assert f"{w['gru.weight_hh_l0'][1, 5]:+.4f}" in row.replace("\n", " ")
        assert "█" in _text(app, "#browse-weights")
        await pilot.press("ctrl+down")  # next gate block
        assert _text(app, "#browse-row").startswith("z0:")


async def test_scrubbing_moves_the_cursor_line_without_rebuilding_plots(
    demo_data: RunData,
) -> None:
    app = GrutuiApp(data=demo_data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("home")
        await pilot.pause()
        plots = list(app.screen.query(CursorPlot))
        builds = [p.builds for p in plots]
        assert all(b >= 1 for b in builds)

        def cursor_col(p: CursorPlot) -> int:
            lines = [s.text for s in (p.render_line(y) for y in range(p.size.height))]
            _l, _r, top, _b = p._frame  # type: ignore[misc]
            row = p.render_line(top + 1)
            # the cursor cell is the one styled as the cursor
            col = 0
            for seg in row:
                if (
                    seg.style is not None
                    and seg.style.color is not None
                    and (seg.style.color.name == "yellow")
                ):
                    return col
                col += len(seg.text)
            raise AssertionError(lines)

        at_first = [cursor_col(p) for p in plots]
        await pilot.press("end")
        await pilot.pause()
        at_last = [cursor_col(p) for p in plots]
        assert all(a < b for a, b in zip(at_first, at_last, strict=True))
        for _ in range(5):
            await pilot.press("left")
        await pilot.pause()
        assert [p.builds for p in plots] == builds  # the figures were not rebuilt
        await pilot.press("down")  # another row: the trajectory is rebuilt
        await pilot.pause()
        assert plots[0].builds == builds[0] + 1 and plots[1].builds == builds[1]


async def test_a_row_key_repaints_only_the_rows_it_changes(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        grid = app.screen.query_one(WeightGrid)
        before = grid.repainted
        await pilot.press("down")
        await pilot.pause()
        # the two row labels (the old selection and the new), not the whole table
        assert 0 < grid.repainted - before <= 2 * 4
        assert "z" in shown(app, "#browse-row")[:2]


def _line_columns(p: CursorPlot) -> set[int]:
    """Columns where a vertical line meets the figure's top frame (plotext draws ┬)."""
    assert p._base is not None and p._frame is not None
    left, right, top, _bottom = p._frame
    row = p._base[top].plain
    return {c for c in range(left, right + 1) if row[c] == "┬"}


async def test_transition_markers_are_drawn_on_both_plots_once_found(
    demo_data: RunData,
) -> None:
    ref = sorted({t.epoch for t in find_transitions(demo_data)})
    app = GrutuiApp(data=demo_data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("end")  # past the last marker: the search won't move the cursor
        await pilot.pause()
        plots = list(app.screen.query(CursorPlot))
        assert [p.markers for p in plots] == [(), ()]  # browsing never starts the search
        assert app.analyses.markers_for(0) is None
        no_lines = [_line_columns(p) for p in plots]
        builds = [p.builds for p in plots]
        await pilot.press("greater_than_sign")  # finds the markers (nothing to jump to)
        await until(pilot, lambda: app.analyses.markers_for(0) is not None)
        assert [list(p.markers) for p in plots] == [ref, ref]
        assert [p.builds for p in plots] == [b + 1 for b in builds]  # rebuilt once
        for p, before in zip(plots, no_lines, strict=True):
            assert not before and len(_line_columns(p)) >= 3  # the lines are in the figure
        builds = [p.builds for p in plots]
        assert app.epoch == demo_data.last_epoch
        await pilot.press("left", "left", "less_than_sign", "less_than_sign", "home")
        await pilot.pause()
        assert [p.builds for p in plots] == builds  # scrubbing: only the cursor moves


async def test_markers_found_on_another_pane_show_when_switching_to_browse(
    demo_data: RunData,
) -> None:
    ref = sorted({t.epoch for t in find_transitions(demo_data)})
    app = GrutuiApp(data=demo_data, start_pane="debug")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: app.analyses.markers_for(0) is not None)
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.screen, BrowsePane)
        plots = list(app.screen.query(CursorPlot))
        assert [list(p.markers) for p in plots] == [ref, ref]
        assert all(_line_columns(p) for p in plots)


async def test_wide_train_plot_draws_the_markers(demo_data: RunData) -> None:
    ref = sorted({t.epoch for t in find_transitions(demo_data)})
    app = GrutuiApp(data=demo_data, start_pane="train")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        plot = app.screen.query_one("#train-plot", CursorPlot)
        assert plot.display and plot.markers == ()
        await pilot.press("greater_than_sign")
        await until(pilot, lambda: app.analyses.markers_for(0) is not None)
        assert list(plot.markers) == ref
        assert _line_columns(plot)


# -- real sizes ---------------------------------------------------------------------


def big_data(tmp_path: Path, hidden: int, epochs: int = 3) -> RunData:
    """A session of a big model whose weights drift (a synthetic one: training hidden
    64 for real would take the test's time)."""
    rng = np.random.default_rng(1)
    w = random_params(rng, hidden)
    weights = []
    for _ in range(epochs):
        w = {k: v + rng.normal(scale=0.05, size=v.shape).astype(np.float32) for k, v in w.items()}
        weights.append(w)
    path = synthetic_session(tmp_path / f"h{hidden}", weights, np.linspace(1, 0.1, epochs))
    with Session(path) as s:
        return RunData.from_session(s)


def test_weight_matrix_places_every_cell_of_every_row(tmp_path: Path) -> None:
    data = big_data(tmp_path, 5, epochs=1)
    w = data.weights(0)
    m = weight_matrix(w, 5)
    rows = grid_rows(5)
    assert m.shape == (len(rows), 2 + 5 + 2)
    for i, r in enumerate(rows):
        for (_name, p, ix), c in zip(r.cells, r.cols, strict=True):
            assert m[i, c] == w[p][ix]
        assert np.isnan(np.delete(m[i], r.cols)).all()  # nothing else in the row


def _lines(app: GrutuiApp, sel: str) -> list[str]:
    w = app.screen.query_one(sel)
    return [line.text for line in w.render_lines(w.region.reset_offset)]  # type: ignore[attr-defined]


def _on_screen(app: GrutuiApp, sel: str) -> bool:
    w = app.screen.query_one(sel)
    r = w.region
    return r.height > 0 and r.y >= 0 and r.bottom <= app.screen.size.height - 1  # footer


async def test_at_hidden_64_the_selected_row_headers_and_numbers_stay_in_view(
    tmp_path: Path,
) -> None:
    data = big_data(tmp_path, 64)
    app = GrutuiApp(data=data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BrowsePane)
        rows = grid_rows(64)
        w = data.weights(data.last_epoch)
        for presses, key in ((40, "down"), (100, "down"), (7, "up"), (3, "J"), (1, "K")):
            await pilot.press(*[key] * presses)
            label = rows[screen.sel].label
            grid = _lines(app, "#browse-weights")
            assert "W_i" in grid[0] and "W_h" in grid[0]  # the header stays on top
            assert any(line.strip().startswith(f"{label} ") for line in grid[1:])
            row = " ".join(x.strip() for x in _lines(app, "#browse-row"))
            assert _on_screen(app, "#browse-row") and _on_screen(app, "#browse-weights")
            assert row.startswith(f"{label}: ")
            r, first = rows[screen.sel], rows[screen.sel].cells[0]
            assert f"{float(w[first[1]][first[2]]):+.4f}" in row  # its numbers are shown
            assert len(r.cells) == 68 or label == "out"
        # the selected row's other numbers, a cell (l/h) or a page (L/H) at a time
        await pilot.press("K", "K", "K", "K")  # r0
        assert screen.sel == 0
        await pilot.press(*["l"] * 40)
        row = " ".join(x.strip() for x in _lines(app, "#browse-row"))
        assert (
            row.startswith("r0: W_hr·h38 ") and f"{float(w['gru.weight_hh_l0'][0, 38]):+.4f}" in row
        )
        await pilot.press("L", "L", "L", "L", "L", "L")
        assert " b_hr " in " ".join(x.strip() for x in _lines(app, "#browse-row"))  # the last page
        await pilot.press("H")
        assert "of 68" in _lines(app, "#browse-row")[0]


async def test_at_hidden_128_the_selected_cell_scrolls_into_view(tmp_path: Path) -> None:
    data = big_data(tmp_path, 128, epochs=2)
    app = GrutuiApp(data=data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        grid = app.screen.query_one("#browse-weights")
        for presses in (0, 60, 70):
            await pilot.press(*["l"] * presses)
            strips = grid.render_lines(grid.region.reset_offset)
            row = strips[1]  # r0, the selected row
            assert row.cell_length == grid.region.width
            selected = [s for s in row if s.style and s.style.reverse and s.text.strip() in "█"]
            assert len(selected) == 1  # the selected cell is drawn, reversed
        assert "‹" in strips[1].text  # columns hidden on the left are marked
        assert "W_h h" in strips[0].text and "–h" in strips[0].text  # and named in the header


async def test_no_colour_heat_map_carries_the_signs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    data = big_data(tmp_path, 64)
    app = GrutuiApp(data=data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BrowsePane)
        grid = screen.query_one("#browse-weights")
        strips = grid.render_lines(grid.region.reset_offset)
        w = data.weights(data.last_epoch)["gru.weight_hh_l0"][0]
        scale = screen._blocks[next(reversed(screen._blocks))].scale
        text = strips[1].text  # r0: label, the two inputs, a gap, then W_h
        cells = text[text.index("r0") + 5 :][3 : 3 + 64]
        for v, ch in zip(w, cells, strict=True):
            lv = colours.level(float(v), scale)
            assert ch == colours.glyph(lv, "none")
            if lv:  # the sign is readable from the character alone
                assert ch in (colours.POS_GLYPHS if v > 0 else colours.NEG_GLYPHS)
        assert set(cells) & set(colours.POS_GLYPHS) and set(cells) & set(colours.NEG_GLYPHS)
        # no colour tells them apart: every cell is in the widget's one foreground colour
        glyphs = set(colours.POS_GLYPHS + colours.NEG_GLYPHS + colours.ZERO_GLYPH)
        drawn = [s for s in strips[1] if s.text and set(s.text) <= glyphs]
        assert len({s.style.color if s.style else None for s in drawn}) == 1
        legend = next(s.text for s in strips if "≈ 0" in s.text)
        assert colours.NEG_GLYPHS[-1] in legend and colours.POS_GLYPHS[-1] in legend


async def test_sixteen_colours_shade_the_heat_map_and_colour_it_by_sign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLORTERM")
    data = big_data(tmp_path, 64, epochs=1)
    app = GrutuiApp(data=data, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        grid = app.screen.query_one("#browse-weights")
        row = grid.render_lines(grid.region.reset_offset)[2]  # r1, not selected
        # cells of one look are one segment: count the shaded cells, not segments
        shaded = [s for s in row if s.text and set(s.text) <= set(colours.SHADES)]
        assert sum(len(s.text) for s in shaded) > 40
        reds = {s.style.color for s in shaded if s.style and s.style.color}  # type: ignore[union-attr]
        assert {str(c.get_truecolor()) for c in reds if c is not None} <= {
            str(Color.parse(colours.ANSI16[n]).get_truecolor())
            for n in ("red", "bright_red", "blue", "bright_blue")
        }
