"""The one GRU gate function (numpy, float32), PyTorch's equations and gate order.

    r  = σ(W_ir x + b_ir + W_hr h + b_hr)
    z  = σ(W_iz x + b_iz + W_hz h + b_hz)
    n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h' = (1 − z) ⊙ n + z ⊙ h

``gru_trace`` returns every intermediate term for a batch, so the debugger, the
analyses and the trainer's reference check all use the same arithmetic. It needs no
torch: browsing and debugging start fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from grutui.core.layout import PARAM_NAMES

GATES = ("r", "z", "n")
MEMBER_BLOCK = 2**18  # float32 gate terms (members × sequences × 3H) of one block: ~1 MB


@dataclass(frozen=True)
class GRUWeights:
    w_ih: np.ndarray  # (3H, I), rows r, z, n
    w_hh: np.ndarray  # (3H, H)
    b_ih: np.ndarray  # (3H,)
    b_hh: np.ndarray  # (3H,)
    w_out: np.ndarray  # (O, H)
    b_out: np.ndarray  # (O,)

    @property
    def hidden_size(self) -> int:
        return int(self.w_hh.shape[-1])

    @property
    def input_size(self) -> int:
        return int(self.w_ih.shape[-1])

    @classmethod
    def stack(cls, members: Sequence[GRUWeights]) -> GRUWeights:
        """K models as one: matrices (K, rows, cols), biases (K, 1, n), so the step
        function runs every member at once on states (K, B, H)."""
        stacked = (np.stack([getattr(m, f.name) for m in members]) for f in fields(cls))
        return cls(*(a if a.ndim == 3 else a[:, None, :] for a in stacked))

    @classmethod
    def from_params(cls, params: Mapping[str, np.ndarray]) -> GRUWeights:
        """From a ``{pytorch parameter name: array}`` mapping (a state dict)."""
        missing = [n for n in PARAM_NAMES if n not in params]
        if missing:
            raise KeyError(f"missing parameters: {', '.join(missing)}")
        a = [np.asarray(params[n], dtype=np.float32) for n in PARAM_NAMES]
        return cls(*a)

    def gate(self, gate: str) -> dict[str, np.ndarray]:
        """The blocks of one gate: ``W_i``, ``W_h``, ``b_i``, ``b_h``."""
        k = GATES.index(gate)
        hs = self.hidden_size
        sl = slice(k * hs, (k + 1) * hs)
        return {
            "W_i": self.w_ih[sl],
            "W_h": self.w_hh[sl],
            "b_i": self.b_ih[sl],
            "b_h": self.b_hh[sl],
        }


@dataclass
class GateTrace:
    """Every term of one gate for a batch: arrays of shape (B, T, H)."""

    input: np.ndarray  # W_i x + b_i
    hidden: np.ndarray  # W_h h_{t-1} + b_h
    pre: np.ndarray  # pre-activation (for n: input + r ⊙ hidden)
    act: np.ndarray  # σ(pre) or tanh(pre)


@dataclass
class Trace:
    r: GateTrace
    z: GateTrace
    n: GateTrace
    h: np.ndarray  # (B, T, H) hidden state after each step
    h0: np.ndarray  # (B, H)
    output: np.ndarray  # (B, O) read-out at the last valid step
    lengths: np.ndarray  # (B,)

    def gate(self, name: str) -> GateTrace:
        trace: GateTrace = getattr(self, name)
        return trace

    @property
    def gated_hidden_n(self) -> np.ndarray:
        """``r ⊙ (W_hn h + b_hn)``: the hidden contribution to n's pre-activation."""
        return self.r.act * self.n.hidden


def sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a large positive number overflows to inf and 1/(1+inf) is the right 0;
    # silence only that warning.
    with np.errstate(over="ignore"):
        out: np.ndarray = np.float32(1.0) / (np.float32(1.0) + np.exp(-x))
    return out


def _cell(weights: GRUWeights, gi: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, ...]:
    """One step of the gate equations for a batch; ``gi`` (B, 3H) holds the input terms
    ``W_i x + b_i``. Returns every term: (i_r, h_r, i_z, h_z, i_n, h_n, r, z, n_pre, n, h').
    Stacked weights (``GRUWeights.stack``) step K models at once: ``gi`` (K, B, 3H),
    ``h`` (K, B, H)."""
    hs = weights.hidden_size
    gh = h @ np.swapaxes(weights.w_hh, -1, -2) + weights.b_hh
    i_r, i_z, i_n = gi[..., :hs], gi[..., hs : 2 * hs], gi[..., 2 * hs :]
    h_r, h_z, h_n = gh[..., :hs], gh[..., hs : 2 * hs], gh[..., 2 * hs :]
    r = sigmoid(i_r + h_r)
    z = sigmoid(i_z + h_z)
    n_pre = i_n + r * h_n
    n = np.tanh(n_pre)
    h = (np.float32(1.0) - z) * n + z * h
    return i_r, h_r, i_z, h_z, i_n, h_n, r, z, n_pre, n, h


def gru_trace(
    weights: GRUWeights,
    x: np.ndarray,
    lengths: np.ndarray | None = None,
    h0: np.ndarray | None = None,
) -> Trace:
    """Run the GRU on ``x`` (B, T, I) — already scaled model input — keeping every term.

    ``lengths`` (B,) selects the step whose hidden state feeds the read-out (default:
    the last). Steps past a sequence's length are computed but do not affect its output.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    b, t, _ = x.shape
    hs = weights.hidden_size
    if lengths is None:
        lengths = np.full(b, t, dtype=np.int64)
    h = np.zeros((b, hs), np.float32) if h0 is None else np.asarray(h0, np.float32).copy()
    h_start = h.copy()
    # the input terms of every step at once: (B, T, 3H)
    gi = x @ weights.w_ih.T + weights.b_ih
    shape = (b, t, hs)
    terms = {k: np.empty(shape, np.float32) for k in ("ri", "rh", "zi", "zh", "ni", "nh")}
    pre = {g: np.empty(shape, np.float32) for g in GATES}
    act = {g: np.empty(shape, np.float32) for g in GATES}
    hist = np.empty(shape, np.float32)
    for step in range(t):
        i_r, h_r, i_z, h_z, i_n, h_n, r, z, n_pre, n, h = _cell(weights, gi[:, step], h)
        for key, val in (
            ("ri", i_r),
            ("rh", h_r),
            ("zi", i_z),
            ("zh", h_z),
            ("ni", i_n),
            ("nh", h_n),
        ):
            terms[key][:, step] = val
        pre["r"][:, step] = i_r + h_r
        pre["z"][:, step] = i_z + h_z
        pre["n"][:, step] = n_pre
        act["r"][:, step], act["z"][:, step], act["n"][:, step] = r, z, n
        hist[:, step] = h
    last = hist[np.arange(b), np.asarray(lengths) - 1]
    output = last @ weights.w_out.T + weights.b_out
    return Trace(
        r=GateTrace(terms["ri"], terms["rh"], pre["r"], act["r"]),
        z=GateTrace(terms["zi"], terms["zh"], pre["z"], act["z"]),
        n=GateTrace(terms["ni"], terms["nh"], pre["n"], act["n"]),
        h=hist,
        h0=h_start,
        output=output,
        lengths=np.asarray(lengths),
    )


def gru_step_jacobian(
    weights: GRUWeights, x: np.ndarray, h: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One step from states ``h`` (B, H) with input ``x`` (D,) or (B, D), and its
    Jacobian ∂h'/∂h (B, H, H), from the same step function as ``gru_trace``. Computes
    in the weights' dtype (float64 weights give float64: fixed points need it)::

        ∂r = r(1−r) W_hr,  ∂z = z(1−z) W_hz
        ∂n = (1−n²) (r W_hn + (W_hn h + b_hn) ∂r)
        ∂h' = (1−z) ∂n + (h − n) ∂z + diag(z)
    """
    hs = weights.hidden_size
    h = np.asarray(h, weights.w_hh.dtype)
    gi = np.asarray(x, weights.w_ih.dtype) @ weights.w_ih.T + weights.b_ih
    gi = np.broadcast_to(gi, (h.shape[0], 3 * hs))
    _ir, _hr, _iz, _hz, _in, h_n, r, z, _npre, n, h_next = _cell(weights, gi, h)
    w_r, w_z, w_n = (weights.w_hh[k * hs : (k + 1) * hs] for k in range(3))
    d_r = (r * (1 - r))[:, :, None] * w_r
    d_z = (z * (1 - z))[:, :, None] * w_z
    d_n = (1 - n * n)[:, :, None] * (r[:, :, None] * w_n + h_n[:, :, None] * d_r)
    jac = (1 - z)[:, :, None] * d_n + (h - n)[:, :, None] * d_z
    jac[:, np.arange(hs), np.arange(hs)] += z
    return h_next, jac


def gru_states(
    members: Sequence[GRUWeights], x: np.ndarray, lengths: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Several models on the same input ``x`` (B, T, I): every hidden state (K, B, T, H)
    and the read-outs (K, B, O) at ``lengths`` − 1, members stepped together through the
    step function (K per-member traces cost K times the Python per step), a block of
    about ``MEMBER_BLOCK`` gate terms at a time: 64 members × 64 sequences at hidden 64
    in one block (3 MB arrays, mapped afresh at every step) take twice as long."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    b, t, _ = x.shape
    k, hs = len(members), members[0].hidden_size
    lens = np.full(b, t, dtype=np.int64) if lengths is None else np.asarray(lengths, np.int64)
    hist = np.empty((k, b, t, hs), np.float32)
    outputs = []
    per = max(1, MEMBER_BLOCK // (b * 3 * hs))
    for m in range(0, k, per):
        w = GRUWeights.stack(members[m : m + per])
        w_i = np.swapaxes(w.w_ih, -1, -2)
        h = np.zeros((len(w_i), b, hs), np.float32)
        for step in range(t):
            h = _cell(w, x[:, step] @ w_i + w.b_ih, h)[-1]
            hist[m : m + per, :, step] = h
        last = hist[m : m + per, np.arange(b), lens - 1]  # (K, B, H)
        outputs.append(last @ np.swapaxes(w.w_out, -1, -2) + w.b_out)
    return hist, np.concatenate(outputs)


def gru_output(weights: GRUWeights, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Only the read-out (B, O), through the same step function as ``gru_trace``.

    Keeps no per-step terms and steps only the sequences still running (rows sorted by
    length), which makes it 2–3× faster than ``gru_trace`` on a batch of mixed lengths
    (the OOD grid, recomputed on every cursor move). Results agree with
    ``gru_trace(...).output`` up to float32 rounding of the matrix products.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    b, t, _ = x.shape
    lens = np.full(b, t, dtype=np.int64) if lengths is None else np.asarray(lengths, np.int64)
    order = np.argsort(-lens, kind="stable")  # longest first: running rows are a prefix
    xs, ls = x[order], lens[order]
    gi = xs @ weights.w_ih.T + weights.b_ih
    h = np.zeros((b, weights.hidden_size), np.float32)
    last = np.zeros_like(h)
    for step in range(int(ls.max(initial=0))):
        running = int(np.count_nonzero(ls > step))
        h = h[:running]
        h = _cell(weights, gi[:running, step], h)[-1]
        done = running - int(np.count_nonzero(ls > step + 1))
        last[running - done : running] = h[running - done :]
    out = np.empty((b, weights.w_out.shape[0]), np.float32)
    out[order] = last @ weights.w_out.T + weights.b_out
    return out
