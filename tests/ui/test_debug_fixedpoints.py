"""The Debug pane's fixed points (f): for the step's input held, computed in a worker,
listed with their kind and drawn with the trajectory; a hand-built GRU shows the nine
fixed points it is known to have."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grutui.core.analysis.fixedpoints import find_fixed_points
from grutui.core.gru import GRUWeights
from grutui.core.layout import PARAM_NAMES
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.debug import DebugPane
from tests.helpers import shown, synthetic_session, until


def bistable_params() -> dict[str, np.ndarray]:
    """Two uncoupled units with r = z = ½ and n = tanh(2h) (the input weights are zero):
    fixed points at (a, b) for a, b in {−h*, 0, h*}, h* = tanh(2h*): 4 stable (both
    units at ±h*), 4 saddles, the origin unstable."""
    hidden = 2
    w_hh = np.zeros((6, hidden), np.float32)
    w_hh[4:] = 4 * np.eye(hidden)
    arrays = (
        np.zeros((6, 2)),
        w_hh,
        np.zeros(6),
        np.zeros(6),
        np.ones((1, hidden)),
        np.zeros(1),
    )
    return {n: np.asarray(a, np.float32)[None] for n, a in zip(PARAM_NAMES, arrays, strict=True)}


@pytest.fixture
def bistable_data(tmp_path: Path) -> RunData:
    params = bistable_params()
    path = synthetic_session(tmp_path / "bistable", [params, params], np.array([1.0, 0.5]))
    with Session(path) as s:
        return RunData.from_session(s)


def body(app: GrutuiApp) -> str:
    return shown(app, "#debug-trace")


async def test_f_shows_the_known_fixed_points_and_back(bistable_data: RunData) -> None:
    app = GrutuiApp(data=bistable_data, start_pane="debug")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "gate" in body(app)
        await pilot.press("f")
        await until(pilot, lambda: "4 stable, 4 saddle, 1 unstable" in body(app))
        text = body(app)
        assert "computing" not in text
        assert "fixed points of h ↦ F(h, x), x = (12, 0) held" in text
        lines = text.splitlines()
        rows = [re.match(r"[●◆○] ?\d+ (\w+)", ln) for ln in lines]
        kinds = [m.group(1) for m in rows if m]
        assert kinds == ["stable"] * 4 + ["saddle"] * 4 + ["unstable"]
        # the picture: every fixed point drawn (the trajectory stays at the origin,
        # under the unstable point's mark)
        picture = "".join(ln.split("│", 1)[1] for ln in lines if "│" in ln)
        assert (picture.count("●"), picture.count("◆"), picture.count("○")) == (4, 4, 1)
        await pilot.press("n")  # another step: the nearest point follows its state
        await until(pilot, lambda: "‖h−h2‖" in body(app) and "computing" not in body(app))
        await pilot.press("f")
        await pilot.pause()
        assert "gate" in body(app) and "fixed points" not in body(app)


async def test_the_pane_lists_what_the_core_finds(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    params = {
        n: rng.normal(0, 0.8, a.shape).astype(np.float32) for n, a in bistable_params().items()
    }
    path = synthetic_session(tmp_path / "random", [params], np.array([1.0]))
    with Session(path) as s:
        data = RunData.from_session(s)
    app = GrutuiApp(data=data, start_pane="debug")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = app.screen
        assert isinstance(pane, DebugPane) and pane.trace is not None
        await pilot.press("f")
        await until(pilot, lambda: "starts" in body(app) and "computing" not in body(app))
        w = GRUWeights.from_params({n: a[0] for n, a in params.items()})
        want = find_fixed_points(w, pane.trace.x[0], states=pane.trace.trace.h[0])
        assert want.summary() in body(app)


def test_fixed_points_layout(snap_compare: Any, bistable_data: RunData) -> None:
    app = GrutuiApp(data=bistable_data, start_pane="debug")

    async def fixed(pilot: Any) -> None:
        await pilot.press("f")
        await until(pilot, lambda: "4 stable" in body(app))

    assert snap_compare(app, terminal_size=(80, 24), run_before=fixed)
