"""Seed comparison: the symmetry group is exact, alignment recovers permuted copies."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from grutui.core.analysis.compare import (
    align,
    compare_members,
    distance,
    random_baseline,
    transform,
)
from grutui.core.errors import SessionError
from grutui.core.gru import GRUWeights, gru_output
from grutui.core.session import Session
from grutui.core.tasks import ood_grid
from tests.helpers import random_params, synthetic_session


def one(rng: np.random.Generator, hidden: int) -> dict[str, np.ndarray]:
    return {k: v[0] for k, v in random_params(rng, hidden).items()}


def torch_outputs(p: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """An independent forward: torch.nn.GRU on fixed-length sequences."""
    hs = p["gru.weight_hh_l0"].shape[1]
    gru = torch.nn.GRU(2, hs, batch_first=True)
    with torch.no_grad():
        for name, t in gru.named_parameters():
            t.copy_(torch.tensor(p["gru." + name]))
        out, _ = gru(torch.tensor(x))
        y = out[:, -1] @ torch.tensor(p["linear.weight"]).T + torch.tensor(p["linear.bias"])
    return y.numpy()


@pytest.mark.parametrize("hidden", [1, 3])
def test_permutations_and_sign_flips_are_exact_symmetries(hidden: int) -> None:
    rng = np.random.default_rng(hidden)
    p = one(rng, hidden)
    x = ood_grid(range(5, 6), range(2, 3), n_per_cell=16).data.model_input()
    ref = torch_outputs(p, x)
    perm = rng.permutation(hidden)
    signs = -np.ones(hidden)  # flip every unit
    q = transform(p, perm, signs)
    np.testing.assert_allclose(torch_outputs(q, x), ref, atol=1e-5)
    np.testing.assert_allclose(gru_output(GRUWeights.from_params(q), x), ref, atol=1e-5)
    # a sign flip of the read-out alone is not a symmetry: the test can fail
    bad = dict(p, **{"linear.weight": -p["linear.weight"]})
    assert np.abs(torch_outputs(bad, x) - ref).max() > 1e-2


def test_transform_composes_like_relabelling() -> None:
    p = one(np.random.default_rng(0), 4)
    perm, signs = np.array([2, 0, 3, 1]), np.array([1.0, -1.0, -1.0, 1.0])
    q = transform(p, perm, signs)
    # unit i of q is signs[i] × unit perm[i] of p: check W_hn entry by entry
    w, wq = p["gru.weight_hh_l0"], q["gru.weight_hh_l0"]
    for i, j in itertools.product(range(4), range(4)):
        assert wq[8 + i, j] == pytest.approx(w[8 + perm[i], perm[j]] * signs[i] * signs[j])
        assert wq[i, j] == pytest.approx(w[perm[i], perm[j]] * signs[j])
    assert q["linear.weight"][0, 1] == pytest.approx(-p["linear.weight"][0, 0])


@pytest.mark.parametrize("hidden", [1, 3, 12])
def test_alignment_recovers_permuted_copies(hidden: int) -> None:
    rng = np.random.default_rng(10 + hidden)
    a = one(rng, hidden)
    b = transform(a, rng.permutation(hidden), rng.choice([-1.0, 1.0], hidden))
    b = {k: v + rng.normal(0, 1e-3, v.shape).astype(np.float32) for k, v in b.items()}
    al = align(a, b)
    assert al.method == ("exhaustive" if hidden <= 5 else "heuristic")
    n_params = sum(v.size for v in a.values())
    assert al.distance < 1.5e-3 * np.sqrt(n_params)  # the added noise, nothing more
    back = transform(b, al.perm, al.signs)
    for k in a:
        np.testing.assert_allclose(back[k], a[k], atol=6e-3)
    assert al.distance == pytest.approx(distance(a, transform(b, al.perm, al.signs)))
    if hidden > 1:
        assert random_baseline(a, b) > 10 * al.distance


def test_exhaustive_alignment_is_the_brute_force_minimum() -> None:
    rng = np.random.default_rng(7)
    a, b = one(rng, 3), one(rng, 3)  # unrelated: the minimum is somewhere in the group
    brute = min(
        distance(a, transform(b, np.array(pm), np.array(sg)))
        for pm in itertools.permutations(range(3))
        for sg in itertools.product((1.0, -1.0), repeat=3)
    )
    assert align(a, b).distance == pytest.approx(brute)
    assert align(a, b).distance <= distance(a, b)


def test_compare_members_on_an_ensemble_session(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    hidden = 2
    base = one(rng, hidden)
    twin = transform(base, np.array([1, 0]), np.array([-1.0, 1.0]))
    other = one(rng, hidden)
    stack = {k: np.stack([base[k], twin[k], other[k]]) for k in base}
    path = synthetic_session(tmp_path / "ens", [stack] * 3, np.ones((3, 3)) * [0.1, 0.2, 0.3])
    with Session(path) as s:
        comp = compare_members(s, samples=8)
    assert comp.members == 3 and comp.epoch == 2
    aligned = comp.matrix("aligned")
    assert aligned[0, 1] == pytest.approx(0, abs=1e-6)  # the twin is the same network
    assert aligned[0, 2] > 0.1 and comp.matrix("raw")[0, 1] > 0.1
    np.testing.assert_array_equal(comp.ood[0].success, comp.ood[1].success)
    assert [f["train_loss"] for f in comp.final_losses] == pytest.approx([0.1, 0.2, 0.3])
    js = comp.to_json()
    assert len(js["pairs"]) == 3 and js["pairs"][0]["method"] == "exhaustive"


def test_compare_single_member_is_an_error(tmp_path: Path) -> None:
    p = random_params(np.random.default_rng(0), 1)
    path = synthetic_session(tmp_path / "one", [p, p], np.ones(2))
    with Session(path) as s, pytest.raises(SessionError, match="single member"):
        compare_members(s)


@pytest.mark.slow
def test_heuristic_is_an_upper_bound_close_to_the_exact_minimum() -> None:
    for seed in range(4):
        rng = np.random.default_rng(seed)
        a, b = one(rng, 5), one(rng, 5)
        exact = align(a, b).distance
        heuristic = align(a, b, exhaustive_max=0)
        assert heuristic.method == "heuristic"
        assert exact - 1e-9 <= heuristic.distance <= 1.1 * exact
        assert heuristic.distance <= distance(a, b) + 1e-9


@pytest.mark.parametrize(("hidden", "k"), [(1, 6), (2, 5), (3, 4), (7, 3)])
def test_compare_members_equals_the_one_pair_functions(tmp_path: Path, hidden: int, k: int) -> None:
    """All pairs at once (``PairwiseDistances``) give exactly ``distance``, ``align``
    and ``random_baseline``'s numbers, a diverged member's too."""
    rng = np.random.default_rng(hidden)
    stack = random_params(rng, hidden, k)
    if hidden == 2:
        for v in stack.values():
            v[3] = np.nan
    path = synthetic_session(tmp_path / "ens", [stack], np.ones((1, k)))
    with Session(path) as s:
        comp = compare_members(s, samples=8)
        params = [s.weights(0, m) for m in range(k)]
    assert [(p.a, p.b) for p in comp.pairs] == list(itertools.combinations(range(k), 2))
    for p in comp.pairs:
        a, b = params[p.a], params[p.b]
        al = align(a, b)
        want = (distance(a, b), al.distance, random_baseline(a, b))
        np.testing.assert_array_equal((p.raw, p.aligned, p.baseline), want)
        assert (p.perm, p.signs, p.method) == (
            [int(v) for v in al.perm],
            [int(v) for v in al.signs],
            al.method,
        )
    for which in ("raw", "aligned", "baseline"):
        m = comp.matrix(which)
        assert m is comp.matrix(which)  # built once
        fresh = np.zeros((k, k))  # from the pairs, one by one
        for p in comp.pairs:
            fresh[p.a, p.b] = fresh[p.b, p.a] = getattr(p, which)
        np.testing.assert_array_equal(m, fresh)
