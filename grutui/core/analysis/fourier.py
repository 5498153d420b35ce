"""Fourier circles in the token embedding (the survival-of-the-fittest study).

A network learning modular addition places its tokens on circles at a few Fourier
frequencies. grutui's models read a token one-hot, so the token embedding ``E`` is the
input weights' token columns, ``W_ih[:, token columns]`` transposed: (vocab p, 3·hidden).
With ``F = FFT(E, axis=tokens)`` the signal of frequency ``k`` is ``S(k) = ‖F[k]‖₂`` for
``k = 1..⌊p/2⌋`` (``k`` and ``p − k`` carry the same signal); a frequency whose signal
exceeds twice the mean is a *circle*.

- ``fourier_at``: the spectrum at one epoch (microseconds: one FFT of a p × 3H matrix);
- ``survival_history``: the spectrum at every snapshot, with each frequency's initial
  signal and initial gradient (the training loss's gradient w.r.t. ``E`` before
  training, projected on the frequency), cached in ``analysis.h5`` (its own group) and
  extended incrementally as a live run grows;
- ``circle_points``: the tokens projected on one frequency's two components (cos, sin).

Cache layout (``grutui.core.analysis.rowcache``; beside the other analyses' groups)::

    analysis.h5
      fourier/member{M}/            attrs: fingerprint, vocab, column, grad_seed, rows
        epoch             int64   (R,)     snapshot epochs, a prefix of the run's
        signal            float64 (R, K)
      fourier/member{M}_initial/    the same attrs; one row (epoch -1)
        initial_signal, initial_gradient, initial_growth   float64 (1, K)

numpy only (the gradient is a hand-written backward pass through ``grutui.core.gru``'s
gate function, checked against torch's autograd in the tests): no torch, textual or rich.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grutui.core.analysis.rowcache import cache_path, fingerprint, is_prefix, read_rows, write_rows
from grutui.core.config import TrainConfig
from grutui.core.errors import ConfigError
from grutui.core.gru import GRUWeights, Trace, gru_trace
from grutui.core.numfmt import json_number
from grutui.core.runview import RunView
from grutui.core.tasks import Feature, make_datasets, task_label

CIRCLE_FACTOR = 2.0  # a circle: signal above this many times the mean signal
W_IH = "gru.weight_ih_l0"
GRAD_CHUNK = 4096  # samples per forward/backward chunk (one-hot inputs of a large p add up)


# -- where the embedding is ---------------------------------------------------------------


@dataclass(frozen=True)
class TokenColumns:
    """The token feature whose one-hot columns of ``W_ih`` are the embedding."""

    feature: Feature
    start: int  # its first input column

    @property
    def vocab(self) -> int:
        return self.feature.vocab

    @property
    def frequencies(self) -> np.ndarray:
        """k = 1..⌊p/2⌋."""
        return np.arange(1, self.vocab // 2 + 1)


def token_columns(config: TrainConfig) -> TokenColumns | None:
    """The first token input feature with at least two frequencies to compare, or None."""
    start = 0
    for f in config.task.features():
        if f.kind == "token" and f.vocab >= 4:
            return TokenColumns(f, start)
        start += f.size
    return None


def unavailable(config: TrainConfig) -> str | None:
    """None when the Fourier analysis applies to ``config``'s task, else why not (one line)."""
    if token_columns(config) is None:
        label = task_label(config.task)
        return f"the Fourier analysis needs a token input feature (task {label!r} has none)"
    return None


def require_columns(config: TrainConfig) -> TokenColumns:
    cols = token_columns(config)
    if cols is None:
        raise ConfigError(str(unavailable(config)))
    return cols


def embedding(w_ih: np.ndarray, cols: TokenColumns) -> np.ndarray:
    """``W_ih`` (…, 3H, D) → the token embedding (…, p, 3H)."""
    block = np.asarray(w_ih, np.float64)[..., cols.start : cols.start + cols.vocab]
    return np.swapaxes(block, -1, -2)


# -- the spectrum -------------------------------------------------------------------------


def frequency_projection(emb: np.ndarray) -> np.ndarray:
    """FFT over tokens, frequencies 1..⌊p/2⌋: (…, K, d) complex."""
    p = emb.shape[-2]
    out: np.ndarray = np.fft.rfft(emb, axis=-2)[..., 1 : p // 2 + 1, :]
    return out


def signal(emb: np.ndarray) -> np.ndarray:
    """``S(k) = ‖FFT(E, axis=tokens)[k]‖₂`` for k = 1..⌊p/2⌋; ``emb`` is (…, p, d)."""
    with np.errstate(invalid="ignore"):  # a diverged run's NaN weights give NaN signals
        out: np.ndarray = np.linalg.norm(frequency_projection(emb), axis=-1)
    return out


def threshold(sig: np.ndarray) -> np.ndarray:
    """The circle threshold: ``CIRCLE_FACTOR`` × the mean signal (over the last axis)."""
    out: np.ndarray = CIRCLE_FACTOR * np.mean(sig, axis=-1)
    return out


def circles(sig: np.ndarray) -> np.ndarray:
    """Which frequencies are circles (bool, the shape of ``sig``)."""
    out: np.ndarray = sig > threshold(sig)[..., None]
    return out


@dataclass(frozen=True)
class Spectrum:
    """The signal per frequency at one epoch."""

    epoch: int
    member: int
    vocab: int
    signal: np.ndarray  # (K,) for k = 1..K

    @property
    def frequencies(self) -> np.ndarray:
        return np.arange(1, len(self.signal) + 1)

    @property
    def threshold(self) -> float:
        return float(threshold(self.signal))

    @property
    def circles(self) -> np.ndarray:
        return circles(self.signal)

    @property
    def circle_frequencies(self) -> list[int]:
        return [int(k) for k in self.frequencies[self.circles]]

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "member": self.member,
            "p": self.vocab,
            "threshold": json_number(self.threshold),
            "circles": self.circle_frequencies,
            "frequencies": [
                {"k": int(k), "signal": json_number(s), "circle": bool(c)}
                for k, s, c in zip(self.frequencies, self.signal, self.circles, strict=True)
            ],
        }


def spectrum_of(
    params: dict[str, np.ndarray], cols: TokenColumns, epoch: int, member: int
) -> Spectrum:
    return Spectrum(epoch, member, cols.vocab, signal(embedding(params[W_IH], cols)))


def fourier_at(run: RunView, epoch: int | str = "last", member: int = 0) -> Spectrum:
    """The spectrum at the latest snapshot at or before ``epoch``."""
    cols = require_columns(run.config)
    run.check_member(member)
    e = run.resolve_epoch(epoch)
    snap = int(run.snapshot_epochs[run.snapshot_index(e)])
    return spectrum_of(run.weights(snap, member), cols, snap, member)


# -- the circle of one frequency --------------------------------------------------------------


def circle_points(emb: np.ndarray, k: int) -> np.ndarray:
    """The tokens (p, 2) projected on frequency ``k``'s two components: the real (cos)
    and imaginary (sin) parts of ``F[k]``, made orthonormal (Gram–Schmidt, so the plot's
    axes are true lengths), after centring the tokens. A pure frequency-``k`` embedding
    gives a circle, token ``a`` at angle ∓2πka/p."""
    e = np.asarray(emb, np.float64)
    p = e.shape[0]
    if not 1 <= k <= p // 2:
        raise ConfigError(f"frequency must be in 1..{p // 2}, got {k}")
    e = e - e.mean(axis=0)
    phase = 2 * np.pi * k * np.arange(p) / p
    u = np.cos(phase) @ e
    v = -np.sin(phase) @ e
    basis: list[np.ndarray] = []
    for vec in (u, v):
        for b in basis:
            vec = vec - (vec @ b) * b
        n = float(np.linalg.norm(vec))
        basis.append(vec / n if n > 1e-12 else np.zeros_like(vec))
    out: np.ndarray = e @ np.stack(basis, axis=1)
    return out


# -- the initial gradient ------------------------------------------------------------------


def embedding_gradient(params: dict[str, np.ndarray], config: TrainConfig, seed: int) -> np.ndarray:
    """∂(training loss)/∂E (p, 3H) at ``params``: the loss the engines minimise (mean
    cross-entropy, or mean squared error on scaled targets) over the whole training set
    drawn from ``seed``. The forward pass is ``gru_trace`` (float32, as trained); the
    backward pass through time is ``_backward`` (float64)."""
    cols = require_columns(config)
    train, _test = make_datasets(config.task, seed)
    out = config.task.output()
    w = GRUWeights.from_params(params)
    n = len(train)
    # encode a chunk at a time where the data can be cut (a whole large set one-hot is GBs)
    subset = getattr(train, "subset", None)
    full = train.model_input() if subset is None else None
    grad_w_ih = np.zeros(w.w_ih.shape)
    for lo in range(0, n, GRAD_CHUNK):
        sl = slice(lo, min(n, lo + GRAD_CHUNK))
        x = full[sl] if full is not None else subset(sl).model_input()  # type: ignore[misc]
        tr = gru_trace(w, x, np.asarray(train.lengths[sl], np.int64))
        logits = np.asarray(tr.output, np.float64)
        if out.kind == "classification":
            z = logits - logits.max(axis=1, keepdims=True)
            prob = np.exp(z)
            prob /= prob.sum(axis=1, keepdims=True)
            prob[np.arange(len(prob)), np.asarray(train.y[sl], np.int64)] -= 1.0
            d_out = prob / n
        else:
            target = np.asarray(train.y[sl], np.float64).reshape(len(logits), -1) / out.scale
            d_out = 2.0 * (logits - target) / (n * logits.shape[1])
        d_gi = _backward(w, tr, d_out)  # (B, T, 3H)
        xs = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
        grad_w_ih += d_gi.reshape(-1, d_gi.shape[-1]).T @ xs
    return embedding(grad_w_ih, cols)


def _backward(w: GRUWeights, tr: Trace, d_out: np.ndarray) -> np.ndarray:
    """∂loss/∂(W_ih x_t + b_ih) per sample and step (B, T, 3H), given ∂loss/∂output."""
    b, t, hs = tr.h.shape
    d_last = d_out @ np.asarray(w.w_out, np.float64)  # (B, H): into the read-out's step
    w_hh = np.asarray(w.w_hh, np.float64)
    d_gi = np.zeros((b, t, 3 * hs))
    dh = np.zeros((b, hs))
    for step in range(t - 1, -1, -1):
        dh = dh + np.where((tr.lengths - 1 == step)[:, None], d_last, 0.0)
        h_prev = tr.h[:, step - 1] if step > 0 else tr.h0
        r, z, nn = tr.r.act[:, step], tr.z.act[:, step], tr.n.act[:, step]
        h_n = tr.n.hidden[:, step]
        d_n = dh * (1 - z)
        d_z = dh * (h_prev - nn)
        d_npre = d_n * (1 - nn * nn)
        d_rpre = d_npre * h_n * r * (1 - r)
        d_zpre = d_z * z * (1 - z)
        d_gi[:, step] = np.concatenate([d_rpre, d_zpre, d_npre], axis=1)
        d_gh = np.concatenate([d_rpre, d_zpre, d_npre * r], axis=1)
        dh = dh * z + d_gh @ w_hh
    return d_gi


def initial_terms(
    params: dict[str, np.ndarray], config: TrainConfig, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frequency at ``params``: the signal S(k), the gradient's signal ‖FFT(∂L/∂E)[k]‖
    and the growth rate of S(k) under a gradient-descent step, −Re⟨F[k], G[k]⟩ / S(k)
    (positive: descent strengthens that circle)."""
    cols = require_columns(config)
    emb = embedding(params[W_IH], cols)
    f = frequency_projection(emb)
    g = frequency_projection(embedding_gradient(params, config, seed))
    sig = np.linalg.norm(f, axis=-1)
    grad = np.linalg.norm(g, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = -np.real(np.sum(f * np.conj(g), axis=-1)) / sig
    return sig, grad, np.nan_to_num(growth)


# -- survival over epochs --------------------------------------------------------------------


@dataclass(frozen=True)
class Rank:
    """One frequency's start beside its fate."""

    k: int
    initial_signal: float
    signal_rank: int  # 1 = strongest at the start
    initial_gradient: float
    gradient_rank: int
    initial_growth: float
    final_signal: float
    circle_at_start: bool
    survived: bool  # a circle at the last epoch

    def to_json(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "initial_signal": json_number(self.initial_signal),
            "signal_rank": self.signal_rank,
            "initial_gradient": json_number(self.initial_gradient),
            "gradient_rank": self.gradient_rank,
            "initial_growth": json_number(self.initial_growth),
            "final_signal": json_number(self.final_signal),
            "circle_at_start": self.circle_at_start,
            "survived": self.survived,
        }


@dataclass
class Survival:
    """The signal of every frequency at every snapshot, and where each started."""

    epochs: np.ndarray  # (R,) snapshot epochs, ascending
    signal: np.ndarray  # (R, K)
    initial_signal: np.ndarray  # (K,) before training (the first snapshot when unrecorded)
    initial_gradient: np.ndarray  # (K,)
    initial_growth: np.ndarray  # (K,)
    vocab: int
    member: int = 0
    computed: int = 0  # rows computed by this call (the rest came from the cache)

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def frequencies(self) -> np.ndarray:
        return np.arange(1, self.signal.shape[1] + 1)

    def row(self, epoch: int) -> int:
        """The row of the latest snapshot at or before ``epoch`` (0 before the first)."""
        return max(0, int(np.searchsorted(self.epochs, epoch, side="right")) - 1)

    @property
    def ratio(self) -> np.ndarray:
        """(R, K): each signal over its epoch's circle threshold (> 1: a circle)."""
        out: np.ndarray = self.signal / threshold(self.signal)[:, None]
        return out

    def ranking(self) -> list[Rank]:
        """Every frequency, strongest initial signal first, with its fate at the last
        snapshot."""
        k = len(self.initial_signal)
        final = self.signal[-1] if len(self) else np.zeros(k)
        survived = circles(final) if len(self) else np.zeros(k, bool)
        at_start = circles(self.initial_signal)
        s_rank = _ranks(self.initial_signal)
        g_rank = _ranks(self.initial_gradient)
        order = np.argsort(s_rank)
        return [
            Rank(
                int(i + 1),
                float(self.initial_signal[i]),
                int(s_rank[i]),
                float(self.initial_gradient[i]),
                int(g_rank[i]),
                float(self.initial_growth[i]),
                float(final[i]),
                bool(at_start[i]),
                bool(survived[i]),
            )
            for i in order
        ]

    def summary(self) -> dict[str, Any]:
        """The study's claim in numbers: how many circles at the start and at the end,
        how many of the ``n`` survivors were among the ``n`` strongest at the start by
        signal and by gradient (chance: n²/K), and the rank correlation of the initial
        signal and gradient with the last signal."""
        ranks = self.ranking()
        surv = [r for r in ranks if r.survived]
        n, kk = len(surv), len(ranks)
        final = self.signal[-1] if len(self) else np.zeros(kk)
        return {
            "frequencies": kk,
            "circles_at_start": sum(r.circle_at_start for r in ranks),
            "circles_at_end": n,
            "survivors": sorted(r.k for r in surv),
            "survivors_in_top_signal": sum(r.signal_rank <= n for r in surv),
            "survivors_in_top_gradient": sum(r.gradient_rank <= n for r in surv),
            "chance": n * n / kk if kk else 0.0,
            "survivor_signal_ranks": sorted(r.signal_rank for r in surv),
            "survivor_gradient_ranks": sorted(r.gradient_rank for r in surv),
            # the graded claim, with or without circles: does a stronger start end stronger?
            "spearman_signal": spearman(self.initial_signal, final),
            "spearman_gradient": spearman(self.initial_gradient, final),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "p": self.vocab,
            "epochs": [int(e) for e in self.epochs],
            "signal": [[json_number(v) for v in row] for row in self.signal],
            "ranking": [r.to_json() for r in self.ranking()],
            "summary": self.summary(),
        }


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation of ``a`` and ``b`` (None when either is constant or
    not finite: a diverged run)."""
    ra, rb = _ranks(a).astype(float), _ranks(b).astype(float)
    ra -= ra.mean()
    rb -= rb.mean()
    den = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    if not (np.isfinite(a).all() and np.isfinite(b).all()) or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float((ra * rb).sum() / den)


def _ranks(values: np.ndarray) -> np.ndarray:
    """1 for the largest value, ties broken by frequency."""
    order = np.argsort(-np.asarray(values), kind="stable")
    ranks = np.empty(len(order), np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def group_name(member: int) -> str:
    return f"fourier/member{member}"


INITIAL = ("initial_signal", "initial_gradient", "initial_growth")


def survival_history(
    run: RunView,
    member: int = 0,
    *,
    use_cache: bool = True,
    previous: Survival | None = None,
) -> Survival:
    """The spectrum at every snapshot of ``run`` and the initial terms. Only snapshots
    past what the cache (``use_cache``) or else ``previous`` (the last result for a run
    growing in memory) already hold are computed, when those are a prefix of the
    snapshots."""
    cols = require_columns(run.config)
    run.check_member(member)
    wanted = np.asarray(run.snapshot_epochs, np.int64)
    if not len(wanted):
        raise ConfigError(f"{run.name}: no weight snapshots recorded yet")
    seeds = run.config.member_seeds
    seed = seeds[member] if len(seeds) == run.members else run.config.seed
    attrs: dict[str, Any] = {}
    if use_cache:
        attrs = {"fingerprint": fingerprint(run), "vocab": cols.vocab, "column": cols.start}
        attrs["grad_seed"] = seed
    prior = _read_cache(run, member, attrs, cols) if use_cache else previous
    if prior is not None and (prior.member != member or prior.vocab != cols.vocab):
        prior = None
    start = len(prior.epochs) if prior is not None and is_prefix(prior.epochs, wanted) else 0
    if start:
        assert prior is not None
        init = (prior.initial_signal, prior.initial_gradient, prior.initial_growth)
        old = prior.signal
    else:
        params = run.initial_weights(member) or run.weights(int(wanted[0]), member)
        init = initial_terms(params, run.config, seed)
        old = np.zeros((0, len(cols.frequencies)))
    new = signal(embedding(run.weight_history(W_IH, member)[start : len(wanted)], cols))
    surv = Survival(
        wanted,
        np.concatenate([old, new]),
        *init,
        vocab=cols.vocab,
        member=member,
        computed=len(new),
    )
    if use_cache and not start:  # the initial terms: one row, once per run
        one: dict[str, np.ndarray] = {"epoch": np.array([-1], np.int64)}
        one |= {n: np.asarray(v, np.float64)[None] for n, v in zip(INITIAL, init, strict=True)}
        write_rows(run, group_name(member) + "_initial", attrs, one, 0)
    if use_cache and (len(new) or not start):
        rows = {"epoch": surv.epochs, "signal": np.asarray(surv.signal, np.float64)}
        write_rows(run, group_name(member), attrs, rows, start)
    return surv


def _read_cache(
    run: RunView, member: int, attrs: dict[str, Any], cols: TokenColumns
) -> Survival | None:
    path = cache_path(run)
    rows = read_rows(path, group_name(member), attrs, ("signal",))
    init = read_rows(path, group_name(member) + "_initial", attrs, INITIAL)
    if rows is None or init is None or len(init["epoch"]) != 1:
        return None
    sig0, grad0, growth0 = (np.asarray(init[n][0]) for n in INITIAL)
    return Survival(
        np.asarray(rows["epoch"]),
        np.asarray(rows["signal"]),
        sig0,
        grad0,
        growth0,
        vocab=cols.vocab,
        member=member,
    )
