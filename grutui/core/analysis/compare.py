"""Seed comparison for ensemble sessions: behaviour (final losses, OOD grid per member)
and weights (distance between members minimised over the network's symmetries).

Which symmetries are exact for ``GRU(2, H) → Linear(H, 1)`` with h₀ = 0: relabelling
the hidden units (a permutation), and — because tanh is odd and h only enters the gates
linearly — flipping the sign of any unit's state. With h'ᵢ = sᵢ·h_π(i), sᵢ = ±1, the
network computes the same outputs when its weights become

    W_r, W_z (input rows), b_r, b_z   permuted rows
    W_hr, W_hz                        W[π(i), π(j)]·sⱼ          (columns flipped)
    W_in, b_in, b_hn                  rows permuted and ×sᵢ
    W_hn                              W[π(i), π(j)]·sᵢ·sⱼ
    w_out                             w[π(i)]·sᵢ ;  b_out unchanged

(r and z stay the same, n and h flip: (1 − z)⊙(−n) + z⊙(−h) = −h'.) So for hidden size 1
the group is {identity, sign flip}, and for H units it has 2ᴴ·H! elements; a test
checks the invariance numerically. No other transformation is an exact symmetry
(sigmoid is not odd, so r and z units cannot flip).

The distance is the Euclidean norm over all parameters, ``min over the group of
‖θ_a − g·θ_b‖``. Up to ``EXHAUSTIVE_MAX`` units the whole group is searched (exact);
beyond, candidates come from a linear assignment on per-unit features, from
``scipy.optimize.quadratic_assignment`` (FAQ) on the sign-invariant connectivity
|W_hr| + |W_hz| + |W_hn|, and from the identity, each with its best signs, then the best
is polished by swaps and flips on the exact objective — an upper bound on the minimum.
The baseline is the mean distance to randomly permuted and sign-flipped copies: the
distance two unrelated-but-similarly-scaled solutions would have.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grutui.core.analysis.ood import DEFAULT_SAMPLES, OODEvaluator, OODResult, snapshot_epoch
from grutui.core.errors import SessionError
from grutui.core.layout import PARAM_NAMES
from grutui.core.runview import RunView

EXHAUSTIVE_MAX = 5  # 2⁵·5! = 3,840 group elements
BASELINE_DRAWS = 20

Params = Mapping[str, np.ndarray]


def transform(p: Params, perm: np.ndarray, signs: np.ndarray) -> dict[str, np.ndarray]:
    """Apply the symmetry (π, s): unit i of the result is sᵢ × unit π(i) of ``p``."""
    perm = np.asarray(perm, np.int64)
    s = np.asarray(signs, np.float32)
    hs = len(perm)
    rows = np.concatenate([perm, perm + hs, perm + 2 * hs])  # same π in r, z, n blocks
    row_sign = np.concatenate([np.ones(2 * hs, np.float32), s])  # only n rows flip
    w_hh = np.asarray(p["gru.weight_hh_l0"])[rows][:, perm] * row_sign[:, None] * s[None, :]
    return {
        "gru.weight_ih_l0": np.asarray(p["gru.weight_ih_l0"])[rows] * row_sign[:, None],
        "gru.weight_hh_l0": w_hh,
        "gru.bias_ih_l0": np.asarray(p["gru.bias_ih_l0"])[rows] * row_sign,
        "gru.bias_hh_l0": np.asarray(p["gru.bias_hh_l0"])[rows] * row_sign,
        "linear.weight": np.asarray(p["linear.weight"])[:, perm] * s[None, :],
        "linear.bias": np.asarray(p["linear.bias"]).copy(),
    }


def distance(a: Params, b: Params) -> float:
    """Euclidean norm of the difference over all parameters (float64)."""
    return float(
        np.sqrt(
            sum(
                float(np.sum((np.asarray(a[n], np.float64) - np.asarray(b[n], np.float64)) ** 2))
                for n in PARAM_NAMES
            )
        )
    )


@dataclass
class Alignment:
    perm: np.ndarray  # unit i of a ↔ unit perm[i] of b
    signs: np.ndarray  # ±1
    distance: float
    method: str  # "exhaustive" | "heuristic"


def _hidden(p: Params) -> int:
    return int(np.asarray(p["gru.weight_hh_l0"]).shape[1])


def _unit_features(p: Params) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit (invariant, sign-covariant) features under (π, s)."""
    hs = _hidden(p)
    w_ih = np.asarray(p["gru.weight_ih_l0"], np.float64)
    w_hh = np.asarray(p["gru.weight_hh_l0"], np.float64)
    b_ih = np.asarray(p["gru.bias_ih_l0"], np.float64)
    b_hh = np.asarray(p["gru.bias_hh_l0"], np.float64)
    w_out = np.asarray(p["linear.weight"], np.float64)
    r, z, n = (slice(g * hs, (g + 1) * hs) for g in range(3))
    d = np.arange(hs)
    inv = np.column_stack([w_ih[r], w_ih[z], b_ih[r], b_ih[z], b_hh[r], b_hh[z], w_hh[n][d, d]])
    cov = np.column_stack([w_ih[n], b_ih[n], b_hh[n], w_out.T, w_hh[r][d, d], w_hh[z][d, d]])
    return inv, cov


def _best_signs(
    a: Params, b: Params, perm: np.ndarray, signs: np.ndarray
) -> tuple[np.ndarray, float]:
    """Coordinate descent over unit signs for a fixed permutation."""
    signs = signs.astype(np.float32).copy()
    best = distance(a, transform(b, perm, signs))
    improved = True
    while improved:
        improved = False
        for i in range(len(signs)):
            signs[i] *= -1
            d = distance(a, transform(b, perm, signs))
            if d < best - 1e-12:
                best, improved = d, True
            else:
                signs[i] *= -1
    return signs, best


def align(
    a: Params, b: Params, *, exhaustive_max: int = EXHAUSTIVE_MAX, seed: int = 0
) -> Alignment:
    """The symmetry (π, s) bringing ``b`` closest to ``a``."""
    hs = _hidden(a)
    if _hidden(b) != hs:
        raise ValueError(f"hidden sizes differ: {hs} and {_hidden(b)}")
    if hs <= exhaustive_max:
        best = (np.inf, np.arange(hs), np.ones(hs))
        for pt in itertools.permutations(range(hs)):
            pa = np.array(pt)
            for st in itertools.product((1.0, -1.0), repeat=hs):
                sa = np.array(st)
                d = distance(a, transform(b, pa, sa))
                if d < best[0]:
                    best = (d, pa, sa)
        return Alignment(best[1], best[2], best[0], "exhaustive")
    from scipy.optimize import linear_sum_assignment, quadratic_assignment

    inv_a, cov_a = _unit_features(a)
    inv_b, cov_b = _unit_features(b)
    d_inv = ((inv_a[:, None] - inv_b[None]) ** 2).sum(-1)
    d_pos = ((cov_a[:, None] - cov_b[None]) ** 2).sum(-1)
    d_neg = ((cov_a[:, None] + cov_b[None]) ** 2).sum(-1)
    cost = d_inv + np.minimum(d_pos, d_neg)
    rows, cols = linear_sum_assignment(cost)
    lap = np.empty(hs, np.int64)
    lap[rows] = cols
    lap_signs = np.where(d_neg[np.arange(hs), lap] < d_pos[np.arange(hs), lap], -1.0, 1.0)

    def conn(p: Params) -> np.ndarray:
        w = np.abs(np.asarray(p["gru.weight_hh_l0"], np.float64))
        return w[:hs] + w[hs : 2 * hs] + w[2 * hs :]

    p0 = np.zeros((hs, hs))
    p0[np.arange(hs), lap] = 1.0
    qap = quadratic_assignment(
        conn(a),
        conn(b),
        method="faq",
        options={"maximize": True, "P0": p0, "rng": np.random.default_rng(seed)},
    )
    candidates = [
        (lap, lap_signs),
        (np.asarray(qap.col_ind), np.ones(hs)),
        (np.arange(hs), np.ones(hs)),
    ]
    scored = []
    for perm, signs in candidates:
        s, d = _best_signs(a, b, perm, signs)
        scored.append((d, perm, s))
    d, perm, signs = min(scored, key=lambda t: t[0])
    perm = perm.copy()
    # polish: pairwise swaps (signs travel with their units), then the best signs again
    for _ in range(3):
        improved = False
        for i, j in itertools.combinations(range(hs), 2):
            trial, ts = perm.copy(), signs.copy()
            trial[i], trial[j] = trial[j], trial[i]
            ts[i], ts[j] = ts[j], ts[i]
            dt = distance(a, transform(b, trial, ts))
            if dt < d - 1e-12:
                d, perm, signs, improved = dt, trial, ts, True
        signs, d = _best_signs(a, b, perm, signs)
        if not improved:
            break
    return Alignment(perm, signs, d, "heuristic")


def random_baseline(a: Params, b: Params, draws: int = BASELINE_DRAWS, seed: int = 0) -> float:
    """Mean distance from ``a`` to randomly permuted, randomly sign-flipped copies of ``b``."""
    rng = np.random.default_rng(seed)
    hs = _hidden(b)
    ds = [
        distance(a, transform(b, rng.permutation(hs), rng.choice([-1.0, 1.0], hs)))
        for _ in range(draws)
    ]
    return float(np.mean(ds))


@dataclass
class PairDistance:
    a: int
    b: int
    raw: float  # no alignment
    aligned: float  # minimised over the symmetries
    baseline: float  # mean over random symmetries
    perm: list[int]
    signs: list[int]
    method: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SeedComparison:
    epoch: int
    members: int
    final_losses: list[dict[str, float | None]]
    ood: list[OODResult]
    pairs: list[PairDistance] = field(default_factory=list)

    def matrix(self, which: str = "aligned") -> np.ndarray:
        """(K, K) symmetric matrix of ``raw`` | ``aligned`` | ``baseline`` distances."""
        m = np.zeros((self.members, self.members))
        for p in self.pairs:
            m[p.a, p.b] = m[p.b, p.a] = getattr(p, which)
        return m

    def ood_spread(self) -> np.ndarray:
        """Per-cell standard deviation of the success rate across members (C,)."""
        return np.std(np.stack([r.success for r in self.ood]), axis=0)

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "members": self.members,
            "final_losses": self.final_losses,
            "ood": [r.to_json() for r in self.ood],
            "ood_success_spread": [
                {"length": n, "flags": k, "std": float(v)}
                for (n, k), v in zip(self.ood[0].cells, self.ood_spread(), strict=True)
            ],
            "pairs": [p.to_json() for p in self.pairs],
        }


def compare_members(
    session: RunView,
    epoch: int | str = "last",
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    baseline_draws: int = BASELINE_DRAWS,
) -> SeedComparison:
    """Behaviour and weight distances of every member of an ensemble session."""
    k = session.members
    if k < 2:
        raise SessionError(f"{session.name} has a single member: nothing to compare")
    e = snapshot_epoch(session, epoch)
    params = [session.weights(e, m) for m in range(k)]
    ev = OODEvaluator(session.config.task, samples, seed)
    comp = SeedComparison(
        e,
        k,
        [session.final_losses(m) for m in range(k)],
        [ev.evaluate(p, e, m) for m, p in enumerate(params)],
    )
    for i, j in itertools.combinations(range(k), 2):
        al = align(params[i], params[j], seed=seed)
        comp.pairs.append(
            PairDistance(
                i,
                j,
                distance(params[i], params[j]),
                al.distance,
                random_baseline(params[i], params[j], baseline_draws, seed),
                [int(v) for v in al.perm],
                [int(v) for v in al.signs],
                al.method,
            )
        )
    return comp
