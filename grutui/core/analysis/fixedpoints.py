"""Fixed points of the hidden dynamics ``h ↦ F(h, x)`` for a held input ``x``.

What a trained GRU remembers lives in its fixed points: the flip-flop's 2^N memory
states are stable points of the zero-input map, the adding problem's accumulator a
line of slow points. They are found as in Sussillo & Barak (2013): minimise
``q(h) = ½‖F(h, x) − h‖²`` from many starts (the typed sequence's states and seeded
random states in (−1, 1)^H, where a GRU's states live), here by Levenberg–Marquardt on
the residual, batched over starts, in float64 through the one gate function. Converged
points are merged and classified by the eigenvalues of the map's Jacobian ∂F/∂h:
stable when every |λ| < 1, unstable when every |λ| > 1, else a saddle (with that many
unstable directions). Numpy only: it runs in the debugger's worker at the cursor epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from grutui.core.gru import GRUWeights, gru_step_jacobian
from grutui.core.numfmt import json_number

KINDS = ("stable", "saddle", "unstable")
TOLERANCE = 1e-9  # max |F(h) − h| of a fixed point (float64)
MERGE = 1e-6  # two converged starts closer than this (max norm) are one point
# |λ| within this of 1 counts as not unstable: a line attractor's eigenvalue is 1
# up to rounding
MARGIN = 1e-6
DEFAULT_RANDOM_STARTS = 64
MAX_ITER = 100


@dataclass(frozen=True)
class FixedPoint:
    h: np.ndarray  # (H,) float64
    residual: float  # max |F(h, x) − h|
    eigenvalues: np.ndarray  # of ∂F/∂h at h, complex, largest |λ| first
    starts: int  # how many starts converged to it

    @property
    def unstable_dims(self) -> int:
        """Directions that grow under the map (|λ| > 1)."""
        return int(np.count_nonzero(np.abs(self.eigenvalues) > 1 + MARGIN))

    @property
    def kind(self) -> str:
        u = self.unstable_dims
        return "stable" if u == 0 else "unstable" if u == len(self.eigenvalues) else "saddle"

    @property
    def max_modulus(self) -> float:
        """The slowest direction's |λ| (near 1: a slow, memory-like direction)."""
        return float(np.abs(self.eigenvalues[0])) if len(self.eigenvalues) else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "h": self.h.tolist(),
            "residual": self.residual,
            "unstable_dims": self.unstable_dims,
            "max_abs_eigenvalue": self.max_modulus,
            "eigenvalues": [[float(v.real), float(v.imag)] for v in self.eigenvalues],
            "starts": self.starts,
        }


@dataclass(frozen=True)
class FixedPoints:
    """The fixed points found for one held input, stable first."""

    x: np.ndarray  # (D,) the held model input
    points: tuple[FixedPoint, ...]
    starts: int  # starts tried
    unconverged: int  # starts that ended on no fixed point (slow points, divergence)
    hidden: int
    # the smallest max |F(h) − h| any start reached: with no fixed point found, how
    # slow the slowest state is (a unit saturated by a strong input creeps towards ±1)
    slowest: float = float("nan")

    def count(self, kind: str) -> int:
        return sum(p.kind == kind for p in self.points)

    def nearest(self, h: np.ndarray) -> tuple[int, float]:
        """The index of the fixed point nearest ``h`` (Euclidean) and its distance;
        (−1, inf) when there is none."""
        if not self.points:
            return -1, float("inf")
        d = np.linalg.norm(np.stack([p.h for p in self.points]) - np.asarray(h, np.float64), axis=1)
        i = int(np.argmin(d))
        return i, float(d[i])

    def projection(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """2-D coordinates of ``states`` (T, H) and of the fixed points, on the two
        principal axes of both together (what a flat picture of the dynamics shows):
        (T, 2) and (P, 2). One dimension or one point: the second axis is zero."""
        states = np.asarray(states, np.float64).reshape(-1, self.hidden)
        pts = np.stack([p.h for p in self.points]) if self.points else states[:0]
        both = np.concatenate([states, pts])
        if not len(both):
            return np.zeros((0, 2)), np.zeros((0, 2))
        centred = both - both.mean(axis=0)
        _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
        axes = np.zeros((2, both.shape[1]))
        axes[: min(2, len(vt))] = vt[:2]
        xy = centred @ axes.T
        return xy[: len(states)], xy[len(states) :]

    def summary(self) -> str:
        """One line: how many of each kind."""
        parts = [f"{self.count(k)} {k}" for k in KINDS if self.count(k)]
        if parts:
            return ", ".join(parts)
        if math.isfinite(self.slowest):
            return f"none found (the slowest state moves {self.slowest:.1e} a step)"
        return "none found"

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.x.tolist(),
            "starts": self.starts,
            "unconverged": self.unconverged,
            "slowest": json_number(self.slowest),
            "points": [p.to_json() for p in self.points],
        }


def as_float64(weights: GRUWeights) -> GRUWeights:
    return GRUWeights(
        *(np.asarray(getattr(weights, f.name), np.float64) for f in fields(GRUWeights))
    )


def find_fixed_points(
    weights: GRUWeights,
    x: np.ndarray,
    states: np.ndarray | None = None,
    random_starts: int = DEFAULT_RANDOM_STARTS,
    seed: int = 0,
    max_iter: int = MAX_ITER,
) -> FixedPoints:
    """The fixed points of ``h ↦ F(h, x)`` reached from ``states`` (S, H) (e.g. a
    trajectory), the origin and ``random_starts`` seeded uniform states."""
    w = as_float64(weights)
    hs = w.hidden_size
    x64 = np.asarray(x, np.float64).reshape(-1)
    rng = np.random.default_rng(seed)
    starts = [np.zeros((1, hs)), rng.uniform(-1, 1, (random_starts, hs))]
    if states is not None and len(states):
        starts.insert(0, np.asarray(states, np.float64).reshape(-1, hs))
    h = np.concatenate(starts)
    n_starts = len(h)
    if not all(np.isfinite(getattr(w, f.name)).all() for f in fields(GRUWeights)):
        return FixedPoints(x64, (), n_starts, n_starts, hs)
    h = _levenberg_marquardt(w, x64, h, max_iter)
    found = h[np.isfinite(h).all(axis=1)]
    slowest = math.nan
    if len(found):
        f, _ = gru_step_jacobian(w, x64, found)
        speed = np.abs(f - found).max(axis=1)
        slowest = float(speed.min())
        found = found[(speed < TOLERANCE) & (np.abs(found).max(axis=1) <= 1.0)]
    points = _merge(w, x64, found)
    return FixedPoints(x64, points, n_starts, n_starts - len(found), hs, slowest)


def _levenberg_marquardt(w: GRUWeights, x: np.ndarray, h: np.ndarray, max_iter: int) -> np.ndarray:
    """Minimise ½‖F(h) − h‖² for every row of ``h`` at once (damping per row); rows
    that turn non-finite become NaN."""
    hs = w.hidden_size
    eye = np.eye(hs)
    mu = np.full(len(h), 1e-2)
    f, jac = gru_step_jacobian(w, x, h)
    g = f - h
    q = 0.5 * (g * g).sum(axis=1)
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            active = np.abs(g).max(axis=1) >= TOLERANCE
            active &= np.isfinite(q) & (mu < 1e12)
            if not active.any():
                break
            jg = jac[active] - eye
            jt = np.swapaxes(jg, 1, 2)
            a = jt @ jg + mu[active, None, None] * eye
            rhs = -(jt @ g[active][:, :, None])[:, :, 0]
            try:
                step = np.linalg.solve(a, rhs[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:  # a NaN row: drop it
                h[active] = np.nan
                break
            # a GRU's states stay in [−1, 1]^H (h' mixes h and tanh); outside it a
            # saturated update gate (z = 1 in float64) fakes a fixed point anywhere
            trial = np.clip(h[active] + step, -1.0, 1.0)
            f_t, jac_t = gru_step_jacobian(w, x, trial)
            g_t = f_t - trial
            q_t = 0.5 * (g_t * g_t).sum(axis=1)
            better = q_t < q[active]
            idx = np.flatnonzero(active)
            take = idx[better]
            h[take], g[take], q[take] = trial[better], g_t[better], q_t[better]
            jac[take] = jac_t[better]
            mu[take] *= 0.3
            mu[idx[~better]] *= 4.0
    return h


def _merge(w: GRUWeights, x: np.ndarray, found: np.ndarray) -> tuple[FixedPoint, ...]:
    """One ``FixedPoint`` per cluster of converged starts, stable first."""
    reps: list[np.ndarray] = []
    counts: list[int] = []
    for h in found:
        for i, r in enumerate(reps):
            if np.abs(r - h).max() < MERGE:
                counts[i] += 1
                break
        else:
            reps.append(h)
            counts.append(1)
    if not reps:
        return ()
    hs = np.stack(reps)
    f, jac = gru_step_jacobian(w, x, hs)
    points = []
    for h, fh, j, c in zip(hs, f, jac, counts, strict=True):
        ev = np.linalg.eigvals(j)
        ev = ev[np.argsort(-np.abs(ev), kind="stable")]
        points.append(FixedPoint(h, float(np.abs(fh - h).max()), ev, c))
    points.sort(key=lambda p: (KINDS.index(p.kind), tuple(np.round(p.h, 6))))
    return tuple(points)
