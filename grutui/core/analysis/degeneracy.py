"""Solution degeneracy across an ensemble's members, at three levels (the degeneracy
study's framework: behaviour, dynamics, weights), at one epoch and over the epochs.

Each level is a (K, K) symmetric distance matrix with a zero diagonal, its mean over
the pairs, and a random baseline — the same mean for networks that learned nothing:

- **behaviour**: the spread of the members' generalisation. Where the task has an
  out-of-distribution grid, the mean absolute difference of two members' success rates
  over its cells; else the absolute difference of their test loss on a shared probe
  set drawn from the task's test data. Baseline: the members at their initial weights.
- **dynamics**: Dynamical Similarity Analysis (Ostrow et al. 2023) between the members'
  hidden-state trajectories on the probe set (``dsa_operators``, ``dsa_distances``).
  Baseline: the members at their initial weights (random networks of the same size).
- **weights**: the permutation- and sign-invariant distance of ``compare`` (exact up to
  ``EXHAUSTIVE_MAX`` units; beyond, ``assign_units``'s linear assignment, an upper bound
  that ``align`` polishes further in the Seeds distance view). Baseline: ``compare``'s,
  randomly permuted and sign-flipped copies (a trained network's scale, at every epoch).

DSA, as published: delay-embed each network's states (a Hankel matrix), project onto
its leading ``rank`` singular directions (the eigen-time-delay coordinates), fit the
linear operator A with v(t+1) ≈ A v(t) there (HAVOK DMD), and compare two operators
up to a change of basis. The comparison is the ``dsa-metric`` package's default score
(2.0): the optimal-transport distance between the operators' eigenvalues in the
complex plane (uniform weights; the package reports the squared Wasserstein-2 cost,
here its square root, in the eigenvalues' units), exactly invariant under every change
of basis and cheap for 2,016 pairs. (The original score,
the angle between A and C B Cᵀ minimised over orthogonal C by gradient descent, was
tried here batched over the pairs: from the identity and a reflection it stalled in
local optima on random conjugates and took seconds; the package itself is not used:
it pulls in pot, pydmd, scikit-learn, matplotlib and more.)

Over the epochs each level's mean is cached in ``analysis.h5`` (``rowcache``, group
``degeneracy/``: rows by snapshot index, appended as a live run grows).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grutui.core.analysis.compare import (
    BASELINE_DRAWS,
    EXHAUSTIVE_MAX,
    PairwiseDistances,
    assigned_distances,
)
from grutui.core.analysis.ood import OODEvaluator, snapshot_epoch
from grutui.core.analysis.rowcache import cache_path, fingerprint, is_prefix, read_rows, write_rows
from grutui.core.errors import ConfigError, SessionError
from grutui.core.gru import GRUWeights, gru_states
from grutui.core.numfmt import json_number
from grutui.core.runview import RunView

LEVELS = ("behaviour", "dynamics", "weights")
PROBE = 64  # probe sequences (the shared input of every member)
BASELINE_PAIRS = 64  # pairs whose random-symmetry distances make the weights baseline
OOD_SAMPLES = 50  # per grid cell: the behaviour level needs the spread, not the digits
RANK = 8  # DSA operator size (eigen-time-delay coordinates kept)
DELAY_COLUMNS = 16  # delays so that the embedding has at least this many columns
OPERATOR_CHUNK = 2**18  # float64 elements of the embeddings fitted at once (~2 MB)

Params = Mapping[str, np.ndarray]


# -- DSA -----------------------------------------------------------------------------------


def delay_embed(h: np.ndarray, delays: int) -> np.ndarray:
    """(N, T, H) → (N, T − delays + 1, delays·H): each row a state and the next ones."""
    t = h.shape[1] - delays + 1
    if t < 2:
        raise ValueError(f"{h.shape[1]} steps are too few for {delays} delays")
    return np.concatenate([h[:, d : d + t] for d in range(delays)], axis=-1)


def delays_for(hidden: int, steps: int) -> int:
    """Enough delays for ``DELAY_COLUMNS`` columns, leaving at least 3 embedded steps."""
    return max(1, min(math.ceil(DELAY_COLUMNS / hidden), steps - 2))


def dsa_operators(trajectories: np.ndarray, delays: int, rank: int = RANK) -> np.ndarray:
    """HAVOK operators (K, r, r) of K networks' trajectories (K, N, T, H) on the same
    probe: v(t+1) ≈ A v(t) in each one's leading r eigen-time-delay coordinates v
    (the right singular vectors of its Hankel matrix, signs fixed by their largest
    entry so that a rotated copy of the states gives the same v). Sequences are
    regressed within themselves (no step crosses from one sequence to the next).
    A few networks at a time: 64 members' float64 embeddings at hidden 64 are 100 MB of
    temporaries, slower to map than to fill."""
    k, n, t, h = trajectories.shape
    step = max(1, OPERATOR_CHUNK // (n * t * delays * h))
    return np.concatenate(
        [_operators(trajectories[c : c + step], delays, rank) for c in range(0, k, step)]
    )


def _operators(trajectories: np.ndarray, delays: int, rank: int) -> np.ndarray:
    k, n, _t, _h = trajectories.shape
    emb = delay_embed(trajectories.reshape(k * n, *trajectories.shape[2:]), delays)
    t = emb.shape[1]
    emb = emb.reshape(k, n * t, -1).astype(np.float64)
    r = min(rank, emb.shape[2], n * (t - 1))
    # the SVD's right side from the small Gram matrix: V = H U / s
    gram = np.swapaxes(emb, 1, 2) @ emb
    vals, vecs = np.linalg.eigh(gram)
    vals, vecs = vals[:, ::-1][:, :r], vecs[:, :, ::-1][:, :, :r]
    s = np.sqrt(np.maximum(vals, 0.0))
    v = (emb @ vecs) / np.where(s > 1e-12, s, np.inf)[:, None, :]
    big = np.take_along_axis(v, np.abs(v).argmax(axis=1)[:, None, :], axis=1)
    v = v * np.where(big < 0, -1.0, 1.0)
    v = v.reshape(k, n, t, r)
    x = v[:, :, :-1].reshape(k, -1, r)
    y = v[:, :, 1:].reshape(k, -1, r)
    xtx = np.swapaxes(x, 1, 2) @ x + 1e-9 * np.eye(r)
    xty = np.swapaxes(x, 1, 2) @ y
    # row-vector fit y = x M; the operator acting on column vectors is Mᵀ
    return np.swapaxes(np.linalg.solve(xtx, xty), 1, 2)


def spectra(ops: np.ndarray) -> np.ndarray:
    """(K, r) eigenvalues of each operator (complex), NaN for a non-finite one."""
    out = np.full(ops.shape[:2], np.nan, np.complex128)
    finite = np.isfinite(ops).all(axis=(1, 2))
    if finite.any():
        out[finite] = np.linalg.eigvals(ops[finite])
    return out


def dsa_distances(ops: np.ndarray) -> np.ndarray:
    """(K, K) DSA distances between every pair of operators (K, r, r): the
    Wasserstein-2 distance between their eigenvalue sets in the complex plane (an
    optimal matching of the eigenvalues, uniform weights), invariant under any change
    of basis; NaN for a non-finite operator (a diverged member)."""
    from scipy.optimize import linear_sum_assignment

    k = len(ops)
    out = np.zeros((k, k))
    ev = spectra(ops)
    finite = np.isfinite(ev).all(axis=1)
    ii, jj = np.triu_indices(k, 1)
    ok = finite[ii] & finite[jj]
    ii, jj = ii[ok], jj[ok]
    # every pair's cost at once; only the assignments go one by one (rows come back in
    # order for a square problem)
    cost = np.abs(ev[ii][:, :, None] - ev[jj][:, None, :]) ** 2
    cols = np.array([linear_sum_assignment(c)[1] for c in cost], np.int64)
    cols = cols.reshape(len(ii), ev.shape[1])
    d = np.sqrt(np.take_along_axis(cost, cols[:, :, None], axis=2)[..., 0].mean(axis=1))
    nan = ~finite[:, None] | ~finite[None, :]
    out[nan] = np.nan
    out[ii, jj] = out[jj, ii] = d
    np.fill_diagonal(out, 0.0)
    return out


def dsa(h_a: np.ndarray, h_b: np.ndarray, delays: int = 1, rank: int = RANK) -> float:
    """DSA distance between two networks' trajectories (N, T, H) on the same inputs."""
    ops = dsa_operators(np.stack([h_a, h_b]), delays, rank)
    return float(dsa_distances(ops)[0, 1])


# -- the three levels ------------------------------------------------------------------------


def mean_offdiag(m: np.ndarray) -> float:
    """The mean over the pairs (NaN where none is finite)."""
    k = len(m)
    vals = m[~np.eye(k, dtype=bool)]
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else math.nan


@dataclass
class Level:
    """One level's distances between the members and their random baseline."""

    name: str
    matrix: np.ndarray  # (K, K), symmetric, zero diagonal
    baseline: float  # the mean distance between networks that learned nothing
    measure: str  # what the distance is, in words

    @property
    def mean(self) -> float:
        return mean_offdiag(self.matrix)

    @property
    def ratio(self) -> float:
        """mean / baseline: below 1 the members are more alike than random networks."""
        b = self.baseline
        return self.mean / b if b > 0 and math.isfinite(b) else math.nan

    def summary(self) -> str:
        """One line: mean distance against the baseline."""
        r = self.ratio
        rs = f"×{r:.2f}" if math.isfinite(r) else "×—"
        return f"{self.name:<9} mean {_g(self.mean)} vs random {_g(self.baseline)} ({rs})"

    def to_json(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "mean": json_number(self.mean),
            "baseline": json_number(self.baseline),
            "ratio": json_number(self.ratio),
            "matrix": [[json_number(v) for v in row] for row in self.matrix],
        }


@dataclass
class Degeneracy:
    epoch: int
    members: int
    levels: dict[str, Level] = field(default_factory=dict)

    def level(self, name: str) -> Level:
        return self.levels[name]

    def means(self) -> np.ndarray:
        """(3,) each level's mean, in ``LEVELS`` order."""
        return np.array([self.levels[n].mean for n in LEVELS])

    def baselines(self) -> np.ndarray:
        return np.array([self.levels[n].baseline for n in LEVELS])

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "members": self.members,
            "levels": {n: lv.to_json() for n, lv in self.levels.items()},
        }


def _g(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else "—"


class DegeneracyAnalysis:
    """The three levels for one ensemble session: the probe set, the OOD grid (where the
    task has one) and the baselines at the members' initial weights are made once;
    ``at(epoch)`` costs one run of every member at once on the probe and the pairs'
    distances."""

    def __init__(self, session: RunView, probe: int = PROBE) -> None:
        if session.members < 2:
            raise SessionError(f"{session.name} has a single member: nothing to compare")
        self.session = session
        self.k = session.members
        task = session.config.task
        self.output = task.output()
        self.ood: OODEvaluator | None = None
        if task.ood_axes() is not None:
            try:
                self.ood = OODEvaluator(task, OOD_SAMPLES)
            except ConfigError:  # a grid the evaluator does not know: the test metric
                self.ood = None
        _train, test = task.datasets(session.config.seed)
        lengths = np.asarray(test.lengths, np.int64)
        order = np.argsort(-lengths, kind="stable")[:probe]  # the longest: most steps
        self.x = np.asarray(test.model_input(), np.float32)[order]
        self.y = np.asarray(test.y)[order]
        self.lengths = lengths[order]
        self.steps = int(self.lengths.min())  # every probe sequence runs this long
        self.probe = len(order)
        self._baselines: tuple[float, float] | None = None

    def behaviour_measure(self) -> str:
        if self.ood is not None:
            return f"mean |Δ success| over the OOD grid's {len(self.ood.cells)} cells"
        return f"|Δ test loss| on {self.probe} probe sequences"

    def dynamics_measure(self, hidden: int) -> str:
        d = delays_for(hidden, self.steps)
        return f"DSA (eigenvalue W2), {d} delays, rank {RANK}, {self.probe} probe sequences"

    def run_members(self, params: Sequence[Params]) -> tuple[np.ndarray, np.ndarray]:
        """Each member's behaviour vector (K, B) and trajectories (K, N, T, H)."""
        behaviour = []
        with np.errstate(all="ignore"):
            # every member at once: one step loop, not one trace per member
            states, outputs = gru_states(
                [GRUWeights.from_params(p) for p in params], self.x, self.lengths
            )
            for p, out in zip(params, outputs, strict=True):
                if self.ood is not None:
                    behaviour.append(self.ood.evaluate(p).success)
                else:
                    behaviour.append(np.array([self.output.metrics(out, self.y)["loss"]]))
        return np.stack(behaviour).astype(np.float64), states[:, :, : self.steps]

    def behaviour_matrix(self, vecs: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            m = np.abs(vecs[:, None, :] - vecs[None, :, :]).mean(axis=-1)
        np.fill_diagonal(m, 0.0)
        return m

    def dynamics_matrix(self, traj: np.ndarray) -> np.ndarray:
        hidden = traj.shape[-1]
        finite = np.isfinite(traj).all(axis=(1, 2, 3))
        ops = np.full((self.k, RANK, RANK), np.nan)
        if finite.any():
            got = dsa_operators(traj[finite], delays_for(hidden, self.steps))
            r = got.shape[1]
            ops = np.full((self.k, r, r), np.nan)
            ops[finite] = got
        return dsa_distances(ops)

    def baselines(self) -> tuple[float, float]:
        """Behaviour and dynamics means at the members' initial weights (the first
        snapshot for a session that did not store them)."""
        if self._baselines is None:
            s = self.session
            init = [s.initial_weights(m) for m in range(self.k)]
            if any(p is None for p in init):
                first = int(s.snapshot_epochs[0])
                init = [s.weights(first, m) for m in range(self.k)]
            vecs, traj = self.run_members([p for p in init if p is not None])
            self._baselines = (
                mean_offdiag(self.behaviour_matrix(vecs)),
                mean_offdiag(self.dynamics_matrix(traj)),
            )
        return self._baselines

    def at(self, epoch: int | str = "last") -> Degeneracy:
        s = self.session
        e = snapshot_epoch(s, epoch)
        params = [s.weights(e, m) for m in range(self.k)]
        vecs, traj = self.run_members(params)
        b_base, d_base = self.baselines()
        hidden = traj.shape[-1]
        w_mat, w_base = weight_distances(params)
        res = Degeneracy(e, self.k)
        res.levels["behaviour"] = Level(
            "behaviour", self.behaviour_matrix(vecs), b_base, self.behaviour_measure()
        )
        res.levels["dynamics"] = Level(
            "dynamics", self.dynamics_matrix(traj), d_base, self.dynamics_measure(hidden)
        )
        how = "exact" if hidden <= EXHAUSTIVE_MAX else "linear assignment"
        res.levels["weights"] = Level(
            "weights",
            w_mat,
            w_base,
            f"‖θa − g·θb‖ minimised over unit permutations and sign flips ({how})",
        )
        return res


def weight_distances(params: Sequence[Params], seed: int = 0) -> tuple[np.ndarray, float]:
    """(K, K) invariant weight distances and their random-symmetry baseline: the mean
    distance to randomly permuted and sign-flipped copies, ``compare``'s draws, over
    at most ``BASELINE_PAIRS`` pairs (a mean, not a matrix: a sample estimates it)."""
    k = len(params)
    pw = PairwiseDistances(params)
    hs = pw.hidden
    rng = np.random.default_rng(seed)
    draws = [(rng.permutation(hs), rng.choice([-1.0, 1.0], hs)) for _ in range(BASELINE_DRAWS)]
    pairs = list(itertools.combinations(range(k), 2))
    if len(pairs) > BASELINE_PAIRS:
        pick = rng.choice(len(pairs), BASELINE_PAIRS, replace=False)
        pairs = [pairs[int(i)] for i in np.sort(pick)]
    # pair by pair, each pair's draws in turn: the order the mean has always summed
    ii = np.repeat([i for i, _ in pairs], len(draws))
    jj = np.repeat([j for _, j in pairs], len(draws))
    perms = np.tile(np.stack([p for p, _ in draws]), (len(pairs), 1))
    signs = np.tile(np.stack([s for _, s in draws]), (len(pairs), 1))
    with np.errstate(all="ignore"):
        ds = pw.aligned(ii, jj, perms, signs)
    ds = ds[np.isfinite(ds)]
    base = float(ds.mean()) if ds.size else math.nan
    if hs <= EXHAUSTIVE_MAX:
        group = [
            (np.array(pt), np.array(st))
            for pt in itertools.permutations(range(hs))
            for st in itertools.product((1.0, -1.0), repeat=hs)
        ]
        return _sym(pw.min_over(group)[0]), base
    return assigned_distances(params), base


def _sym(m: np.ndarray) -> np.ndarray:
    up = np.triu(m, 1)
    return up + up.T


def degeneracy_at(session: RunView, epoch: int | str = "last", probe: int = PROBE) -> Degeneracy:
    return DegeneracyAnalysis(session, probe).at(epoch)


# -- over the epochs ---------------------------------------------------------------------------


@dataclass
class DegeneracyHistory:
    """Each level's mean (and baseline) per evaluated snapshot: (R, 3), ``LEVELS`` order."""

    epochs: np.ndarray
    means: np.ndarray
    baselines: np.ndarray
    stride: int
    complete: bool = True
    computed: int = 0  # rows computed by this call (the rest came from the cache)

    def __len__(self) -> int:
        return len(self.epochs)

    def series(self, level: str) -> np.ndarray:
        return self.means[:, LEVELS.index(level)]

    def to_json(self) -> dict[str, Any]:
        return {
            "stride": self.stride,
            "complete": self.complete,
            "epochs": [int(e) for e in self.epochs],
            "levels": {
                n: {
                    "mean": [json_number(v) for v in self.means[:, i]],
                    "baseline": [json_number(v) for v in self.baselines[:, i]],
                }
                for i, n in enumerate(LEVELS)
            },
        }


ROWS = ("mean", "baseline")  # (R, 3): each level's mean and baseline per epoch


def history_group(probe: int, stride: int) -> str:
    return f"degeneracy/probe{probe}_rank{RANK}_stride{stride}"


def degeneracy_history(
    session: RunView,
    stride: int = 1,
    probe: int = PROBE,
    *,
    use_cache: bool = True,
    analysis: DegeneracyAnalysis | None = None,
    known: DegeneracyHistory | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[DegeneracyHistory], None] | None = None,
) -> DegeneracyHistory:
    """Each level's mean at snapshot rows 0, stride, 2·stride, … (rows by snapshot
    index, so the choice is stable as a live run grows; a prefix cached on disk, or
    ``known`` from an earlier call, is reused and only new rows are computed).
    ``should_stop`` is polled between epochs (a stopped call returns, and caches, what
    it has); ``on_progress`` gets the history so far."""
    if stride < 1:
        raise ConfigError(f"stride must be at least 1, got {stride}")
    an = analysis or DegeneracyAnalysis(session, probe)
    wanted = np.asarray(session.snapshot_epochs[::stride], np.int64)
    key = history_group(an.probe, stride)
    attrs = {"fingerprint": fingerprint(session), "stride": stride} if use_cache else {}
    ep0, me0, ba0 = np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3))
    cached = read_rows(cache_path(session), key, attrs, ROWS) if use_cache else None
    if cached is not None and is_prefix(cached["epoch"], wanted):
        ep0, me0, ba0 = cached["epoch"], cached["mean"], cached["baseline"]
    on_disk = len(ep0)  # rows the cache file holds already
    longer = known is not None and known.stride == stride and len(known) > len(ep0)
    if known is not None and longer and is_prefix(known.epochs, wanted):
        ep0, me0, ba0 = known.epochs, known.means, known.baselines
    todo = wanted[len(ep0) :]
    stop = should_stop or (lambda: False)
    eps: list[int] = [int(e) for e in ep0]
    mes, bas = list(me0), list(ba0)
    done = 0
    for e in todo:
        if stop():
            break
        res = an.at(int(e))
        eps.append(int(e))
        mes.append(res.means())
        bas.append(res.baselines())
        done += 1
        if on_progress is not None:
            on_progress(_hist(eps, mes, bas, stride, False, done))
    hist = _hist(eps, mes, bas, stride, done == len(todo), done)
    if use_cache and len(hist) > on_disk:
        rows = {"epoch": hist.epochs, "mean": hist.means, "baseline": hist.baselines}
        write_rows(session, key, {**attrs, "levels": ",".join(LEVELS)}, rows, on_disk)
    return hist


def _hist(
    eps: list[Any], mes: list[Any], bas: list[Any], stride: int, complete: bool, done: int
) -> DegeneracyHistory:
    return DegeneracyHistory(
        np.asarray(eps, np.int64),
        np.asarray(mes, np.float64).reshape(-1, 3),
        np.asarray(bas, np.float64).reshape(-1, 3),
        stride,
        complete,
        done,
    )
