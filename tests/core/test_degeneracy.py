"""Degeneracy at three levels: DSA's known answers (a network against a rotated copy
of itself: ≈ 0; other dynamics: clearly more), every level's matrix symmetric with a
zero diagonal, the weights level equal to the seed comparison's exact distances, and
the over-epochs cache (a round trip, and a grown session computing only new rows)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from grutui.core.analysis.compare import BASELINE_DRAWS, compare_members, distance, transform
from grutui.core.analysis.degeneracy import (
    BASELINE_PAIRS,
    LEVELS,
    DegeneracyAnalysis,
    degeneracy_history,
    dsa,
    dsa_distances,
    dsa_operators,
    weight_distances,
)
from grutui.core.analysis.rowcache import ANALYSIS_NAME
from grutui.core.config import preset
from grutui.core.errors import SessionError
from grutui.core.gru import GRUWeights, gru_trace
from grutui.core.layout import PARAM_NAMES, param_shapes
from grutui.core.session import Session
from grutui.core.tasks import FlipFlopTask
from tests.helpers import random_params, synthetic_session


def flipflop_params(rng: np.random.Generator, hidden: int, members: int = 1) -> dict:
    shapes = param_shapes(hidden, 2, 2)
    return {
        n: (rng.normal(size=(members, *shapes[n])) * 1.5 / np.sqrt(hidden)).astype(np.float32)
        for n in PARAM_NAMES
    }


def flipflop_session(path: Path, members: int = 3, hidden: int = 8, epochs: int = 4) -> Path:
    """An ensemble on a small flip-flop task whose members drift apart each epoch."""
    task = FlipFlopTask(bits=2, seq_len=12, pulse_prob=0.2, n_samples=80)
    cfg = preset("flipflop").replace(task=task, hidden=hidden)
    rng = np.random.default_rng(3)
    init = flipflop_params(rng, hidden, members)
    weights = [
        {
            n: (v + 0.2 * (e + 1) * rng.normal(size=v.shape)).astype(np.float32)
            for n, v in init.items()
        }
        for e in range(epochs)
    ]
    ones = np.ones((epochs, members))
    return synthetic_session(path, weights, ones, initial=init, test_loss=ones, cfg=cfg)


def _pulses(rng: np.random.Generator, n: int, t: int, bits: int) -> np.ndarray:
    return ((rng.random((n, t, bits)) < 0.2) * rng.choice([-1.0, 1.0], (n, t, bits))).astype(
        np.float32
    )


def _one(p: dict) -> dict:
    return {k: v[0] for k, v in p.items()}


def test_dsa_rotated_copy_is_zero_and_other_dynamics_are_not() -> None:
    rng = np.random.default_rng(0)
    hidden = 12
    x = _pulses(rng, 24, 30, 2)
    h = gru_trace(GRUWeights.from_params(_one(flipflop_params(rng, hidden))), x).h
    other = gru_trace(GRUWeights.from_params(_one(flipflop_params(rng, hidden))), x).h
    q, _ = np.linalg.qr(rng.normal(size=(hidden, hidden)))  # an orthogonal change of basis
    for delays in (1, 3):
        same = dsa(h, h @ q.T, delays=delays)
        diff = dsa(h, other, delays=delays)
        assert same < 1e-6
        assert diff > 0.01 and diff > 1e4 * max(same, 1e-12)


def test_dsa_distance_ignores_a_change_of_basis_of_the_operator() -> None:
    rng = np.random.default_rng(1)
    ops = rng.normal(size=(2, 6, 6))
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    conj = np.stack([ops[0], q @ ops[0] @ q.T, ops[1]])
    d = dsa_distances(conj)
    assert d[0, 1] < 1e-9 and d[0, 2] > 0.1


def test_dsa_operators_are_fitted_per_network() -> None:
    rng = np.random.default_rng(2)
    traj = rng.normal(size=(3, 5, 10, 4))
    ops = dsa_operators(traj, delays=2, rank=6)
    assert ops.shape == (3, 6, 6) and np.isfinite(ops).all()


@pytest.mark.parametrize("hidden", [2, 8])  # exact weights search, then the assignment
def test_every_level_is_a_symmetric_matrix_with_a_zero_diagonal(
    tmp_path: Path, hidden: int
) -> None:
    path = flipflop_session(tmp_path / "ff", members=4, hidden=hidden)
    with Session(path) as s:
        res = DegeneracyAnalysis(s).at("last")
    assert res.members == 4 and list(res.levels) == list(LEVELS)
    for name in LEVELS:
        lv = res.level(name)
        m = lv.matrix
        assert m.shape == (4, 4)
        np.testing.assert_array_equal(m, m.T)
        np.testing.assert_array_equal(np.diag(m), 0.0)
        assert np.isfinite(m).all() and (m[~np.eye(4, dtype=bool)] > 0).all()
        assert lv.baseline > 0 and np.isfinite(lv.ratio)
        assert lv.summary().startswith(name)
    assert "test loss" in res.level("behaviour").measure  # flip-flop: no OOD grid


def test_weights_level_is_the_seed_comparisons_distance(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    base = random_params(rng, 2, 3)
    weights = [{k: v + 0.1 * e for k, v in base.items()} for e in range(3)]
    synthetic_session(tmp_path / "add", weights, np.ones((3, 3)))
    with Session(tmp_path / "add") as s:
        res = DegeneracyAnalysis(s).at(2)
        comp = compare_members(s, 2)
    np.testing.assert_allclose(res.level("weights").matrix, comp.matrix("aligned"), rtol=1e-12)
    # the adding problem has an OOD grid: behaviour is the spread of its success rates
    assert "OOD grid" in res.level("behaviour").measure


def test_a_single_member_is_refused(tiny_session: Path) -> None:
    with Session(tiny_session) as s, pytest.raises(SessionError, match="single member"):
        DegeneracyAnalysis(s)


def test_history_round_trip_and_growth(tmp_path: Path) -> None:
    path = flipflop_session(tmp_path / "ff", members=3, epochs=5)
    with Session(path) as s:
        full = degeneracy_history(s, use_cache=False)
        assert full.complete and len(full) == 5 and full.computed == 5
        # a stopped run caches what it has: a prefix of the rows
        calls = iter(range(100))
        part = degeneracy_history(s, should_stop=lambda: next(calls) >= 2)
        assert not part.complete and len(part) == 2
        assert (path / ANALYSIS_NAME).is_file()
        grown = degeneracy_history(s)  # only the rows past the cached prefix
        assert grown.complete and grown.computed == 3
        again = degeneracy_history(s)  # all from the cache
        assert again.computed == 0
    for h in (grown, again):
        np.testing.assert_array_equal(h.epochs, full.epochs)
        np.testing.assert_allclose(h.means, full.means, rtol=1e-12)
        np.testing.assert_allclose(h.baselines, full.baselines, rtol=1e-12)
    with Session(path) as s:
        res = DegeneracyAnalysis(s).at(3)
    np.testing.assert_allclose(full.means[3], res.means(), rtol=1e-12)


def test_a_diverged_member_leaves_gaps_not_errors(tmp_path: Path) -> None:
    path = flipflop_session(tmp_path / "ff", members=3, epochs=2)
    with Session(path) as s:
        an = DegeneracyAnalysis(s)
        params = [s.weights(1, m) for m in range(3)]
    params[2] = {k: np.full_like(v, np.nan) for k, v in params[2].items()}
    vecs, traj = an.run_members(params)
    for m in (an.behaviour_matrix(vecs), an.dynamics_matrix(traj)):
        assert np.isnan(m[2, :2]).all() and np.isfinite(m[0, 1])


def test_history_grows_from_known_rows_without_a_cache(tmp_path: Path) -> None:
    path = flipflop_session(tmp_path / "ff", members=3, epochs=5)
    with Session(path) as s:
        full = degeneracy_history(s, use_cache=False)
        calls = iter(range(100))
        part = degeneracy_history(s, use_cache=False, should_stop=lambda: next(calls) >= 3)
        assert len(part) == 3 and not (path / ANALYSIS_NAME).exists()
        grown = degeneracy_history(s, use_cache=False, known=part)
    assert grown.computed == 2 and grown.complete
    np.testing.assert_allclose(grown.means, full.means, rtol=1e-12)


def _reference_assignment(a: dict, b: dict) -> tuple[np.ndarray, np.ndarray]:
    """Unit by unit and pair by pair: the linear assignment on per-unit features, each
    pair of units at the closer of ±, written out plainly (no batching, no reduction)."""
    from scipy.optimize import linear_sum_assignment

    hs = a["gru.weight_hh_l0"].shape[1]

    def units(p: dict) -> list[tuple[np.ndarray, np.ndarray]]:
        w_ih, w_hh = (np.asarray(p[f"gru.weight_{n}_l0"], np.float64) for n in ("ih", "hh"))
        b_ih, b_hh = (np.asarray(p[f"gru.bias_{n}_l0"], np.float64) for n in ("ih", "hh"))
        w_out = np.asarray(p["linear.weight"], np.float64)
        r, z, n = (np.arange(hs) + g * hs for g in range(3))
        return [
            (  # what a flip of the unit leaves alone, then what flips with it
                np.r_[
                    w_ih[r[u]],
                    w_ih[z[u]],
                    b_ih[r[u]],
                    b_ih[z[u]],
                    b_hh[r[u]],
                    b_hh[z[u]],
                    w_hh[n[u], u],
                ],
                np.r_[
                    w_ih[n[u]], b_ih[n[u]], b_hh[n[u]], w_out[:, u], w_hh[r[u], u], w_hh[z[u], u]
                ],
            )
            for u in range(hs)
        ]

    ua, ub = units(a), units(b)
    cost = np.zeros((hs, hs))
    flip = np.zeros((hs, hs), bool)
    for u, v in itertools.product(range(hs), repeat=2):
        same = np.sum((ua[u][0] - ub[v][0]) ** 2)
        plus, minus = (np.sum((ua[u][1] - sgn * ub[v][1]) ** 2) for sgn in (1.0, -1.0))
        cost[u, v] = same + min(plus, minus)
        flip[u, v] = minus < plus
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(hs, np.int64)
    perm[rows] = cols
    return perm, np.where(flip[np.arange(hs), perm], -1.0, 1.0)


def _reference_weight_distances(params: list[dict], seed: int = 0) -> tuple[np.ndarray, float]:
    k = len(params)
    hs = params[0]["gru.weight_hh_l0"].shape[1]
    rng = np.random.default_rng(seed)
    draws = [(rng.permutation(hs), rng.choice([-1.0, 1.0], hs)) for _ in range(BASELINE_DRAWS)]
    pairs = list(itertools.combinations(range(k), 2))
    if len(pairs) > BASELINE_PAIRS:
        pick = rng.choice(len(pairs), BASELINE_PAIRS, replace=False)
        pairs = [pairs[int(i)] for i in np.sort(pick)]
    base = [distance(params[i], transform(params[j], p, s)) for i, j in pairs for p, s in draws]
    out = np.zeros((k, k))
    for i, j in itertools.combinations(range(k), 2):
        perm, signs = _reference_assignment(params[i], params[j])
        out[i, j] = out[j, i] = distance(params[i], transform(params[j], perm, signs))
    return out, float(np.mean(base))


@pytest.mark.parametrize(("hidden", "k"), [(6, 4), (9, 12), (16, 7)])  # 66 pairs: a sample
def test_weights_level_equals_a_pair_by_pair_reference(hidden: int, k: int) -> None:
    rng = np.random.default_rng(hidden)
    stack = flipflop_params(rng, hidden, k)
    params = [{n: v[m] for n, v in stack.items()} for m in range(k)]
    got, base = weight_distances(params)
    want, want_base = _reference_weight_distances(params)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=0)
    assert base == pytest.approx(want_base, rel=1e-9)
    np.testing.assert_array_equal(got, got.T)


def test_a_diverged_member_leaves_gaps_in_the_weights_level(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    stack = flipflop_params(rng, 8, 3)  # beyond the exhaustive search: the assignment
    params = [{n: v[m] for n, v in stack.items()} for m in range(3)]
    params[2] = {n: np.full_like(v, np.nan) for n, v in params[2].items()}
    m, base = weight_distances(params)
    assert np.isnan(m[2, :2]).all() and np.isnan(m[:2, 2]).all()
    assert np.isfinite(m[0, 1]) and np.isfinite(base)


def test_dsa_distances_equal_the_best_matching_by_brute_force() -> None:
    rng = np.random.default_rng(6)
    ops = rng.normal(size=(5, 5, 5))
    ops[3] = np.nan  # a diverged member: NaN against every other, 0 on the diagonal
    got = dsa_distances(ops)
    ev = [np.linalg.eigvals(o) if np.isfinite(o).all() else None for o in ops]
    for i, j in itertools.combinations(range(5), 2):
        a, b = ev[i], ev[j]
        if a is None or b is None:
            assert np.isnan(got[i, j]) and np.isnan(got[j, i])
            continue
        best = min(np.mean(np.abs(a - b[list(p)]) ** 2) for p in itertools.permutations(range(5)))
        assert got[i, j] == got[j, i] == pytest.approx(np.sqrt(best), rel=1e-9)
    np.testing.assert_array_equal(np.diag(got), 0.0)


def test_dsa_operators_fitted_a_few_at_a_time_equal_all_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from grutui.core.analysis import degeneracy

    traj = np.random.default_rng(7).normal(size=(5, 4, 9, 3))
    monkeypatch.setattr(degeneracy, "OPERATOR_CHUNK", 10**9)
    whole = dsa_operators(traj, delays=2, rank=4)
    monkeypatch.setattr(degeneracy, "OPERATOR_CHUNK", 2 * 4 * 9 * 2 * 3)  # two networks a chunk
    np.testing.assert_allclose(dsa_operators(traj, delays=2, rank=4), whole, rtol=1e-9, atol=1e-12)
