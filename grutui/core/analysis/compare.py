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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grutui.core.analysis.ood import (
    DEFAULT_SAMPLES,
    OODEvaluator,
    OODResult,
    ood_unavailable,
    snapshot_epoch,
)
from grutui.core.errors import SessionError
from grutui.core.layout import PARAM_NAMES
from grutui.core.runview import RunView

EXHAUSTIVE_MAX = 5  # 2⁵·5! = 3,840 group elements
BASELINE_DRAWS = 20

Params = Mapping[str, np.ndarray]


def transform(p: Params, perm: np.ndarray, signs: np.ndarray) -> dict[str, np.ndarray]:
    """Apply the symmetry (π, s): unit i of the result is sᵢ × unit π(i) of ``p``.
    ``perm`` and ``signs`` (B, H), a batch of symmetries, give (B, …) arrays."""
    perm = np.asarray(perm, np.int64)
    s = np.asarray(signs, np.float32)
    hs = perm.shape[-1]
    batch = perm.shape[:-1]
    rows = np.concatenate([perm, perm + hs, perm + 2 * hs], axis=-1)  # same π in r, z, n
    row_sign = np.concatenate([np.ones((*batch, 2 * hs), np.float32), s], axis=-1)  # n flips
    # W[rows[r], perm[c]] by one flat take: under half the time of two index arrays
    flat = rows[..., :, None] * hs + perm[..., None, :]
    w_hh = (
        np.take(np.asarray(p["gru.weight_hh_l0"]).ravel(), flat)
        * row_sign[..., :, None]
        * s[..., None, :]
    )
    # (O, …, H) → (…, O, H), copied: a strided copy would be summed in another order
    w_out = np.ascontiguousarray(
        np.moveaxis(np.take(np.asarray(p["linear.weight"]), perm, axis=-1), 0, -2)
    )
    b_out = np.asarray(p["linear.bias"])
    return {
        "gru.weight_ih_l0": np.asarray(p["gru.weight_ih_l0"])[rows] * row_sign[..., :, None],
        "gru.weight_hh_l0": w_hh,
        "gru.bias_ih_l0": np.asarray(p["gru.bias_ih_l0"])[rows] * row_sign,
        "gru.bias_hh_l0": np.asarray(p["gru.bias_hh_l0"])[rows] * row_sign,
        "linear.weight": w_out * s[..., None, :],
        "linear.bias": np.broadcast_to(b_out, (*batch, *b_out.shape)).copy(),
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


def assign_units(a: Params, b: Params) -> tuple[np.ndarray, np.ndarray]:
    """(π, s) from a linear assignment of ``b``'s units to ``a``'s on per-unit features
    (the sign of each pair the closer of ±): one quick candidate, no search over the
    exact objective."""
    return _assign(_unit_features(a), _unit_features(b))


def _assign(
    fa: tuple[np.ndarray, np.ndarray], fb: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    perms, signs = _solve(*_costs(fa, (fb[0][None], fb[1][None])))
    return perms[0], signs[0]


def _costs(
    fa: tuple[np.ndarray, np.ndarray], fb: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The assignment's cost of unit i of a against unit j of each b, and the
    covariant features' dot products (whose sign is the pair's), (B, H, H) for B
    members b stacked (B, H, F)."""
    (inv_a, cov_a), (inv_b, cov_b) = fa, fb
    # squared distances by ‖u‖² + ‖v‖² − 2u·v; of ±v the closer is the sign of u·v
    # (in place, in this order: few (B, H, H) temporaries, the same sums as one pair's)
    cost = (inv_a**2).sum(-1)[:, None] + (inv_b**2).sum(-1)[:, None, :]
    cost -= 2 * inv_a @ np.swapaxes(inv_b, -1, -2)
    cost += (cov_a**2).sum(-1)[:, None]
    cost += (cov_b**2).sum(-1)[:, None, :]
    dot = cov_a @ np.swapaxes(cov_b, -1, -2)
    cost -= 2 * np.abs(dot)
    return cost, dot


def _solve(cost: np.ndarray, dot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(π, s) (B, H) of each least-cost assignment (B, H, H). A row's or a column's
    constant changes no assignment's rank, and scipy's solver needs about half the
    time once each row's, then each column's minimum is subtracted."""
    from scipy.optimize import linear_sum_assignment

    cost = cost - cost.min(axis=2, keepdims=True)
    cost -= cost.min(axis=1, keepdims=True)
    # a square problem's rows come back in order: π is the columns
    perms = np.stack([linear_sum_assignment(c)[1] for c in cost]).astype(np.int64)
    signs = np.where(np.take_along_axis(dot, perms[:, :, None], axis=2)[..., 0] < 0, -1.0, 1.0)
    return perms, signs


def assigned_distances(params: Sequence[Params]) -> np.ndarray:
    """(K, K) distance of every pair after ``assign_units``'s alignment (each member's
    unit features computed once, a member's costs against all later ones at once, every
    pair's distance at once): an upper bound on the minimum over the symmetries, quick
    enough for every pair of a large ensemble; ``align`` searches further. NaN for a
    pair with a non-finite member (a diverged one)."""
    k = len(params)
    pw = PairwiseDistances(params)
    feats = [_unit_features(p) for p in params]
    inv = np.stack([f[0] for f in feats])
    cov = np.stack([f[1] for f in feats])
    finite = np.isfinite(pw.theta).all(axis=1)
    ii, jj = np.triu_indices(k, 1)  # row by row: ``itertools.combinations``' order
    ok = finite[ii] & finite[jj]
    perms, signs = [], []
    step = max(1, PairwiseDistances.ALIGNED_BLOCK // pw.hidden**2)
    for i in range(k - 1):
        for j0 in range(i + 1, k, step):
            j = slice(j0, min(k, j0 + step))
            with np.errstate(all="ignore"):
                cost, dot = _costs((inv[i], cov[i]), (inv[j], cov[j]))
            cost[~(finite[i] & finite[j])] = 0.0  # any assignment: its distance is NaN
            got = _solve(cost, dot)
            perms.append(got[0])
            signs.append(got[1])
    with np.errstate(all="ignore"):
        d = pw.aligned(ii, jj, np.concatenate(perms), np.concatenate(signs))
    d[~ok] = np.nan
    out = np.zeros((k, k))
    out[ii, jj] = out[jj, ii] = d
    return out


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
    from scipy.optimize import quadratic_assignment

    lap, lap_signs = assign_units(a, b)

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
    ood: list[OODResult]  # empty where the task has no OOD grid (``no_ood`` says why)
    pairs: list[PairDistance] = field(default_factory=list)
    no_ood: str | None = None
    # built once per result: a pane draws from them on every key
    _matrices: dict[str, np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _means: tuple[list[float | None], list[float | None]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def matrix(self, which: str = "aligned") -> np.ndarray:
        """(K, K) symmetric matrix of ``raw`` | ``aligned`` | ``baseline`` distances
        (read-only: the same array is handed out again)."""
        m = self._matrices.get(which)
        if m is None:
            m = np.zeros((self.members, self.members))
            if self.pairs:
                a = np.array([p.a for p in self.pairs])
                b = np.array([p.b for p in self.pairs])
                v = np.array([getattr(p, which) for p in self.pairs], np.float64)
                m[a, b] = v
                m[b, a] = v
            m.flags.writeable = False
            self._matrices[which] = m
        return m

    def ood_in_out(self) -> tuple[list[float | None], list[float | None]]:
        """Each member's mean OOD success inside and outside the training distribution
        (None where the grid has no such cell), for all members at once."""
        got = self._means
        if got is None and not self.ood:
            got = self._means = ([None] * self.members, [None] * self.members)
        if got is None:
            succ = np.stack([r.success for r in self.ood])  # (K, C)
            ind = self.ood[0].in_distribution
            sides: list[list[float | None]] = [
                [float(v) for v in succ[:, mask].mean(axis=1)]
                if mask.any()
                else [None] * self.members
                for mask in (ind, ~ind)
            ]
            got = self._means = (sides[0], sides[1])
        return got

    @property
    def methods(self) -> list[str]:
        """The alignment methods the pairs used, sorted."""
        return sorted({p.method for p in self.pairs})

    def ood_spread(self) -> np.ndarray:
        """Per-cell standard deviation of the success rate across members (C,); empty
        without a grid."""
        if not self.ood:
            return np.zeros(0)
        return np.std(np.stack([r.success for r in self.ood]), axis=0)

    def _spread_json(self) -> list[dict[str, Any]]:
        axes = self.ood[0].axes
        return [
            {axes.row_name: n, axes.col_name: k, "std": float(v)}
            for (n, k), v in zip(self.ood[0].cells, self.ood_spread(), strict=True)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "members": self.members,
            "final_losses": self.final_losses,
            "ood": [r.to_json() for r in self.ood] if self.ood else None,
            "ood_success_spread": self._spread_json() if self.ood else None,
            **({"no_ood": self.no_ood} if self.no_ood else {}),
            "pairs": [p.to_json() for p in self.pairs],
        }


def compare_members(
    session: RunView,
    epoch: int | str = "last",
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    baseline_draws: int = BASELINE_DRAWS,
) -> SeedComparison:
    """Behaviour and weight distances of every member of an ensemble session.

    The pairs' distances are ``distance``, ``align`` and ``random_baseline``'s numbers,
    computed for all pairs at once (``PairwiseDistances``)."""
    k = session.members
    if k < 2:
        raise SessionError(f"{session.name} has a single member: nothing to compare")
    e = snapshot_epoch(session, epoch)
    params = [session.weights(e, m) for m in range(k)]
    task = session.config.task
    no_ood = ood_unavailable(task)
    ood = []
    if no_ood is None:
        ev = OODEvaluator(task, samples, seed)
        ood = [ev.evaluate(p, e, m) for m, p in enumerate(params)]
    comp = SeedComparison(e, k, [session.final_losses(m) for m in range(k)], ood, no_ood=no_ood)
    pw = PairwiseDistances(params)
    raw_arr = pw.raw()
    rng = np.random.default_rng(seed)  # random_baseline's draws: the same for every pair
    hs = pw.hidden
    draws = [(rng.permutation(hs), rng.choice([-1.0, 1.0], hs)) for _ in range(baseline_draws)]
    base_arr = pw.mean_over(draws)
    # the matrices as ``matrix`` would build them from the pairs (the i < j values)
    comp._matrices.update(raw=_symmetric(raw_arr), baseline=_symmetric(base_arr))
    raw, base = raw_arr.tolist(), base_arr.tolist()  # Python floats, one conversion
    if hs <= EXHAUSTIVE_MAX:
        group = [
            (np.array(pt), np.array(st))
            for pt in itertools.permutations(range(hs))
            for st in itertools.product((1.0, -1.0), repeat=hs)
        ]
        best_arr, which_arr = pw.min_over(group)
        comp._matrices["aligned"] = _symmetric(best_arr)
        best, which = best_arr.tolist(), which_arr.tolist()
        as_lists = [([int(v) for v in p], [int(v) for v in s]) for p, s in group]
    for i, j in itertools.combinations(range(k), 2):
        if hs <= EXHAUSTIVE_MAX:
            perm, signs = as_lists[which[i][j]]
            d, method = best[i][j], "exhaustive"
        else:
            al = align(params[i], params[j], seed=seed)
            perm, signs = [int(v) for v in al.perm], [int(v) for v in al.signs]
            d, method = al.distance, al.method
        comp.pairs.append(
            PairDistance(i, j, raw[i][j], d, base[i][j], list(perm), list(signs), method)
        )
    return comp


def _symmetric(m: np.ndarray) -> np.ndarray:
    """The matrix with its upper triangle mirrored and a zero diagonal (read-only)."""
    up = np.triu(m, 1)
    out = up + up.T
    out.flags.writeable = False
    return out


class PairwiseDistances:
    """``distance(θ_i, g·θ_j)`` for every pair of members i < j and symmetries g, as
    arrays: the same float64 sums in the same order as ``distance`` (per parameter, then
    over ``PARAM_NAMES``), so the numbers equal the one-pair functions'. A symmetry acts
    on the flattened parameters as a gather and a sign (``transform`` applied to the
    parameters' own indices)."""

    BLOCK = 2**22  # float64 elements of one (rows × members × parameters) block
    # elements of one block of ``aligned`` (and of ``assigned_distances``' costs): ~1 MB
    # arrays stay in cache and are reused by the allocator (larger ones are mapped afresh
    # each time: page faults cost as much as the arithmetic)
    ALIGNED_BLOCK = 2**17

    def __init__(self, params: Sequence[Params]) -> None:
        self.k = len(params)
        self.params = params
        self.hidden = _hidden(params[0])
        self.shapes = {n: np.asarray(params[0][n]).shape for n in PARAM_NAMES}
        self.theta = np.stack(
            [
                np.concatenate([np.asarray(p[n], np.float64).ravel() for n in PARAM_NAMES])
                for p in params
            ]
        )  # (K, P)
        sizes = [int(np.prod(self.shapes[n])) for n in PARAM_NAMES]
        ends = np.cumsum(sizes)
        self.segments = [(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True)]
        # index + 1, so that one ``transform`` carries both the gather and the sign
        index = np.arange(1, int(ends[-1]) + 1, dtype=np.float64)
        self._index = {
            n: index[a:b].reshape(self.shapes[n])
            for n, (a, b) in zip(PARAM_NAMES, self.segments, strict=True)
        }

    def _gather(self, perm: np.ndarray, signs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index, sign) with g·θ = θ[index] · sign for g = (perm, signs)."""
        moved = transform(self._index, perm, signs)
        flat = np.concatenate([moved[n].ravel() for n in PARAM_NAMES])
        return np.abs(flat).astype(np.int64) - 1, np.sign(flat)

    def _sq(self, diff: np.ndarray) -> np.ndarray:
        """Squared distance over the last axis, summed as ``distance`` sums it (each
        parameter's squares copied out first: numpy sums a strided slice in another order,
        which moves the last bit)."""
        sq = diff * diff
        total: np.ndarray | float = 0
        for a, b in self.segments:
            total = total + np.ascontiguousarray(sq[..., a:b]).sum(axis=-1)
        return np.asarray(total)

    def _blocks(self, per_row: int) -> list[tuple[int, int]]:
        step = max(1, self.BLOCK // max(1, per_row))
        return [(i, min(self.k, i + step)) for i in range(0, self.k, step)]

    def aligned(
        self, i: np.ndarray, j: np.ndarray, perms: np.ndarray, signs: np.ndarray
    ) -> np.ndarray:
        """(B,) ``distance(θ_i[b], g_b·θ_j[b])`` with g_b = (perms[b], signs[b]): for
        each member j, one ``transform`` of its parameters by all its symmetries at once
        (the values moved, not an index: fewer passes over the (B × P) block)."""
        i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
        out = np.empty(len(i))
        step = max(1, self.ALIGNED_BLOCK // self.theta.shape[1])
        for m in np.unique(j):
            mine = np.flatnonzero(j == m)
            for r in (mine[s : s + step] for s in range(0, len(mine), step)):
                # the member's own dtype (float32 from a session): half the bytes to move
                moved = transform(self.params[m], perms[r], signs[r])
                total: np.ndarray | float = 0
                for n, (a, b) in zip(PARAM_NAMES, self.segments, strict=True):
                    diff = self.theta[i[r], a:b] - moved[n].reshape(len(r), -1)
                    total = total + (diff * diff).sum(axis=-1)
                out[r] = np.sqrt(total)
        return out

    def raw(self) -> np.ndarray:
        """(K, K) distances with no symmetry applied."""
        out = np.zeros((self.k, self.k))
        t = self.theta
        for i0, i1 in self._blocks(t.size):
            out[i0:i1] = np.sqrt(self._sq(t[i0:i1, None, :] - t[None, :, :]))
        return out

    def _each(self, group: list[tuple[np.ndarray, np.ndarray]]) -> Iterator[np.ndarray]:
        """For each g of ``group``: (K, K) distances from θ_i to g·θ_j (one symmetry at
        a time, so memory stays (block × K × P) whatever the group's size)."""
        t = self.theta
        for perm, signs in group:
            idx, sgn = self._gather(perm, signs)
            g_theta = t[:, idx] * sgn  # (K, P)
            out = np.empty((self.k, self.k))
            for i0, i1 in self._blocks(g_theta.size):
                out[i0:i1] = np.sqrt(self._sq(t[i0:i1, None, :] - g_theta[None]))
            yield out

    def mean_over(self, group: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """(K, K): the mean over ``group`` (``random_baseline``'s draws)."""
        return np.stack(list(self._each(group)), axis=-1).mean(axis=-1)

    def min_over(self, group: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """(K, K) minimum over ``group`` and the index of the first element reaching it
        (``align``'s exhaustive search: strictly smaller wins, so not finite anywhere
        leaves the identity, the first element, at inf)."""
        best = np.full((self.k, self.k), np.inf)
        which = np.zeros((self.k, self.k), np.int64)
        for g, d in enumerate(self._each(group)):
            better = d < best  # a nan never is
            best[better] = d[better]
            which[better] = g
        return best, which
