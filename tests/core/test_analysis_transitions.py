"""Transition detectors against plain-loop references on synthetic signals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from grutui.core.analysis.history import OODHistory
from grutui.core.analysis.transitions import (
    Transition,
    find_transitions,
    gaussian_smooth,
    loss_curvature,
    loss_transitions,
    next_marker,
    ood_transitions,
    previous_marker,
    sign_change_transitions,
    velocity_transitions,
    weight_labels,
)
from grutui.core.layout import param_shapes
from grutui.core.session import Session
from tests.helpers import random_params, synthetic_session


def slow_curvature(loss: list[float], sigma: float) -> list[float]:
    """log, odd reflection about the end points, Gaussian sum, central difference."""
    y = [math.log(v) for v in loss]
    n = len(y)

    def ext(i: int) -> float:  # odd reflection, applied until inside
        while i < 0 or i >= n:
            i, base = (-i, y[0]) if i < 0 else (2 * (n - 1) - i, y[n - 1])
            return 2 * base - ext(i)
        return y[i]

    r = max(1, math.ceil(4 * sigma))
    w = [math.exp(-0.5 * (j / sigma) ** 2) for j in range(-r, r + 1)]
    total = sum(w)

    def smooth(i: int) -> float:
        return sum(w[j + r] * ext(i + j) for j in range(-r, r + 1)) / total

    return [smooth(i - 1) - 2 * smooth(i) + smooth(i + 1) for i in range(n)]


def drop(epochs: int = 100, at: float = 50.0, width: float = 3.0) -> np.ndarray:
    e = np.arange(epochs)
    return np.exp(-3.0 / (1 + np.exp(-(e - at) / width)) - 0.01 * e)


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_curvature_matches_slow_reference(sigma: float) -> None:
    loss = drop(60, 30) * (1 + 0.05 * np.random.default_rng(0).standard_normal(60))
    np.testing.assert_allclose(
        loss_curvature(loss, sigma), slow_curvature(loss.tolist(), sigma), atol=1e-12
    )


def test_smoothing_keeps_a_straight_line_straight() -> None:
    y = 3.0 - 0.5 * np.arange(20.0)
    np.testing.assert_allclose(gaussian_smooth(y, 3.0), y, atol=1e-12)


def test_loss_drop_gives_curvature_peaks_either_side() -> None:
    loss = drop(100, 50, 3)
    found = loss_transitions(np.arange(100), loss, sigma=1.0, top=2)
    eps = [t.epoch for t in found]
    # extremes of the second derivative of a logistic: at ± 1.317 widths
    assert eps == pytest.approx([46, 54], abs=1)
    assert "faster" in found[0].detail and "levels off" in found[1].detail
    assert all(t.kind == "loss_curvature" and t.score > 1 for t in found)


def test_velocity_peak_and_reference_norms() -> None:
    rng = np.random.default_rng(0)
    flat = np.cumsum(rng.normal(0, 0.01, (40, 5)), axis=0)
    flat[25:] += 1.0  # a jump between epochs 24 and 25
    epochs = np.arange(40)
    found = velocity_transitions(epochs, flat, None, sigma=2.0, top=1)
    assert [t.epoch for t in found] == [25]
    v = [math.sqrt(sum((flat[i][p] - flat[i - 1][p]) ** 2 for p in range(5))) for i in range(1, 40)]
    assert found[0].score == pytest.approx(v[24] / float(np.median(v)))


def test_ordinary_velocity_peaks_are_not_candidates() -> None:
    rng = np.random.default_rng(1)
    walk = np.cumsum(rng.normal(0, 0.01, (200, 500)), axis=0)  # no event in it
    assert velocity_transitions(np.arange(200), walk, sigma=2) == []
    walk[120:] += 0.5
    assert [t.epoch for t in velocity_transitions(np.arange(200), walk, sigma=2)] == [120]


def test_velocity_uses_initial_weights_and_snapshot_gaps() -> None:
    flat = np.array([[1.0], [1.0 + 49 * 0.1], [1.0 + 49 * 0.1 + 49 * 0.5]])
    found = velocity_transitions(
        np.array([0, 49, 98]), flat, np.array([0.0]), sigma=1, top=3, min_score=0
    )
    # rates: init→0: 1.0/1, 0→49: 0.1, 49→98: 0.5 → peaks at 0 and 98
    assert [t.epoch for t in found] == [0, 98]
    assert "epochs 49→98" in found[1].detail


def slow_sign_changes(flat: np.ndarray) -> set[tuple[int, int]]:
    out = set()
    for p in range(flat.shape[1]):
        last = 0.0
        for s in range(flat.shape[0]):
            v = flat[s, p]
            if v != 0 and last != 0 and (v > 0) != (last > 0):
                out.add((s, p))
            if v != 0:
                last = v
    return out


def test_sign_changes_match_reference_and_rank_real_flips_first() -> None:
    rng = np.random.default_rng(3)
    n = 30
    flat = np.zeros((n, 4))
    flat[:, 0] = np.linspace(-1, 1, n) + 0.01  # one real flip
    flat[:, 1] = 0.001 * rng.standard_normal(n)  # jitter around zero
    flat[:, 2] = 0.5  # never changes
    flat[:, 3] = np.where(np.arange(n) < 10, 0.0, -0.3)  # leaves zero: not a flip
    flat[5, 3] = 0.0
    labels = ["a", "b", "c", "d"]
    everything = sign_change_transitions(np.arange(n), flat, labels, top=10_000)
    got = {(t.epoch, labels.index(t.detail.split()[0])) for t in everything}
    assert got == slow_sign_changes(flat)
    best = sign_change_transitions(np.arange(n), flat, labels, top=1)[0]
    assert best.detail.startswith("a ") and best.epoch == 15
    assert best.score == pytest.approx(min(1.0, 1.01), abs=0.02)


def test_ood_jumps_against_loop() -> None:
    cells = [(1, 1), (2, 1), (2, 2)]
    success = np.array([[0.0, 0.1, 0.9], [0.1, 0.9, 0.9], [0.1, 0.2, 0.3], [0.1, 0.2, 0.35]])
    h = OODHistory(
        np.array([0, 10, 20, 30]), cells, success, 1 - success, np.zeros(3, bool), 10, 0, 10
    )
    found = ood_transitions(h, threshold=0.5)
    expected = []
    for s in range(1, 4):
        jumps = [abs(success[s][c] - success[s - 1][c]) for c in range(3)]
        if max(jumps) >= 0.5:
            expected.append((int(h.epochs[s]), max(jumps)))
    assert [(t.epoch, pytest.approx(t.score)) for t in found] == expected
    assert "learnt L2F1 +0.80" in found[0].detail and "lost L2F1 -0.70" in found[1].detail


def test_markers_next_previous() -> None:
    ts = [Transition(5, "sign_change", 1, ""), Transition(20, "ood_jump", 1, ""), 12]
    assert next_marker(ts, 0) == 5 and next_marker(ts, 5) == 12 and next_marker(ts, 20) is None
    assert previous_marker(ts, 20) == 12 and previous_marker(ts, 5) is None
    assert previous_marker([], 3) is None and next_marker([], 3) is None


def test_weight_labels_name_gates() -> None:
    labels = weight_labels(param_shapes(2))
    assert len(labels) == 12 + 12 + 6 + 6 + 2 + 1
    assert labels[:3] == ["W_ir[0,value]", "W_ir[0,flag]", "W_ir[1,value]"]
    assert labels[4] == "W_iz[0,value]" and labels[12 + 2 * 2] == "W_hz[0,0]"
    assert labels[-3:] == ["w_out[0]", "w_out[1]", "b_out"]


def test_find_transitions_on_a_session(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    base = random_params(rng, 1)
    ws = []
    for e in range(40):
        w = {k: v.copy() for k, v in base.items()}
        w["gru.weight_hh_l0"][0, 1, 0] = -0.5 + e / 39  # W_hz flips sign mid-way
        if e >= 20:
            w["linear.bias"] = w["linear.bias"] + 2.0  # a jump in the weights at 20
        ws.append(w)
    loss = drop(40, 20, 2)[:, None]
    path = synthetic_session(tmp_path / "t", ws, loss)
    with Session(path) as s:
        found = find_transitions(s, sigma=1.0, top=2)
    kinds = {t.kind for t in found}
    assert kinds == {"loss_curvature", "weight_velocity", "sign_change"}
    assert any(t.kind == "weight_velocity" and t.epoch == 20 for t in found)
    flip = next(t for t in found if t.kind == "sign_change")
    assert flip.detail.startswith("W_hz[0,0]") and flip.epoch == 20
    assert [t.epoch for t in found] == sorted(t.epoch for t in found)


def test_column_blocks_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    import grutui.core.analysis.transitions as tr

    rng = np.random.default_rng(4)
    flat = np.cumsum(rng.normal(0, 0.1, (30, 50)), axis=0).astype(np.float32)
    init = rng.normal(0, 0.1, 50).astype(np.float32)
    labels = [f"w{i}" for i in range(50)]
    eps = np.arange(30)

    def run() -> list[Transition]:
        return tr.velocity_transitions(
            eps, flat, init, sigma=1, top=5, min_score=0
        ) + tr.sign_change_transitions(eps, flat, labels, init, top=20)

    whole = run()
    monkeypatch.setattr(tr, "BLOCK_ELEMENTS", 31 * 7)  # 7 columns per block
    blocked = run()
    assert [(t.epoch, t.kind, t.detail) for t in blocked] == [
        (t.epoch, t.kind, t.detail) for t in whole
    ]
    assert [t.score for t in blocked] == pytest.approx([t.score for t in whole], rel=1e-12)


def _sign_flips_one_by_one(
    epochs: np.ndarray, flat: np.ndarray, initial: np.ndarray | None
) -> list[tuple[float, int, int, float, float]]:
    """The sign-change scores weight by weight, flip by flip: the reference the
    vectorised detector must equal."""
    blk = flat if initial is None else np.vstack([initial[None], flat])
    at = np.concatenate([[-1], epochs]) if initial is not None else epochs
    filled = np.sign(blk)
    for s in range(1, len(filled)):
        zero = filled[s] == 0
        filled[s, zero] = filled[s - 1, zero]
    out = []
    for p in range(blk.shape[1]):
        rows = [r for r in range(1, len(blk)) if filled[r, p] * filled[r - 1, p] < 0]
        bounds = [0, *rows, len(blk)]
        mags = np.abs(blk[:, p])
        for j, r in enumerate(rows):
            score = min(mags[bounds[j] : r].max(), mags[r : bounds[j + 2]].max())
            out.append((float(score), int(at[r]), p, float(blk[r - 1, p]), float(blk[r, p])))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_sign_change_scores_equal_the_flip_by_flip_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    s, p = 60, 25
    flat = rng.normal(size=(s, p)).cumsum(axis=0) * (rng.random((s, p)) > 0.1)  # zeros too
    flat[rng.random((s, p)) < 0.02] = np.nan  # a diverging weight never flips
    initial = rng.normal(size=p) if seed % 2 else None
    epochs = np.arange(s)
    labels = [f"w{i}" for i in range(p)]
    ref = _sign_flips_one_by_one(epochs, flat, initial)
    got = sign_change_transitions(epochs, flat, labels, initial, top=len(ref) + 1)
    assert len(got) == len(ref) > 0
    want = {(e, f"w{w} {o:+.3g} → {n:+.3g}"): sc for sc, e, w, o, n in ref}
    for t in got:
        sc = want[(t.epoch, t.detail)]
        assert t.score == sc or (np.isnan(t.score) and np.isnan(sc))
