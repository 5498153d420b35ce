"""The Seeds pane's degeneracy view: ``d`` shows the three levels at the cursor (each
against its random baseline), each level's mean over epochs with the cursor's column
marked, and one level's matrix (``l`` picks it); every number is the core's."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from grutui.core.analysis.degeneracy import (
    LEVELS,
    Degeneracy,
    DegeneracyAnalysis,
    DegeneracyHistory,
    Level,
)
from grutui.core.analysis.history import BARS
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.seeds import MARK, SeedsPane, render_curves, render_matrix
from tests.core.test_degeneracy import flipflop_session
from tests.ui.test_panes_analysis import ensemble_data

SIZE = (80, 24)
GROUPS = {"seeds", "seeds-degeneracy", "seeds-degeneracy-history"}


async def settle(app: GrutuiApp, pilot: object) -> None:
    """Let the pane's jobs finish and the UI apply what they posted."""
    for _ in range(3):
        mine = [w for w in app.workers if w.group in GROUPS]
        if mine:
            await app.workers.wait_for_complete(mine)
        await pilot.pause()  # type: ignore[attr-defined]


def _lines(app: GrutuiApp, sel: str) -> list[str]:
    w = app.screen.query_one(sel)
    return [line.text.rstrip() for line in w.render_lines(w.region.reset_offset)]


async def _degeneracy_view(app: GrutuiApp, pilot: object) -> SeedsPane:
    await settle(app, pilot)
    await pilot.press("d")  # type: ignore[attr-defined]
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, SeedsPane) and screen.view == "degeneracy"
    return screen


async def test_levels_curves_and_matrix_follow_the_cursor(tmp_path: Path) -> None:
    data = ensemble_data(tmp_path / "ens", members=4, epochs=6)
    app = GrutuiApp(data=data, start_pane="seeds")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _degeneracy_view(app, pilot)
        ref = DegeneracyAnalysis(data)
        for key in ("end", "home", "right", "right"):
            await pilot.press(key)
            await settle(app, pilot)
            res = ref.at(app.epoch)
            title = "\n".join(_lines(app, "#cmp-title"))
            body = "\n".join(_lines(app, "#cmp-content"))
            assert f"4 members at epoch {res.epoch}" in title
            for name in LEVELS:
                assert res.level(name).summary() in body
            # the dynamics matrix (the default level), its numbers in full
            m = res.level("dynamics").matrix
            assert f"{m[0, 1]:.3g}" in body and f"{m[2, 3]:.3g}" in body
            # the curves: one strip per level, the cursor's column in reverse
            hist = screen.degen.history
            assert hist is not None and hist.complete and len(hist) == len(data.snapshot_epochs)
            np.testing.assert_allclose(hist.means[app.epoch], res.means())
        assert "over epochs 0..5, 6 snapshots" in body
        await pilot.press("l")  # the weights level's matrix
        await settle(app, pilot)
        body = "\n".join(_lines(app, "#cmp-content"))
        w = res.level("weights").matrix
        assert screen.level == "weights" and f"{MARK}weights" in body
        assert f"{w[1, 2]:.3g}" in body
        await pilot.press("d")  # back to the members view
        await settle(app, pilot)
        assert screen.view == "members" and "seed comparison" in "\n".join(
            _lines(app, "#cmp-title")
        )


@pytest.mark.parametrize("size", [(80, 24), (140, 40)], ids=["80x24", "wide"])
def test_degeneracy_snapshot(snap_compare: object, tmp_path: Path, size: tuple[int, int]) -> None:
    data = ensemble_data(tmp_path / "ens", members=4, epochs=6)

    async def run_before(pilot: object) -> None:
        app = pilot.app  # type: ignore[attr-defined]
        await _degeneracy_view(app, pilot)
        await pilot.press("left")  # type: ignore[attr-defined]
        await settle(app, pilot)

    app = GrutuiApp(data=data, start_pane="seeds")
    assert snap_compare(app, terminal_size=size, run_before=run_before)  # type: ignore[operator]


def test_curves_mark_the_cursors_column() -> None:
    hist = DegeneracyHistory(
        np.arange(0, 20, 2),
        np.column_stack([np.linspace(1, 0, 10), np.linspace(0, 1, 10), np.ones(10)]),
        np.ones((10, 3)),
        stride=1,
    )
    t = render_curves(hist, epoch=7, width=80)  # epoch 7: the row of epoch 6, column 3
    lines = t.plain.split("\n")
    assert lines[0].startswith("over epochs 0..18, 10 snapshots")
    starts = [len("\n".join(lines[: i + 1])) + 1 for i in range(len(LEVELS))]
    for i, name in enumerate(LEVELS):
        row = lines[i + 1]
        assert row.startswith(name) and len(row) == 10 + 10
        col = starts[i] + 10 + 3
        assert any(s.style == "reverse" and (s.start, s.end) == (col, col + 1) for s in t.spans)
    falling = [BARS.index(c) for c in lines[1][10:]]  # scaled to its own min..max
    assert falling[0] == len(BARS) - 1 and falling[-1] == 1
    assert all(a >= b for a, b in itertools.pairwise(falling))
    assert lines[3][10:] == "▅" * 10  # flat


async def test_flipflop_ensemble_gets_the_degeneracy_view(tmp_path: Path) -> None:
    with Session(flipflop_session(tmp_path / "ff", members=3, epochs=3)) as s:
        data = RunData.from_session(s)
    app = GrutuiApp(data=data, start_pane="seeds")
    async with app.run_test(size=SIZE) as pilot:
        await _degeneracy_view(app, pilot)
        body = "\n".join(_lines(app, "#cmp-content"))
        res = DegeneracyAnalysis(data).at(app.epoch)
        assert res.level("behaviour").summary() in body
        assert "DSA" in body  # the dynamics level's matrix, then behaviour's
        await pilot.press("l", "l")
        await settle(app, pilot)
        body = "\n".join(_lines(app, "#cmp-content"))
        assert "behaviour: |Δ test loss| on 16 probe sequences" in body


def test_a_large_ensembles_matrix_is_one_block_a_pair() -> None:
    k = 40
    rng = np.random.default_rng(0)
    up = np.triu(rng.random((k, k)), 1)
    res = Degeneracy(7, k)
    for name in LEVELS:
        res.levels[name] = Level(name, up + up.T, 0.5, "a distance")
    t = render_matrix(res, "weights", shown=17, width=78)
    lines = t.plain.split("\n")
    assert lines[0] == "weights: a distance"
    rows = lines[2:]
    assert len(rows) == k and all(len(r) <= 78 for r in rows)
    assert rows[17].startswith(f"{MARK}17") and rows[17].count("·") == 1
    assert all(r.count("█") == k - 1 for r in rows)
