"""Fixed points of the hidden dynamics: the step Jacobian against torch's autograd,
and a hand-built GRU whose fixed points are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grutui.core.analysis.fixedpoints import find_fixed_points
from grutui.core.gru import GRUWeights, gru_step_jacobian


def bistable(hidden: int = 2, gain: float = 4.0) -> GRUWeights:
    """r = z = σ(0) = ½ for every state, n = tanh(½·gain·h) per unit (no coupling): each
    unit's fixed points solve h = tanh(2h) for gain 4, whatever z is."""
    h3 = 3 * hidden
    w_hh = np.zeros((h3, hidden), np.float32)
    w_hh[2 * hidden :] = gain * np.eye(hidden)
    return GRUWeights(
        w_ih=np.zeros((h3, 1), np.float32),
        w_hh=w_hh,
        b_ih=np.zeros(h3, np.float32),
        b_hh=np.zeros(h3, np.float32),
        w_out=np.zeros((1, hidden), np.float32),
        b_out=np.zeros(1, np.float32),
    )


def tanh_root(slope: float = 2.0) -> float:
    """The positive solution of h = tanh(slope·h), by Newton's method."""
    h = 1.0
    for _ in range(50):
        h -= (np.tanh(slope * h) - h) / (slope * (1 - np.tanh(slope * h) ** 2) - 1)
    return float(h)


def test_step_and_jacobian_equal_torch_autograd() -> None:
    rng = np.random.default_rng(3)
    hidden, d = 5, 3
    cell = torch.nn.GRUCell(d, hidden, dtype=torch.float64)
    w = GRUWeights(
        cell.weight_ih.detach().numpy(),
        cell.weight_hh.detach().numpy(),
        cell.bias_ih.detach().numpy(),
        cell.bias_hh.detach().numpy(),
        np.zeros((1, hidden)),
        np.zeros(1),
    )
    x = rng.normal(size=d)
    states = rng.uniform(-1, 1, (4, hidden))
    h_next, jac = gru_step_jacobian(w, x, states)
    assert h_next.dtype == np.float64 and jac.shape == (4, hidden, hidden)
    xt = torch.tensor(x)[None]
    for b in range(4):
        ht = torch.tensor(states[b])[None]
        want = torch.autograd.functional.jacobian(lambda h: cell(xt, h)[0], ht)[:, 0]
        np.testing.assert_allclose(h_next[b], cell(xt, ht)[0].detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(jac[b], want.numpy(), atol=1e-12)


def test_two_bistable_units_have_nine_known_fixed_points() -> None:
    fp = find_fixed_points(bistable(2), np.zeros(1), random_starts=200)
    assert (fp.count("stable"), fp.count("saddle"), fp.count("unstable")) == (4, 4, 1)
    star = tanh_root()
    want = {(a, b) for a in (-star, 0.0, star) for b in (-star, 0.0, star)}
    got = {tuple(p.h) for p in fp.points}
    assert len(got) == 9
    for h in got:
        assert min(max(abs(h[0] - a), abs(h[1] - b)) for a, b in want) < 1e-8
    # each unit's multiplier ∂h'/∂h = z + (1 − z)·2·(1 − h²), z = ½
    # (r·gain = 2, so (1 − z)·2·(1 − h²) = 1 − h²): 1.5 at 0, 0.5 + (1 − h*²) at ±h*
    for p in fp.points:
        known = [0.0 if abs(v) < 0.5 else star for v in p.h]
        want_ev = sorted((0.5 + (1 - v * v) for v in known), reverse=True)
        assert np.allclose(sorted(np.abs(p.eigenvalues), reverse=True), want_ev, atol=1e-8)
        assert p.kind == {0: "stable", 1: "saddle", 2: "unstable"}[p.unstable_dims]
        assert p.residual < 1e-9
    origin = next(p for p in fp.points if p.kind == "unstable")
    assert np.allclose(origin.h, 0.0)
    assert fp.summary() == "4 stable, 4 saddle, 1 unstable"


def test_the_trajectory_starts_and_nearest_point() -> None:
    star = tanh_root()
    states = np.array([[0.9, 0.8], [0.95, 0.9]])
    fp = find_fixed_points(bistable(2), np.zeros(1), states=states, random_starts=0)
    assert fp.starts == 3  # the two states and the origin
    assert fp.count("stable") == 1 and fp.count("unstable") == 1
    i, dist = fp.nearest(states[1])
    assert np.allclose(fp.points[i].h, [star, star]) and dist < 0.1
    assert fp.to_json()["points"][i]["kind"] == "stable"


def test_one_unit_with_a_monostable_map() -> None:
    fp = find_fixed_points(bistable(1, gain=1.0), np.zeros(1))  # h = tanh(h/2): only 0
    assert [p.kind for p in fp.points] == ["stable"]
    assert abs(fp.points[0].h[0]) < 1e-9
    assert fp.points[0].starts == fp.starts


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_diverged_weights_find_nothing(bad: float) -> None:
    w = bistable(2)
    w.w_hh[0, 0] = bad
    fp = find_fixed_points(w, np.zeros(1))
    assert fp.points == () and fp.unconverged == fp.starts
    assert fp.summary() == "none found"
    assert fp.nearest(np.zeros(2)) == (-1, float("inf"))


def test_the_projection_keeps_the_picture_of_a_plane() -> None:
    # the nine points of two bistable units lie in their own plane: the projection is
    # that plane up to rotation, so distances are kept
    fp = find_fixed_points(bistable(2), np.zeros(1), random_starts=100)
    states = np.array([[0.1, 0.2], [0.5, 0.6]])
    traj, pts = fp.projection(states)
    assert traj.shape == (2, 2) and pts.shape == (9, 2)
    both = np.concatenate([states, np.stack([p.h for p in fp.points])])
    flat = np.concatenate([traj, pts])
    d = lambda a: np.linalg.norm(a[:, None] - a[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(d(flat), d(both), atol=1e-12)
    one = find_fixed_points(bistable(1, gain=1.0), np.zeros(1))
    t1, p1 = one.projection(np.array([[0.3], [0.2]]))
    assert np.all(t1[:, 1] == 0) and p1.shape == (1, 2)


def test_a_saturating_input_pins_the_state_at_one() -> None:
    # n = tanh(2h + 40x): with x = 1 held, tanh saturates to 1.0 in float64, so the
    # state's one fixed point is h = 1 (stable: ∂h'/∂h = z = ½ there), at the edge of
    # the states a GRU can reach
    w = bistable(1)
    w.w_ih[2] = 40.0
    fp = find_fixed_points(w, np.ones(1))
    assert [p.kind for p in fp.points] == ["stable"]
    assert abs(fp.points[0].h[0] - 1.0) < 1e-8 and abs(fp.points[0].max_modulus - 0.5) < 1e-8
    assert fp.slowest < 1e-9


def test_with_no_fixed_point_the_slowest_state_is_reported() -> None:
    # (a trained flip-flop with a pulse held creeps towards ±1 without converging; the
    # summary of such a result)
    from grutui.core.analysis.fixedpoints import FixedPoints

    none = FixedPoints(np.zeros(1), (), 5, 5, 1, 2.6e-5)
    assert none.summary() == "none found (the slowest state moves 2.6e-05 a step)"
    assert none.to_json()["slowest"] == 2.6e-5
    assert FixedPoints(np.zeros(1), (), 5, 5, 1).to_json()["slowest"] is None
