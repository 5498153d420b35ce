"""Browse pane: weights and changes at the cursor, row selection, heat map, plots."""

from __future__ import annotations

from grutui.core.analysis.transitions import find_transitions
from grutui.core.rundata import RunData
from grutui.core.train import train
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.browse import BrowsePane, grid_rows
from grutui.ui.widgets.cursorplot import CursorPlot
from tests.helpers import tiny_config, until


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
