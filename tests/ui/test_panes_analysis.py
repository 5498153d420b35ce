"""Analysis panes: the OOD grid follows the cursor, the strategy history
(cached only for sessions opened from disk), transition markers navigable from any
pane, the seed comparison, and export. Every value is checked against the core
analysis it displays."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from grutui.core.analysis.compare import compare_members
from grutui.core.analysis.history import ood_history
from grutui.core.analysis.ood import ood_at
from grutui.core.analysis.rowcache import ANALYSIS_NAME
from grutui.core.analysis.transitions import find_transitions, next_marker, previous_marker
from grutui.core.interop import metrics_csv
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.ood import OODPane, history_columns, render_history
from grutui.ui.panes.seeds import SINGLE, SeedsPane
from grutui.ui.panes.transitions import TransitionsPane
from tests.helpers import make_session, random_params, synthetic_session, tiny_config, until
from tests.ui.noting import Noting

SIZE = (80, 24)
ANALYSIS_GROUPS = {"ood", "ood-history", "transitions", "seeds"}


def _text(app: GrutuiApp, sel: str) -> str:
    w = app.screen.query_one(sel)
    lines = w.render_lines(w.region.reset_offset)
    return "\n".join(line.text.rstrip() for line in lines)


async def settle(app: GrutuiApp, pilot: object) -> None:
    """Let the analysis workers finish and the UI apply what they posted (not the
    watcher of a session opened from disk: it runs until the app closes)."""
    for _ in range(3):
        mine = [w for w in app.workers if w.group in ANALYSIS_GROUPS]
        if mine:  # (an empty list would mean every worker)
            await app.workers.wait_for_complete(mine)
        await pilot.pause()  # type: ignore[attr-defined]


def ensemble_data(path: Path, members: int = 3, epochs: int = 6, hidden: int = 2) -> RunData:
    rng = np.random.default_rng(5)
    base = random_params(rng, hidden, members)
    weights = []
    for e in range(epochs):  # members drift apart a little each epoch
        weights.append({k: v + 0.05 * e * rng.normal(size=v.shape) for k, v in base.items()})
    weights = [{k: v.astype(np.float32) for k, v in w.items()} for w in weights]
    loss = np.exp(-np.arange(epochs))[:, None] * (1 + np.arange(members))[None, :]
    synthetic_session(path, weights, loss)
    with Session(path) as s:
        return RunData.from_session(s)


# -- generalization pane ---------------------------------------------------------------


async def test_grid_follows_the_cursor_and_matches_the_core(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, OODPane)
        for key in ("home", "right", "right", "pagedown", "end", "left"):
            await pilot.press(key)
            await settle(app, pilot)
            res = screen.current()
            ref = ood_at(demo_data, app.epoch, samples=200)
            assert res is not None and res.epoch == ref.epoch == app.epoch
            np.testing.assert_array_equal(res.success, ref.success)
            np.testing.assert_array_equal(res.mean_rel_error, ref.mean_rel_error)
            grid = _text(app, "#ood-grid")
            for (n, k), s, ind in zip(ref.cells, ref.success, ref.in_distribution, strict=True):
                if (n, k) in ((4, 2), (3, 1), (8, 4)):
                    assert f"{s:.2f}{'*' if ind else ''}" in grid
            assert f"at epoch {app.epoch}" in _text(app, "#ood-title")
        # the error view shows mean relative errors
        await pilot.press("e")
        assert f"{ref.cell(4, 2).mean_rel_error:.2f}*" in _text(app, "#ood-grid")
        assert "mean relative error" in _text(app, "#ood-title")


async def test_key_repeat_computes_only_the_latest_epoch(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="ood")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, OODPane)
        calls: list[tuple[int, int, int]] = []
        compute = screen.compute
        slow = threading.Event()

        def counting(key: tuple[int, int, int]) -> object:
            calls.append(key)
            slow.wait(20)  # a slow grid (a wide net): keys arrive while it runs
            return compute(key)

        assert screen.job is not None
        screen.job.compute = counting  # type: ignore[assignment]
        for _ in range(30):  # key repeat: the moves arrive faster than grids compute
            app.action_step(-1)
            await pilot.pause()
        slow.set()  # the grid in progress is done: from now on grids take no time
        await settle(app, pilot)
        assert len(calls) < 30  # overtaken requests were skipped
        assert calls[-1][1] == app.epoch
        res = screen.current()
        assert res is not None and res.epoch == app.epoch


async def test_sample_size_key_changes_the_grid(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="ood")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, OODPane)
        await pilot.press("s")
        await settle(app, pilot)
        assert screen.samples == 500
        res = screen.current()
        assert res is not None and res.samples == 500
        assert "500/cell" in _text(app, "#ood-title")


async def test_strategy_history_in_memory_for_data_not_opened_from_disk(
    demo_data: RunData, tmp_path: Path
) -> None:
    demo_data.dir = tmp_path  # any cache would land here
    app = GrutuiApp(data=demo_data, start_pane="ood")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, OODPane)
        screen.samples = 20
        await pilot.press("home", *["pagedown"] * 5, "v")
        await until(pilot, lambda: not app.analyses.history_running)
        await settle(app, pilot)
        hist = app.analyses.history_for(0, 20)
        assert hist is not None and hist.complete
        ref = ood_history(demo_data, 0, 20, stride=hist.stride, use_cache=False)
        np.testing.assert_array_equal(hist.epochs, ref.epochs)
        np.testing.assert_array_equal(hist.success, ref.success)
        assert hist.stride == 6  # 3000 snapshots → about 500 evaluated
        assert not (tmp_path / ANALYSIS_NAME).exists()
        body = _text(app, "#ood-grid")
        assert body.startswith("L1F1 ")
        assert "L4F2*" in body
        shown = hist.epochs[history_columns(hist, 100 - 16)]  # one column per 6 rows
        assert app.epoch == 50 and shown[1] == 36
        assert "cursor column: epoch 36" in body


def test_history_strip_marks_the_cursor_column() -> None:
    from grutui.core.analysis.history import OODHistory

    epochs = np.arange(0, 100, 10)
    c = [(1, 1), (2, 1)]
    hist = OODHistory(
        epochs,
        c,
        np.linspace(0, 1, 20).reshape(10, 2),
        np.ones((10, 2)),
        np.array([True, False]),
        5,
        0,
        1,
    )
    text = render_history(hist, 45, width=10)
    line = text.plain.splitlines()[0]
    assert line.startswith("L1F1* ")
    rev = [s for s in text.spans if "reverse" in str(s.style)]
    assert rev and rev[0].start - 0 == len("L1F1* ") + 4  # epoch 40 is column 4
    assert "cursor column: epoch 40" in text.plain


async def test_strategy_history_cached_for_a_session_opened_from_disk(tmp_path: Path) -> None:
    path = make_session(tmp_path / "s", tiny_config(epochs=12))
    app = GrutuiApp(session=path, start_pane="ood")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, OODPane)
        screen.samples = 20
        await pilot.press("v")
        await until(pilot, lambda: not app.analyses.history_running)
        await settle(app, pilot)
        hist = app.analyses.history_for(0, 20)
        assert hist is not None and hist.computed == len(hist) > 0
        await app.shutdown()
    assert (path / ANALYSIS_NAME).is_file()
    with Session(path) as s:
        again = ood_history(s, 0, 20, stride=hist.stride)
    assert again.computed == 0  # read from the cache the pane wrote
    np.testing.assert_array_equal(again.success, hist.success)


# -- transitions and markers --------------------------------------------------------------


async def test_transitions_pane_lists_candidates_and_selection_moves_the_cursor(
    demo_data: RunData,
) -> None:
    ref = find_transitions(demo_data)
    app = GrutuiApp(data=demo_data, start_pane="browse")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TransitionsPane)
        markers = screen.markers()
        assert markers == ref
        assert f"{len(ref)} candidates" in _text(app, "#tr-title")
        listing = _text(app, "#tr-list")
        assert f"{ref[0].epoch:>6}  loss curv." in listing or str(ref[0].epoch) in listing
        await pilot.press("home", "down")
        assert app.epoch == ref[0].epoch and screen.sel == 0
        await pilot.press("down", "down")
        assert app.epoch == ref[2].epoch and screen.sel == 2
        await pilot.press("up")
        assert app.epoch == ref[1].epoch
        # σ keys find the candidates again with more / less smoothing
        await pilot.press("plus")
        await settle(app, pilot)
        assert app.analyses.sigma == 7.5
        assert screen.markers() == find_transitions(demo_data, sigma=7.5)
        assert "σ=7.5" in _text(app, "#tr-title")
        await pilot.press("minus")
        await settle(app, pilot)
        assert screen.markers() == ref


async def test_marker_keys_work_from_any_pane(demo_data: RunData) -> None:
    ref = find_transitions(demo_data)
    app = GrutuiApp(data=demo_data, start_pane="browse")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("home")
        start = app.epoch
        # no markers yet: the first press finds them, then jumps
        await pilot.press("greater_than_sign")
        await settle(app, pilot)
        e1 = next_marker(ref, start)
        assert e1 is not None and app.epoch == e1
        await pilot.press("greater_than_sign")
        e2 = next_marker(ref, e1)
        assert app.epoch == e2
        for pane in ("1", "3", "4", "6"):
            await pilot.press(pane)
            await pilot.pause()
            before = app.epoch
            await pilot.press("greater_than_sign")
            assert app.epoch == next_marker(ref, before), pane
        await pilot.press("less_than_sign")
        assert app.epoch == previous_marker(ref, next_marker(ref, before) or before)
        await pilot.press("end", "greater_than_sign")  # past the last marker: stays
        assert app.epoch == demo_data.last_epoch


# -- seed comparison ------------------------------------------------------------------------


async def test_compare_pane_on_an_ensemble(tmp_path: Path) -> None:
    data = ensemble_data(tmp_path / "ens")
    app = GrutuiApp(data=data, start_pane="seeds")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SeedsPane)
        for key in ("end", "left", "left"):
            await pilot.press(key)
            await settle(app, pilot)
            res = screen.current()
            ref = compare_members(data, app.epoch)
            assert res is not None and res.epoch == app.epoch
            np.testing.assert_allclose(res.matrix("aligned"), ref.matrix("aligned"))
            np.testing.assert_allclose(res.matrix("baseline"), ref.matrix("baseline"))
            body = _text(app, "#cmp-content")
            assert f"{ref.matrix('aligned')[0, 1]:.3g}" in body
            for m in range(3):
                fl = ref.final_losses[m]["train_loss"]
                assert fl is not None and f"{fl:.3g}" in body
            assert f"3 members at epoch {app.epoch}" in _text(app, "#cmp-title")


async def test_compare_pane_on_a_single_member(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="seeds")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "single-member session" in _text(app, "#cmp-content")
        assert SINGLE.startswith("single-member session")


# -- export ----------------------------------------------------------------------------------


async def test_export_writes_svg_and_csv_into_the_session_directory(
    demo_data: RunData, tmp_path: Path
) -> None:
    demo_data.dir = tmp_path
    app = Noting(data=demo_data, start_pane="ood")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("x")
        await pilot.pause()
        svg = tmp_path / f"{demo_data.name}-ood-e{app.epoch}.svg"
        csv = tmp_path / f"{demo_data.name}-metrics.csv"
        assert svg.read_text().lstrip().startswith("<svg")
        assert "generalization" in svg.read_text().replace("&#160;", " ")
        assert csv.read_text() == metrics_csv(demo_data)
        assert any(str(svg) in n and csv.name in n for n in app.notes)


async def test_export_falls_back_to_the_working_directory(
    demo_data: RunData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_data.dir = tmp_path / "gone"  # not there (or not writable): the cwd instead
    monkeypatch.chdir(tmp_path)
    app = GrutuiApp(data=demo_data, start_pane="transitions")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert (tmp_path / f"{demo_data.name}-transitions-e{app.epoch}.svg").is_file()
        assert (tmp_path / f"{demo_data.name}-metrics.csv").is_file()


# -- snapshots ---------------------------------------------------------------------------------


def _settled(*keys: str) -> object:
    async def run_before(pilot: object) -> None:
        app = pilot.app  # type: ignore[attr-defined]
        await pilot.press(*keys)  # type: ignore[attr-defined]
        await until(pilot, lambda: not app.analyses.history_running)
        await settle(app, pilot)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (140, 40)], ids=["80x24", "wide"])
def test_snapshot_ood(snap_compare: object, demo_data: RunData, size: tuple[int, int]) -> None:
    app = GrutuiApp(data=demo_data, start_pane="ood")
    assert snap_compare(app, terminal_size=size, run_before=_settled("home", "pagedown"))  # type: ignore[operator]


def test_snapshot_strategy(snap_compare: object, demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="ood")

    async def run_before(pilot: object) -> None:
        pilot.app.screen.samples = 20  # type: ignore[attr-defined]
        await _settled("home", "pagedown", "pagedown", "v")(pilot)  # type: ignore[operator]

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)  # type: ignore[operator]


@pytest.mark.parametrize("size", [(80, 24), (140, 40)], ids=["80x24", "wide"])
def test_snapshot_transitions(
    snap_compare: object, demo_data: RunData, size: tuple[int, int]
) -> None:
    app = GrutuiApp(data=demo_data, start_pane="transitions")
    assert snap_compare(app, terminal_size=size, run_before=_settled("home", "down", "down"))  # type: ignore[operator]


@pytest.mark.parametrize("size", [(80, 24), (140, 40)], ids=["80x24", "wide"])
def test_snapshot_seeds(snap_compare: object, tmp_path: Path, size: tuple[int, int]) -> None:
    app = GrutuiApp(data=ensemble_data(tmp_path / "ens"), start_pane="seeds")
    assert snap_compare(app, terminal_size=size, run_before=_settled("end"))  # type: ignore[operator]


async def test_live_run_analyses_run_from_memory_without_a_cache(tmp_path: Path) -> None:
    out = tmp_path / "run"
    app = GrutuiApp(new=(tiny_config(epochs=100_000), out, False), start_pane="ood")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.data is not None and app.data.n_epochs >= 5)
        assert not app.analyses.use_cache  # the training worker owns this run's files
        screen = app.screen
        assert isinstance(screen, OODPane)
        screen.samples = 20
        await pilot.press("v")
        await until(pilot, lambda: not app.analyses.history_running)
        hist = app.analyses.history_for(0, 20)
        assert hist is not None and len(hist) >= 5
        await pilot.press("greater_than_sign")  # markers found on the in-memory run
        await until(pilot, lambda: app.analyses.markers_for(0) is not None)
        await pilot.press("v")  # back to the grid: it follows the growing run
        await until(pilot, lambda: (r := screen.current()) is not None and r.samples == 20)
        app.request_stop()
        # the run ended and the app pulled its last epochs (the pull timer, not the worker)
        await until(pilot, lambda: not app.training and not app.live)
        await settle(app, pilot)
        res = screen.current()
        assert app.data is not None and res is not None
        assert res.epoch == app.epoch == app.data.last_epoch
        ref = ood_at(app.data, app.epoch, samples=20)
        np.testing.assert_array_equal(res.success, ref.success)
    assert not (out / ANALYSIS_NAME).exists()
