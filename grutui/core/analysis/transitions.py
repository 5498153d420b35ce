"""Transition finder: candidate moments in training, each with its evidence.

Four detectors, each returning ``Transition(epoch, kind, score, detail)``:

* ``loss_curvature``: peaks of |d²/de² log(train loss)| after Gaussian smoothing
  (σ in epochs). The log makes a drop from 1e-1 to 1e-2 weigh like one from 1e-3 to
  1e-4 — loss curves span decades and the late, small changes are the interesting
  ones. The series is extended by odd reflection at both ends (a straight line stays
  straight), so the edges show no curvature that the data does not have; the first
  epochs really do have the largest accelerations (background §1). Negative curvature
  = the loss starts falling faster, positive = a drop levels off.
* ``weight_velocity``: peaks of ‖Δθ‖ per epoch between consecutive snapshots (all
  parameters together; the first step is measured from the initial weights when the
  session has them).
* ``sign_change``: an individual weight crossing zero; score = how far it was on both
  sides (the smaller of the largest |θ| before and after), so jitter around zero
  scores ~0 and a weight that really flipped scores high.
* ``ood_jump``: any OOD grid cell whose success rate moves by at least a threshold
  between consecutive evaluated epochs (needs an ``OODHistory``).
* ``train_accuracy`` / ``test_accuracy`` (classification): the first epoch at which
  accuracy reaches a level (99 %). The epochs between the two are the grokking delay
  (``accuracy_gap``): memorised, not yet generalised.

Scores of the first two are ratios to the series' median (how exceptional a peak is;
peaks under ``min_score`` are dropped); sign changes are in weight units and OOD jumps
in success-rate units; accuracy markers score the accuracy reached.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grutui.core.analysis.history import OODHistory
from grutui.core.gru import GATES
from grutui.core.layout import PARAM_NAMES
from grutui.core.runview import RunView
from grutui.core.tasks import Feature

KINDS = (
    "loss_curvature",
    "weight_velocity",
    "sign_change",
    "ood_jump",
    "train_accuracy",
    "test_accuracy",
)
DEFAULT_SIGMA = 5.0
DEFAULT_TOP = 8
DEFAULT_OOD_JUMP = 0.25
# ratio-to-median below which a curvature or velocity peak is ordinary (a random walk
# in weight space has velocity peaks of ~1.01–1.5× its median; SGD noise likewise)
DEFAULT_MIN_SCORE = 2.0
BLOCK_ELEMENTS = 4 << 20  # weights × snapshots processed at once (float64: 32 MB)
ACCURACY_LEVEL = 0.99  # the accuracy markers' level: "memorised" and "generalised"


@dataclass(frozen=True)
class Transition:
    epoch: int
    kind: str  # one of KINDS
    score: float
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "kind": self.kind, "score": self.score, "detail": self.detail}


# -- signals -----------------------------------------------------------------------------


def gaussian_smooth(y: np.ndarray, sigma: float, extra: int = 0) -> np.ndarray:
    """Gaussian smoothing (σ in samples, kernel ±4σ) of ``y`` extended by odd reflection
    about its end points; ``extra`` more smoothed samples are returned at each end."""
    y = np.asarray(y, np.float64)
    r = max(1, math.ceil(4 * sigma)) if sigma > 0 else 0
    pad = np.pad(y, r + extra, mode="reflect", reflect_type="odd") if len(y) > 1 else y
    if r == 0 or len(y) < 2:
        return pad
    j = np.arange(-r, r + 1)
    k = np.exp(-0.5 * (j / sigma) ** 2)
    k /= k.sum()
    return np.convolve(pad, k, mode="valid")


def loss_curvature(loss: np.ndarray, sigma: float) -> np.ndarray:
    """d²/de² of the smoothed log loss (per epoch²), same length as ``loss``. With the
    odd reflection the curvature at the two end points is 0 by construction."""
    y = np.log(np.asarray(loss, np.float64))
    if len(y) < 3:
        return np.zeros(len(y))
    s = gaussian_smooth(y, sigma, extra=1)
    return s[2:] - 2 * s[1:-1] + s[:-2]


def peaks(signal: np.ndarray, radius: int, top: int) -> list[int]:
    """Indices of local maxima (strictly above the ``radius`` samples to the left, at
    least the ones to the right), the ``top`` largest, ascending by index."""
    s = np.asarray(signal, np.float64)
    found = []
    for i in range(len(s)):
        if not s[i] > 0:
            continue
        left = s[max(0, i - radius) : i]
        right = s[i + 1 : i + 1 + radius]
        if (len(left) and s[i] <= left.max()) or (len(right) and s[i] < right.max()):
            continue
        found.append(i)
    found.sort(key=lambda i: (-s[i], i))
    return sorted(found[:top])


def _ratio(v: float, ref: np.ndarray) -> float:
    med = float(np.median(ref)) if len(ref) else 0.0
    return v / med if med > 0 else math.inf


def input_columns(features: Sequence[Feature]) -> list[str]:
    """A name per input unit: a continuous feature's name, ``name=j`` for token j."""
    cols: list[str] = []
    for f in features:
        cols += [f"{f.name}={j}" for j in range(f.vocab)] if f.kind == "token" else [f.name]
    return cols


def weight_labels(
    param_shapes: dict[str, tuple[int, ...]], columns: Sequence[str] = ("value", "flag")
) -> list[str]:
    """A readable name per scalar weight, in flattening order (PARAM_NAMES first);
    ``columns`` names the input units (``input_columns``; the adding problem's by
    default)."""
    hs = param_shapes["gru.weight_hh_l0"][1] if "gru.weight_hh_l0" in param_shapes else 1
    cols = columns
    labels = []
    for name in _ordered(param_shapes):
        shape = param_shapes[name]
        for idx in np.ndindex(*shape):
            g = GATES[idx[0] // hs] if name.startswith("gru.") and idx else ""
            i = idx[0] % hs if idx else 0
            if name == "gru.weight_ih_l0":
                c = cols[idx[1]] if idx[1] < len(cols) else str(idx[1])
                labels.append(f"W_i{g}[{i},{c}]")
            elif name == "gru.weight_hh_l0":
                labels.append(f"W_h{g}[{i},{idx[1]}]")
            elif name == "gru.bias_ih_l0":
                labels.append(f"b_i{g}[{i}]")
            elif name == "gru.bias_hh_l0":
                labels.append(f"b_h{g}[{i}]")
            elif name == "linear.weight":
                several = shape[0] > 1  # one output unit: the adding problem's labels
                labels.append(f"w_out[{idx[0]},{idx[1]}]" if several else f"w_out[{idx[1]}]")
            elif name == "linear.bias":
                labels.append(f"b_out[{idx[0]}]" if shape[0] > 1 else "b_out")
            else:
                labels.append(f"{name}{list(idx)}")
    return labels


def _ordered(names: Iterable[str]) -> list[str]:
    names = list(names)
    return [n for n in PARAM_NAMES if n in names] + sorted(n for n in names if n not in PARAM_NAMES)


def flat_weights(session: RunView, member: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """(S, P) all parameters per snapshot (float32, as stored), and the initial weights
    (P,) if recorded."""
    names = _ordered(session.param_names)
    hist = np.concatenate(
        [
            session.weight_history(n, member).reshape(len(session.snapshot_epochs), -1)
            for n in names
        ],
        axis=1,
    ).astype(np.float32, copy=False)
    init = session.initial_weights(member)
    flat0 = None
    if init is not None and all(n in init for n in names):
        flat0 = np.concatenate([np.ravel(init[n]) for n in names]).astype(np.float32)
    return hist, flat0


def _column_blocks(
    flat: np.ndarray, initial: np.ndarray | None
) -> Iterator[tuple[int, np.ndarray]]:
    """(first column, float64 block with the initial row on top if given), a few MB each:
    a hidden-64 run has ~13k weights × thousands of snapshots."""
    rows = flat.shape[0] + (initial is not None)
    size = max(1, BLOCK_ELEMENTS // max(1, rows))
    for c in range(0, flat.shape[1], size):
        blk = flat[:, c : c + size].astype(np.float64)
        if initial is not None:
            blk = np.vstack([np.asarray(initial[c : c + size], np.float64)[None], blk])
        yield c, blk


# -- detectors ---------------------------------------------------------------------------


def loss_transitions(
    epochs: np.ndarray,
    loss: np.ndarray,
    sigma: float = DEFAULT_SIGMA,
    top: int = DEFAULT_TOP,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[Transition]:
    loss = np.asarray(loss, np.float64)
    ok = np.isfinite(loss) & (loss > 0)
    n = int(np.argmin(ok)) if not ok.all() else len(loss)  # the finite prefix
    if n < 3:
        return []
    d2 = loss_curvature(loss[:n], sigma)
    mag = np.abs(d2)
    out = []
    for i in peaks(mag, max(1, round(sigma)), top):
        if _ratio(float(mag[i]), mag) < min_score:
            continue
        what = "loss starts falling faster" if d2[i] < 0 else "loss drop levels off"
        if d2[i] > 0 and i and loss[i] > loss[i - 1]:
            what = "loss turns upward"
        out.append(
            Transition(
                int(epochs[i]),
                "loss_curvature",
                _ratio(float(mag[i]), mag),
                f"{what}: d²log(loss)/de² = {d2[i]:+.3g} (σ={sigma:g})",
            )
        )
    return out


def velocity_transitions(
    epochs: np.ndarray,
    flat: np.ndarray,
    initial: np.ndarray | None = None,
    sigma: float = DEFAULT_SIGMA,
    top: int = DEFAULT_TOP,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[Transition]:
    epochs = np.asarray(epochs, np.int64)
    if initial is not None:
        gaps = np.diff(np.concatenate([[epochs[0] - 1], epochs]))
        at = epochs
    else:
        gaps = np.diff(epochs)
        at = epochs[1:]
    if len(at) < 1:
        return []
    sq = np.zeros(len(at))
    for _, blk in _column_blocks(flat, initial):
        sq += (np.diff(blk, axis=0) ** 2).sum(axis=1)
    v = np.sqrt(sq) / np.maximum(gaps, 1)
    spacing = float(np.median(gaps)) if len(gaps) else 1.0
    radius = max(1, round(sigma / max(spacing, 1.0)))
    out = []
    for i in peaks(v, radius, top):
        if _ratio(float(v[i]), v) < min_score:
            continue
        span = f"epochs {at[i] - gaps[i]}→{at[i]}" if gaps[i] > 1 else f"epoch {at[i]}"
        out.append(
            Transition(
                int(at[i]),
                "weight_velocity",
                _ratio(float(v[i]), v),
                f"‖Δθ‖ = {v[i]:.3g} per epoch ({span}; median {np.median(v):.3g})",
            )
        )
    return out


def sign_change_transitions(
    epochs: np.ndarray,
    flat: np.ndarray,
    labels: Sequence[str],
    initial: np.ndarray | None = None,
    top: int = DEFAULT_TOP,
) -> list[Transition]:
    epochs = np.asarray(epochs, np.int64)
    at = np.concatenate([[-1], epochs]) if initial is not None else epochs
    found: list[tuple[float, int, int]] = []  # (score, row, weight)
    values: dict[int, tuple[float, float]] = {}
    for c0, blk in _column_blocks(flat, initial):
        # carry the last non-zero sign forward, so 0 → ± (a bias leaving 0) is no change
        filled = np.sign(blk)
        for s in range(1, len(filled)):
            zero = filled[s] == 0
            filled[s, zero] = filled[s - 1, zero]
        change = (filled[1:] * filled[:-1]) < 0
        # every flip at once, in (weight, row) order; a flip's score is the smaller of
        # the largest |w| in the stretch before it and in the stretch after it (up to the
        # neighbouring flips), read off one max-reduction over the stretches
        pp, rr = np.nonzero(change.T)
        if not len(pp):
            continue
        rows = rr + 1
        n = len(blk)
        mags = np.abs(blk).T.ravel()  # weight-major: weight p's rows at p·n …
        pos = pp * n + rows
        starts = np.unique(np.concatenate([np.arange(blk.shape[1]) * n, pos]))
        stretch_max = np.maximum.reduceat(mags, starts)
        k = np.searchsorted(starts, pos)
        before, after = stretch_max[k - 1], stretch_max[k]
        scores = np.where(after < before, after, before)  # min(before, after), nan as min()
        olds, news = blk[rows - 1, pp], blk[rows, pp]
        for sc, r, w, o, nw in zip(
            scores.tolist(),
            rows.tolist(),
            (c0 + pp).tolist(),
            olds.tolist(),
            news.tolist(),
            strict=True,
        ):
            found.append((sc, r, w))
            values[len(found) - 1] = (o, nw)
    order = sorted(range(len(found)), key=lambda i: (-found[i][0], found[i][1], found[i][2]))
    out = []
    for i in order[:top]:
        score, row, w = found[i]
        old, new = values[i]
        out.append(
            Transition(int(at[row]), "sign_change", score, f"{labels[w]} {old:+.3g} → {new:+.3g}")
        )
    return out


def ood_transitions(history: OODHistory, threshold: float = DEFAULT_OOD_JUMP) -> list[Transition]:
    if len(history) < 2:
        return []
    delta = np.diff(history.success, axis=0)
    out = []
    for s in range(len(delta)):
        hit = np.flatnonzero(np.abs(delta[s]) >= threshold)
        if not len(hit):
            continue
        hit = hit[np.argsort(-np.abs(delta[s, hit]), kind="stable")]
        parts = []
        for j in hit:
            verb = "learnt" if delta[s, j] > 0 else "lost"
            parts.append(f"{verb} {history.axes.tag(*history.cells[j])} {delta[s, j]:+.2f}")
        out.append(
            Transition(
                int(history.epochs[s + 1]),
                "ood_jump",
                float(np.abs(delta[s, hit]).max()),
                f"since epoch {history.epochs[s]}: " + ", ".join(parts),
            )
        )
    return out


def accuracy_transitions(
    epochs: np.ndarray,
    train_acc: np.ndarray,
    test_acc: np.ndarray,
    level: float = ACCURACY_LEVEL,
) -> list[Transition]:
    """The first epoch each of train and test accuracy reaches ``level`` (none for a
    series that never does, or has no value: a regression task)."""
    out = []
    for which, acc in (("train", train_acc), ("test", test_acc)):
        acc = np.asarray(acc, np.float64)
        hit = np.flatnonzero(np.isfinite(acc) & (acc >= level))
        if len(hit):
            i = int(hit[0])
            out.append(
                Transition(
                    int(epochs[i]),
                    f"{which}_accuracy",
                    float(acc[i]),
                    f"{which} accuracy reaches {level:.0%} ({acc[i]:.2%})",
                )
            )
    return out


@dataclass(frozen=True)
class AccuracyGap:
    """When train and test accuracy first reach ``level``; the epochs between are the
    grokking delay (None where one never did)."""

    level: float
    train_epoch: int | None
    test_epoch: int | None

    @property
    def delay(self) -> int | None:
        if self.train_epoch is None or self.test_epoch is None:
            return None
        return self.test_epoch - self.train_epoch

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "train_epoch": self.train_epoch,
            "test_epoch": self.test_epoch,
            "delay": self.delay,
        }

    def describe(self) -> str:
        """One line, e.g. ``train accuracy reached 99 % at epoch 582, test accuracy at
        epoch 4921: a grokking delay of 4339 epochs``."""
        lv = f"{self.level:.0%}"
        if self.train_epoch is None and self.test_epoch is None:
            return f"neither train nor test accuracy reached {lv}"
        if self.test_epoch is None:
            return f"train accuracy reached {lv} at epoch {self.train_epoch}, test accuracy not"
        if self.train_epoch is None:
            return f"test accuracy reached {lv} at epoch {self.test_epoch}, train accuracy not"
        return (
            f"train accuracy reached {lv} at epoch {self.train_epoch}, test accuracy at "
            f"epoch {self.test_epoch}: a grokking delay of {self.delay} epochs"
        )


def accuracy_gap(
    session: RunView, member: int = 0, level: float = ACCURACY_LEVEL
) -> AccuracyGap | None:
    """``AccuracyGap`` of one member; None when the run records no accuracy (a
    regression task, or a session written before accuracy was)."""
    m = session.metrics
    train, test = m.train_acc[:, member], m.test_acc[:, member]
    if not (np.isfinite(train).any() or np.isfinite(test).any()):
        return None
    found = {t.kind: t.epoch for t in accuracy_transitions(m.epoch, train, test, level)}
    return AccuracyGap(level, found.get("train_accuracy"), found.get("test_accuracy"))


def find_transitions(
    session: RunView,
    member: int = 0,
    sigma: float = DEFAULT_SIGMA,
    ood: OODHistory | None = None,
    top: int = DEFAULT_TOP,
    ood_threshold: float = DEFAULT_OOD_JUMP,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[Transition]:
    """Every detector on one member of ``session``, sorted by epoch (then kind)."""
    session.check_member(member)
    out: list[Transition] = []
    m = session.metrics
    if session.n_epochs:
        out += loss_transitions(m.epoch, m.train_loss[:, member], sigma, top, min_score)
        out += accuracy_transitions(m.epoch, m.train_acc[:, member], m.test_acc[:, member])
    if len(session.snapshot_epochs):
        flat, init = flat_weights(session, member)
        labels = weight_labels(session.param_shapes, input_columns(session.config.task.features()))
        out += velocity_transitions(session.snapshot_epochs, flat, init, sigma, top, min_score)
        out += sign_change_transitions(session.snapshot_epochs, flat, labels, init, top)
    if ood is not None:
        out += ood_transitions(ood, ood_threshold)
    return sorted(out, key=lambda t: (t.epoch, KINDS.index(t.kind), -t.score))


# -- markers -----------------------------------------------------------------------------


def marker_epochs(markers: Iterable[Transition | int]) -> np.ndarray:
    """Unique sorted epochs of a list of transitions (or plain epochs)."""
    eps = [m.epoch if isinstance(m, Transition) else int(m) for m in markers]
    return np.unique(np.asarray(eps, np.int64))


def next_marker(markers: Iterable[Transition | int], epoch: int) -> int | None:
    """The first marker strictly after ``epoch`` (None at the end)."""
    eps = marker_epochs(markers)
    i = int(np.searchsorted(eps, epoch, side="right"))
    return int(eps[i]) if i < len(eps) else None


def previous_marker(markers: Iterable[Transition | int], epoch: int) -> int | None:
    """The last marker strictly before ``epoch`` (None at the start)."""
    eps = marker_epochs(markers)
    i = int(np.searchsorted(eps, epoch, side="left")) - 1
    return int(eps[i]) if i >= 0 else None
