"""The fast trainer: K models (an ensemble of seeds) as batched tensors, no autograd.

``train_fast(config, should_stop)`` yields the same ``EpochRecord``s as the reference
trainer (``grutui.core.train``), with one member per seed in ``config.member_seeds``.

Why it is fast: a tiny GRU's epoch is a few million flops spread over ~30 steps × 4
time steps, so the cost is per-op overhead, not arithmetic. This path

* keeps the data resident on the device and batches by slicing a per-epoch permuted
  copy (no DataLoader, no collation);
* runs a hand-written GRU forward and backward-through-time over stacked parameters
  (``torch.bmm`` over the member axis), ~100 small ops per step for any K, under
  ``no_grad`` (no autograd graph), writing into a preallocated workspace;
* keeps all parameters of a member in one flat row of a (K, P) tensor, so gradient
  clipping and Adam are a handful of ops for all members at once;
* never syncs with the host inside an epoch: losses accumulate on the device and are
  read (with the weights) once per epoch, when the record is emitted;
* on a GPU, draws the next epoch's shuffles on host threads while the device trains
  (``Shuffles``) and replays an epoch's full batches as one captured CUDA graph
  (``EpochGraph``): there the cost is kernel launches, not maths.

Same maths as the reference: PyTorch's GRU equations, the task's input size D and
output size O, its loss (MSE on target / scale, or cross-entropy), per-member global
grad-norm clipping (``clip_grad_norm_``'s formula), Adam with L2 weight decay (torch's
single-tensor update), and ReduceLROnPlateau replayed per member on the host. Each
member draws its random numbers exactly as the reference run with its seed would: data
from numpy, init from torch, then each epoch the DataLoader iterator's base seed, the
RandomSampler's seed and its ``randperm`` (plus the test loader's base seed on evaluation
epochs). So member k follows the single reference run with seed k up to float rounding
(summation order differs), tested at ≤1e-5.

Divergence: a member whose train or test loss is not finite gets a ``diverged`` event
(with ``member`` when K > 1) and is frozen (no more updates, NaN losses afterwards); the
run stops, with ``EpochRecord.diverged`` set, once every member has diverged — for
K = 1 exactly the reference behaviour.

Resume: every record carries a ``TrainState(engine="fast")`` (``capture_fast``): flat
parameters, Adam moments and step, per-member learning rates, plateau counters, live
flags and generator states. ``train_fast(..., resume=state)`` continues from it
bit-identically to an uninterrupted run (same ops on the same values in the same order).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from grutui.core.config import TrainConfig
from grutui.core.errors import ConfigError, SessionError
from grutui.core.layout import PARAM_NAMES, param_shapes
from grutui.core.records import REFERENCE_TOLERANCE, EpochRecord, reference_error
from grutui.core.resources import member_bytes
from grutui.core.state import TrainState
from grutui.core.tasks import TaskData, make_datasets

# Adam's default betas (the config's default), its epsilon; clip_grad_norm_'s epsilon
BETA1, BETA2, ADAM_EPS, CLIP_EPS = 0.9, 0.999, 1e-8, 1e-6
# ReduceLROnPlateau defaults the reference relies on
PLATEAU_THRESHOLD, PLATEAU_EPS = 1e-4, 1e-8


def member_init(config: TrainConfig, seed: int) -> tuple[dict[str, np.ndarray], torch.Generator]:
    """Seed ``seed``'s initial weights and a generator holding torch's RNG state right
    after the model was built — where the reference run's DataLoader draws start."""
    from grutui.core.model import initial_params

    gen = torch.Generator()
    gen.manual_seed(seed)  # torch.manual_seed(seed)'s stream, on a generator of its own
    params = initial_params(config.input_size, config.hidden, config.output_size, config.init, gen)
    return params, gen


class LoaderDraws:
    """The reference DataLoaders' consumption of one member's torch RNG."""

    def __init__(self, gen: torch.Generator) -> None:
        self.gen = gen

    def _draw(self) -> int:
        return int(torch.empty((), dtype=torch.int64).random_(generator=self.gen).item())

    def train_epoch(self, n: int) -> torch.Tensor:
        """The order a shuffling loader visits ``n`` samples in this epoch."""
        self._draw()  # the iterator's base seed (_BaseDataLoaderIter)
        sampler = torch.Generator()
        sampler.manual_seed(self._draw())  # RandomSampler without a generator
        return torch.randperm(n, generator=sampler)

    def test_pass(self) -> None:
        self._draw()  # iterating the (unshuffled) test loader draws a base seed too


# None: draw the next epoch's shuffles ahead on host threads on a GPU only (there K
# randperms cost about as much as the epoch); tests force it on to check it on the CPU
PREFETCH: bool | None = None


class Shuffles:
    """Every member's sample order, epoch by epoch, drawn as the reference loaders draw:
    the training shuffle, then on evaluation epochs the test pass's base seed.

    A run that goes on past an evaluation epoch has evaluated (a run whose members all
    diverged stops), so the draws are known ahead. With ``ahead`` the next epoch's are
    drawn on a host thread while the device trains, the members split over ``workers``
    threads (parallel as far as torch's ops release the GIL). ``take`` also returns the
    members' generator states after the epoch's draws: what the epoch's resume state
    must hold, whatever the prefetch has drawn since."""

    def __init__(
        self,
        draws: list[LoaderDraws],
        n: int,
        eval_every: int,
        first_epoch: int,
        device: torch.device,
        ahead: bool,
    ) -> None:
        self.draws, self.n, self.eval_every, self.device = draws, n, eval_every, device
        self._next: Future[tuple[torch.Tensor, np.ndarray]] | None = None
        self._ahead: ThreadPoolExecutor | None = None
        self._chunks: list[list[LoaderDraws]] = [draws]
        self._pool: ThreadPoolExecutor | None = None
        if ahead:
            workers = max(1, min(8, (os.cpu_count() or 1) - 1, len(draws) // 64))
            size = -(-len(draws) // workers)
            self._chunks = [draws[i : i + size] for i in range(0, len(draws), size)]
            self._pool = ThreadPoolExecutor(workers) if workers > 1 else None
            self._ahead = ThreadPoolExecutor(1)
            self._next = self._ahead.submit(self._draw, first_epoch)

    def _chunk(self, draws: list[LoaderDraws], evaluates: bool) -> torch.Tensor:
        perm = torch.stack([d.train_epoch(self.n) for d in draws])
        if evaluates:
            for d in draws:
                d.test_pass()
        return perm

    def _draw(self, epoch: int) -> tuple[torch.Tensor, np.ndarray]:
        evaluates = epoch % self.eval_every == 0
        if self._pool is not None:
            parts = [self._pool.submit(self._chunk, c, evaluates) for c in self._chunks]
            perm = torch.cat([f.result() for f in parts])
        else:
            perm = self._chunk(self.draws, evaluates)
        states = np.stack([d.gen.get_state().numpy() for d in self.draws])
        if self.device.type == "cuda":
            perm = perm.pin_memory()
        return perm, states

    def take(self, epoch: int) -> tuple[torch.Tensor, np.ndarray]:
        """Epoch ``epoch``'s orders (K, N) on the device, and the generator states after
        its draws."""
        if self._ahead is None or self._next is None:
            perm, states = self._draw(epoch)
        else:
            perm, states = self._next.result()
            self._next = self._ahead.submit(self._draw, epoch + 1)
        return perm.to(self.device, non_blocking=True), states

    def settle(self) -> None:
        """Wait for the draw on the host thread, if one runs: its ``pin_memory`` is a CUDA
        call, which no other thread may make while a CUDA graph is being captured."""
        if self._next is not None:
            self._next.result()

    def close(self) -> None:
        for pool in (self._ahead, self._pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class Plateau:
    """``ReduceLROnPlateau(mode="min", threshold_mode="rel", cooldown=0)`` for one member."""

    factor: float
    patience: int
    min_lr: float
    best: float = math.inf
    bad: int = 0

    def step(self, metric: float, lr: float) -> float:
        if metric < self.best * (1.0 - PLATEAU_THRESHOLD):
            self.best, self.bad = metric, 0
        else:
            self.bad += 1
        if self.bad > self.patience:
            self.bad = 0
            new = max(lr * self.factor, self.min_lr)
            if lr - new > PLATEAU_EPS:
                return new
        return lr


def _stack_data(
    sets: list[TaskData], t_max: int, d: int, scale: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members' data with features before samples, written in place (one pass: an
    ensemble's data is gigabytes): rows (K, D·T + Y, N) holding the model inputs (each
    input unit right-padded to ``t_max`` steps) and the Y target rows / ``scale`` (the
    blog's scaling; the class as a number when ``scale`` is None; Y = 1 but for a
    regression of several outputs), raw targets (K, Y, N) and lengths (K, N)."""
    k, n = len(sets), len(sets[0])
    ny = _target_rows(sets[0].y)
    rows = np.zeros((k, d * t_max + ny, n), np.float32)
    for i, ds in enumerate(sets):
        inputs = rows[i, : d * t_max].reshape(d, t_max, n)  # a view
        inputs[:, : ds.x.shape[1]] = ds.model_input().transpose(2, 1, 0)
        target = ds.y.reshape(n, ny).T
        rows[i, -ny:] = target if scale is None else target / np.float32(scale)
    y = np.stack([ds.y.reshape(n, ny).T for ds in sets]).astype(np.float32)
    lengths = np.stack([ds.lengths for ds in sets]).astype(np.int64)
    return rows, y, lengths


def _target_rows(y: np.ndarray) -> int:
    """Y: target values per sample (1, or the outputs of a multi-output regression)."""
    return 1 if y.ndim == 1 else int(y.shape[1])


class BatchedGRU:
    """K ``AddingGRU``s as one flat parameter tensor (K, P), with a hand-written
    forward and backward-through-time and a batched Adam step. ``input_size`` D and
    ``output_size`` O come from the task; ``classify``: cross-entropy over the O
    outputs, else MSE.

    Layout: features before batch, batch innermost — inputs (K, D, T, B), states
    (K, H, B), gates (K, 3H, B) — so gate slices and concatenations are contiguous
    blocks and every elementwise op streams over B, however small H is. Op count per
    step matters most (each op costs microseconds of dispatch however small), hence:
    b_hh's r/z part folded into the input projection (one matmul for all steps),
    derivative factors computed once for all time steps, weight gradients one ``bmm``
    over all steps.
    """

    def __init__(
        self,
        flat: torch.Tensor,
        hidden: int,
        input_size: int = 2,
        output_size: int = 1,
        classify: bool = False,
        betas: tuple[float, float] = (BETA1, BETA2),
        decoupled: bool = False,
    ) -> None:
        self.k, self.h = int(flat.shape[0]), hidden
        self.d, self.o, self.classify = input_size, output_size, classify
        # Adam's betas; decoupled: AdamW's weight decay (p ← p·(1 − lr·wd)), else Adam's L2
        self.beta1, self.beta2 = betas
        self.decoupled = decoupled
        self.p = flat
        self.shapes = param_shapes(hidden, input_size, output_size)
        # views of the flat row: Adam's in-place update keeps them current
        self.w_ih, self.w_hh, self.b_ih, self.b_hh, self.w_o, self.b_o = self._split(flat)
        h = hidden
        self.w_hh_rz, self.w_hh_n = self.w_hh[:, : 2 * h], self.w_hh[:, 2 * h :]
        self.w_hh_rz_t, self.w_hh_n_t = self.w_hh_rz.transpose(1, 2), self.w_hh_n.transpose(1, 2)
        self.b_hh_n = self.b_hh[:, 2 * h :].unsqueeze(2)  # (K, H, 1)
        self.w_o_t, self.b_o_u = self.w_o.transpose(1, 2), self.b_o.unsqueeze(2)
        # b_hh's r, z part joins b_ih (b_hh's n part sits inside r ⊙ (W_hn h + b_hn))
        self.rz_mask = torch.cat([flat.new_ones(2 * h), flat.new_zeros(h)])
        self.one = flat.new_ones(())
        # bias + W @ h over the member axis: with one hidden unit the product is an outer
        # product, a broadcast multiply several times cheaper than bmm
        self.mm_h = torch.addcmul if h == 1 else torch.baddbmm
        self.m = torch.zeros_like(flat)
        self.v = torch.zeros_like(flat)
        self.steps = 0
        self._ws: dict[tuple[int, int], dict[str, Any]] = {}
        self._grad = torch.zeros_like(flat)
        self._grad_views = self._split(self._grad)

    def _split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Per-parameter views (K, *shape) of a flat (K, P) tensor."""
        views, o = [], 0
        for shape in self.shapes.values():
            size = int(np.prod(shape))
            views.append(flat[:, o : o + size].view(self.k, *shape))
            o += size
        return views

    # -- maths -----------------------------------------------------------------------
    def _workspace(self, t_len: int, b: int) -> dict[str, Any]:
        """Preallocated activations and gradients for one (T, B) batch shape, with their
        per-step views: the training step writes into them (``out=``) instead of
        stacking and concatenating per-step tensors, which costs more than the maths.
        Reused by every step of that shape (a step's backward is done before the next
        forward)."""
        ws = self._ws.get((t_len, b))
        if ws is not None:
            return ws
        k, hid = self.k, self.h

        def buf(c: int, steps: int = t_len) -> torch.Tensor:
            return self.p.new_zeros(k, c, steps, b)

        hs = buf(hid, t_len + 1)  # h_0 = 0, h_1 .. h_T
        rz, n, ghn, c, a = buf(2 * hid), buf(hid), buf(hid), buf(2 * hid), buf(hid)
        dgi, dghn = buf(3 * hid), buf(hid)  # pre-activation grads [r, z, n]; W_hn h + b_hn
        ws = {
            "hs": hs,
            "rz": rz,
            "n": n,
            "ghn": ghn,
            "c": c,  # [ghn ⊙ r(1 − r), (h_prev − n) ⊙ z(1 − z)]
            "a": a,  # (1 − z)(1 − n²)
            "dgi": dgi,
            "dghn": dghn,
            "h_t": hs.unbind(2),
            "rz_t": rz.unbind(2),
            "r_t": rz[:, :hid].unbind(2),
            "z_t": rz[:, hid:].unbind(2),
            "n_t": n.unbind(2),
            "ghn_t": ghn.unbind(2),
            "cr_t": c[:, :hid].unbind(2),
            "cz_t": c[:, hid:].unbind(2),
            "a_t": a.unbind(2),
            "drz_t": dgi[:, : 2 * hid].unbind(2),
            "dr_t": dgi[:, :hid].unbind(2),
            "dz_t": dgi[:, hid : 2 * hid].unbind(2),
            "dn_t": dgi[:, 2 * hid :].unbind(2),
            "dghn_t": dghn.unbind(2),
        }
        self._ws[(t_len, b)] = ws
        return ws

    def forward(
        self, x: torch.Tensor, last_idx: torch.Tensor | None, keep: bool
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Outputs (K, O, B) for inputs (K, D, T, B); ``last_idx`` (K, H, 1, B) picks
        each sequence's last valid step (None: all have length T). With ``keep`` the
        activations backward() needs are kept (in the workspace) and returned."""
        k, _, t_len, b = x.shape
        hid = self.h
        bias = torch.addcmul(self.b_ih, self.b_hh, self.rz_mask).unsqueeze(2)
        xf = x.reshape(k, self.d, t_len * b)  # a copy unless x is contiguous
        gi = torch.baddbmm(bias, self.w_ih, xf).view(k, 3 * hid, t_len, b)
        gi_rz, gi_n = gi[:, : 2 * hid].unbind(2), gi[:, 2 * hid :].unbind(2)
        act: dict[str, Any] = {"x": xf, "last_idx": last_idx}
        if keep:
            ws = act["ws"] = self._workspace(t_len, b)
            h_t, rz_t, r_t, z_t = ws["h_t"], ws["rz_t"], ws["r_t"], ws["z_t"]
            n_t, ghn_t = ws["n_t"], ws["ghn_t"]
            h = h_t[0]
            for t in range(t_len):
                if t:
                    torch.sigmoid(self.mm_h(gi_rz[t], self.w_hh_rz, h), out=rz_t[t])
                    self.mm_h(self.b_hh_n, self.w_hh_n, h, out=ghn_t[t])
                else:  # h = 0
                    torch.sigmoid(gi_rz[0], out=rz_t[0])
                    ghn_t[0].copy_(self.b_hh_n)
                torch.tanh(torch.addcmul(gi_n[t], r_t[t], ghn_t[t]), out=n_t[t])
                h = torch.lerp(n_t[t], h, z_t[t], out=h_t[t + 1])  # (1 − z) ⊙ n + z ⊙ h
            hall = ws["hs"][:, :, 1:]
        else:
            h = x.new_zeros(k, hid, b)
            hs: list[torch.Tensor] = []
            for t in range(t_len):
                if t:
                    rz = torch.sigmoid(self.mm_h(gi_rz[t], self.w_hh_rz, h))
                    ghn = self.mm_h(self.b_hh_n, self.w_hh_n, h)
                else:
                    rz = torch.sigmoid(gi_rz[0])
                    ghn = self.b_hh_n
                n = torch.tanh(torch.addcmul(gi_n[t], rz.narrow(1, 0, hid), ghn))
                h = torch.lerp(n, h, rz.narrow(1, hid, hid))
                if last_idx is not None:
                    hs.append(h)
            hall = torch.stack(hs, 2) if last_idx is not None else None
        last = h if last_idx is None else hall.gather(2, last_idx).squeeze(2)
        act["last"] = last
        return self.mm_h(self.b_o_u, self.w_o, last), act

    def backward(self, dy: torch.Tensor, act: dict[str, Any]) -> torch.Tensor:
        """Gradient (K, P) of the loss given dL/dy (K, O, B), for the last forward with
        ``keep``. The returned tensor is reused by the next call."""
        xf, last, last_idx, ws = act["x"], act["last"], act["last_idx"], act["ws"]
        k, hid = self.k, self.h
        hs, rz, n, c, a = ws["hs"], ws["rz"], ws["n"], ws["c"], ws["a"]
        t_len, b = n.shape[2], n.shape[3]
        h_prev = hs[:, :, :t_len]
        # derivative factors for all steps at once
        dsig = torch.addcmul(rz, rz, rz, value=-1)  # σ' = s − s²
        torch.mul(ws["ghn"], dsig[:, :hid], out=c[:, :hid])
        torch.mul(h_prev - n, dsig[:, hid:], out=c[:, hid:])
        dtanh = torch.addcmul(self.one, n, n, value=-1)  # 1 − n²
        torch.addcmul(dtanh, rz[:, hid:], dtanh, value=-1, out=a)
        # (K, H, B); one hidden unit and one output: a broadcast multiply, cheaper than bmm
        d_last = torch.bmm(self.w_o_t, dy) if hid > 1 or self.o > 1 else self.w_o_t * dy
        own = None
        if last_idx is not None:
            hall = hs[:, :, 1:]
            own = torch.zeros_like(hall).scatter_(2, last_idx, d_last.unsqueeze(2)).unbind(2)
        z_t, r_t, a_t, cr_t, cz_t = ws["z_t"], ws["r_t"], ws["a_t"], ws["cr_t"], ws["cz_t"]
        dn_t, dr_t, dz_t, drz_t, dghn_t = (
            ws["dn_t"],
            ws["dr_t"],
            ws["dz_t"],
            ws["drz_t"],
            ws["dghn_t"],
        )
        dh = d_last
        for t in reversed(range(t_len)):
            if own is not None:
                dh = own[t] if t == t_len - 1 else dh + own[t]
            dn = torch.mul(dh, a_t[t], out=dn_t[t])
            torch.mul(dn, cr_t[t], out=dr_t[t])
            torch.mul(dh, cz_t[t], out=dz_t[t])
            torch.mul(dn, r_t[t], out=dghn_t[t])
            if t:
                dh = self.mm_h(
                    torch.baddbmm(dh * z_t[t], self.w_hh_rz_t, drz_t[t]), self.w_hh_n_t, dghn_t[t]
                )
        g = self._grad
        gw_ih, gw_hh, gb_ih, gb_hh, gw_o, gb_o = self._grad_views
        dgi = ws["dgi"].view(k, 3 * hid, t_len * b)
        dghn = ws["dghn"].view(k, hid, t_len * b)
        hp_t = h_prev.reshape(k, hid, t_len * b).transpose(1, 2)  # a view
        torch.bmm(dgi, xf.transpose(1, 2), out=gw_ih)
        torch.bmm(dgi[:, : 2 * hid], hp_t, out=gw_hh[:, : 2 * hid])
        torch.bmm(dghn, hp_t, out=gw_hh[:, 2 * hid :])
        torch.sum(dgi, 2, out=gb_ih)
        gb_hh[:, : 2 * hid].copy_(gb_ih[:, : 2 * hid])
        torch.sum(dghn, 2, out=gb_hh[:, 2 * hid :])
        torch.bmm(dy, last.transpose(1, 2), out=gw_o)
        torch.sum(dy, 2, out=gb_o)
        return g

    def adam_step(
        self, g: torch.Tensor, lr: torch.Tensor, weight_decay: float, clip: float | None
    ) -> None:
        """Clip each member's gradient to norm ``clip``, then torch's Adam (or AdamW)
        update with per-member learning rates ``lr`` (K, 1); ``g`` is overwritten."""
        if clip is not None:  # clip_grad_norm_: g × min(1, clip / (‖g‖ + 1e-6))
            norm = torch.linalg.vector_norm(g, dim=1, keepdim=True)
            g.mul_(norm.add_(CLIP_EPS).reciprocal_().mul_(clip).clamp_(max=1.0))
        self.steps += 1
        self._decay(g, lr, weight_decay)
        self.m.lerp_(g, 1 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
        bc1 = 1 - self.beta1**self.steps
        bc2_sqrt = (1 - self.beta2**self.steps) ** 0.5
        # lr/bc1 · m / (√v/√bc2 + eps), with √bc2 moved out of the denominator (one op less)
        denom = self.v.sqrt().add_(ADAM_EPS * bc2_sqrt)
        self.p.addcdiv_(self.m * lr, denom, value=-bc2_sqrt / bc1)

    def _decay(self, g: torch.Tensor, lr: torch.Tensor, weight_decay: float) -> None:
        """Weight decay as torch applies it: Adam adds wd·p to the gradient, AdamW
        shrinks the parameters by 1 − lr·wd before the update."""
        if not weight_decay:
            return
        if self.decoupled:
            self.p.mul_(1 - lr * weight_decay)
        else:
            g.add_(self.p, alpha=weight_decay)

    def adam_step_graphed(
        self,
        g: torch.Tensor,
        lr_step: torch.Tensor,
        eps: torch.Tensor,
        weight_decay: float,
        clip: float | None,
        lr: torch.Tensor,
    ) -> None:
        """``adam_step`` with the step-dependent factors as device tensors, so a CUDA
        graph can replay it: ``lr_step`` (K, 1) = lr·√bc2/bc1 and ``eps`` (0-dim) =
        eps·√bc2 for this step, ``lr`` (K, 1) the epoch's rates (``EpochGraph`` uploads
        them per epoch). The caller
        counts ``steps``. Same maths; rounding differs from ``adam_step`` in the last
        bit (the factor is folded into the learning rate)."""
        if clip is not None:
            norm = torch.linalg.vector_norm(g, dim=1, keepdim=True)
            g.mul_(norm.add_(CLIP_EPS).reciprocal_().mul_(clip).clamp_(max=1.0))
        self._decay(g, lr, weight_decay)
        self.m.lerp_(g, 1 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
        self.p.addcdiv_(self.m * lr_step, self.v.sqrt().add_(eps), value=-1.0)

    def numpy_params(self) -> dict[str, np.ndarray]:
        """Every member's parameters, name → (K, *shape), copied off the device."""
        flat = self.p.detach().to("cpu", copy=True).numpy()
        out, o = {}, 0
        for name, shape in self.shapes.items():
            size = int(np.prod(shape))
            out[name] = flat[:, o : o + size].reshape(self.k, *shape)
            o += size
        return out


def train_step(
    net: BatchedGRU,
    rows: torch.Tensor,
    lengths: torch.Tensor | None,
    running: torch.Tensor,
    t_max: int,
) -> torch.Tensor:
    """Forward and backward of one batch: ``rows`` (K, D·T + Y, B) holds the inputs and
    the scaled targets (or the class), ``lengths`` (K, B) or None; adds the batch's loss
    × B to ``running`` and returns the gradient (K, P) (before clipping)."""
    k = rows.shape[0]
    ny = 1 if net.classify else net.o
    xb = rows[:, :-ny].view(k, net.d, t_max, -1)  # (K, D, T, B)
    li = None if lengths is None else _last_index(lengths, net.h)
    y, act = net.forward(xb, li, keep=True)
    if net.classify:
        # cross-entropy: dL/dlogits = (softmax − one-hot) / B, as CrossEntropyLoss's mean
        labels = rows[:, -1:].long()  # (K, 1, B)
        logp = torch.log_softmax(y, 1)
        running.sub_(logp.gather(1, labels).sum((1, 2)))
        dy = logp.exp_().scatter_add_(1, labels, torch.full_like(rows[:, -1:], -1.0))
        return net.backward(dy.div_(labels.shape[2]), act)
    diff = y - rows[:, -ny:]  # (K, O, B)
    nb = diff.shape[2]
    if ny == 1:
        running.add_(torch.bmm(diff, diff.transpose(1, 2)).view(k))  # MSE × batch
    else:  # MSELoss's mean runs over the outputs too
        running.add_(diff.square().sum((1, 2)).div_(ny))
    return net.backward(diff * (2.0 / (nb * ny)), act)


class GraphUnavailable(RuntimeError):
    """The epoch could not be captured as a CUDA graph; nothing was trained."""


# replay an epoch's full batches as one CUDA graph when every member is live. None: on a
# GPU only; tests set it to compare with eager epochs, or force it on the CPU with the
# capture replaced by a plain call, to check the graphed step's maths there
CUDA_GRAPHS: bool | None = None


class EpochGraph:
    """An epoch's shuffle and full batches, captured once as a CUDA graph and replayed
    every epoch: a hidden-1 epoch is thousands of tiny kernels whose launches, not their
    maths, cost the time.

    Everything the graph touches lives at fixed addresses: the shuffle order is copied
    into ``perm``, the shuffled data gathered into ``xe`` (and ``le``), the losses summed
    into ``running``, and Adam's step-dependent factors read from ``lr_tab``/``eps_tab``
    (one row per batch, uploaded per epoch from the host's step count). The last,
    partial batch (if any) runs eagerly after the replay. Built on first use: one
    warm-up pass on a side stream (the parameters and moments are restored after it),
    then the capture. ``before_capture`` runs first: it must leave no other thread
    calling CUDA (``Shuffles.settle``). A capture that fails raises ``GraphUnavailable``
    with the parameters as they were, and the caller trains eagerly."""

    def __init__(
        self,
        net: BatchedGRU,
        x_tr: torch.Tensor,
        len_tr: torch.Tensor | None,
        batch: int,
        t_max: int,
        weight_decay: float,
        clip: float | None,
        before_capture: Callable[[], None] = lambda: None,
    ) -> None:
        k, n = x_tr.shape[0], x_tr.shape[2]
        self.before_capture = before_capture
        self.net, self.x_tr, self.len_tr = net, x_tr, len_tr
        self.batch, self.t_max, self.wd, self.clip = batch, t_max, weight_decay, clip
        self.full = n // batch
        dev = x_tr.device
        self.perm = torch.zeros(k, n, dtype=torch.int64, device=dev)
        self.xe = torch.empty_like(x_tr)
        self.le = None if len_tr is None else torch.empty_like(len_tr)
        self.running = torch.zeros(k, dtype=torch.float64, device=dev)
        self.lr_tab = torch.zeros(self.full, k, 1, device=dev)
        self.lr_now = torch.zeros(k, 1, device=dev)  # the epoch's rates (AdamW's decay)
        self.eps_tab = torch.zeros(self.full, device=dev)
        self.graph: Any = None  # a torch.cuda.CUDAGraph once built

    def _body(self) -> None:
        torch.gather(self.x_tr, 2, self.perm.unsqueeze(1).expand_as(self.x_tr), out=self.xe)
        if self.le is not None and self.len_tr is not None:
            torch.gather(self.len_tr, 1, self.perm, out=self.le)
        self.running.zero_()
        for b in range(self.full):
            a = b * self.batch
            le = None if self.le is None else self.le[:, a : a + self.batch]
            g = train_step(self.net, self.xe[..., a : a + self.batch], le, self.running, self.t_max)
            self.net.adam_step_graphed(
                g, self.lr_tab[b], self.eps_tab[b], self.wd, self.clip, self.lr_now
            )

    def _build(self) -> Any:
        net = self.net
        saved = [t.clone() for t in (net.p, net.m, net.v)]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self._body()  # warm-up: lazy allocations and library handles outside capture
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self._body()
        finally:  # the warm-up's update undone, the capture's (not run) never made
            for t, s in zip((net.p, net.m, net.v), saved, strict=True):
                t.copy_(s)
        return graph

    def run(self, perm: torch.Tensor, lrs: np.ndarray) -> None:
        """Train the epoch's full batches in the order ``perm`` (K, N) with per-member
        learning rates ``lrs`` (K,); advances ``net.steps`` by ``full``."""
        if self.graph is None:
            self.before_capture()
            try:
                self.graph = self._build()
            except torch.cuda.OutOfMemoryError:
                raise
            except RuntimeError as exc:
                first = str(exc).strip().splitlines()[:1]  # CUDA errors run to several lines
                raise GraphUnavailable(first[0] if first else type(exc).__name__) from exc
        steps = self.net.steps + 1 + np.arange(self.full, dtype=np.float64)
        bc1 = 1 - self.net.beta1**steps
        bc2_sqrt = np.sqrt(1 - self.net.beta2**steps)
        self.perm.copy_(perm)
        self.lr_now.copy_(torch.from_numpy(lrs.astype(np.float32)[:, None]))
        lr_tab = (bc2_sqrt / bc1)[:, None] * lrs[None, :]
        self.lr_tab.copy_(torch.from_numpy(lr_tab.astype(np.float32)[..., None]))
        self.eps_tab.copy_(torch.from_numpy((ADAM_EPS * bc2_sqrt).astype(np.float32)))
        self.graph.replay()
        self.net.steps += self.full


def _last_index(lengths: torch.Tensor, hidden: int) -> torch.Tensor:
    """(K, B) lengths → the (K, H, 1, B) gather index of each sequence's last step."""
    k, b = lengths.shape
    return (lengths - 1).view(k, 1, 1, b).expand(k, hidden, 1, b)


def capture_fast(
    epoch: int,
    wall_time: float,
    net: BatchedGRU,
    lrs: np.ndarray,
    plateaus: list[Plateau],
    alive: np.ndarray,
    rng: np.ndarray,
    seeds: tuple[int, ...],
    diverged: bool,
) -> TrainState:
    """The fast run's state after ``epoch``: everything a later epoch reads.

    Flat parameters and Adam's moments (one device-to-host copy), the shared Adam step
    count, per-member learning rates, plateau counters, live flags and the members' torch
    generator states ``rng`` (K, …) after the epoch's loader draws (shuffles and
    test-pass base seeds; ``Shuffles.take`` gives them). Costs ~1 µs per
    member besides the copy, so it is taken every epoch (as the reference engine does)."""
    pmv = torch.stack([net.p, net.m, net.v]).to("cpu", copy=True).numpy()
    arrays: dict[str, np.ndarray] = {
        "fast/params": pmv[0],
        "fast/exp_avg": pmv[1],
        "fast/exp_avg_sq": pmv[2],
        "fast/lr": lrs.copy(),
        "fast/alive": alive.copy(),
        "fast/rng": rng,
    }
    if plateaus:
        arrays["fast/plateau_best"] = np.array([p.best for p in plateaus], np.float64)
        arrays["fast/plateau_bad"] = np.array([p.bad for p in plateaus], np.int64)
    meta: dict[str, Any] = {"fast": {"seeds": list(seeds), "hidden": net.h, "step": net.steps}}
    if diverged:
        meta["diverged"] = True
    return TrainState(epoch, wall_time, arrays, meta, engine="fast")


def restore_fast(
    state: TrainState,
    net: BatchedGRU,
    lrs: np.ndarray,
    plateaus: list[Plateau],
    alive: np.ndarray,
    draws: list[LoaderDraws],
    seeds: tuple[int, ...],
) -> None:
    """Inverse of ``capture_fast`` onto a freshly built run (in place)."""
    if state.engine != "fast":
        raise SessionError(f"the saved state is for the {state.engine!r} engine, not 'fast'")
    info = state.meta.get("fast")
    if not isinstance(info, dict) or "step" not in info:
        raise SessionError("training state lacks the fast engine's counters")
    if list(info.get("seeds", [])) != list(seeds) or info.get("hidden") != net.h:
        raise SessionError(
            f"training state does not match the config (seeds {info.get('seeds')}, hidden "
            f"{info.get('hidden')}; the config gives {list(seeds)}, {net.h})"
        )
    a = state.arrays
    try:
        want = {
            "fast/params": tuple(net.p.shape),
            "fast/exp_avg": tuple(net.p.shape),
            "fast/exp_avg_sq": tuple(net.p.shape),
            "fast/lr": lrs.shape,
            "fast/alive": alive.shape,
        }
        if plateaus:
            want["fast/plateau_best"] = want["fast/plateau_bad"] = (len(plateaus),)
        for name, shape in want.items():
            if tuple(a[name].shape) != shape:
                raise SessionError(f"training state's {name} is {a[name].shape}, expected {shape}")
        rng = a["fast/rng"]
    except KeyError as exc:
        raise SessionError(f"training state lacks array {exc.args[0]!r}") from None
    if rng.ndim != 2 or rng.shape[0] != len(draws) or rng.dtype != np.uint8:
        raise SessionError(f"training state's fast/rng is {rng.dtype}{rng.shape}")
    with torch.no_grad():  # in place: the parameter views and workspaces stay valid
        for t, name in ((net.p, "params"), (net.m, "exp_avg"), (net.v, "exp_avg_sq")):
            t.copy_(torch.from_numpy(np.asarray(a[f"fast/{name}"], np.float32).copy()))
    net.steps = int(info["step"])
    lrs[:] = a["fast/lr"]
    alive[:] = a["fast/alive"]
    for i, p in enumerate(plateaus):
        p.best, p.bad = float(a["fast/plateau_best"][i]), int(a["fast/plateau_bad"][i])
    for d, s in zip(draws, rng, strict=True):
        d.gen.set_state(torch.from_numpy(s.copy()))


def check_fits(config: TrainConfig, device: torch.device) -> None:
    """Refuse, in one line naming the largest K that fits, an ensemble that would not
    fit in the GPU's free memory (a CUDA out-of-memory traceback says neither)."""
    if device.type != "cuda":
        return
    free, _total = torch.cuda.mem_get_info(device)
    k = len(config.member_seeds)
    if k * member_bytes(config) > free:
        raise ConfigError(out_of_memory(config, device, free))


def out_of_memory(config: TrainConfig, device: torch.device, free: int) -> str:
    from grutui.core.device import device_label

    per = member_bytes(config)
    k = len(config.member_seeds)
    return (
        f"an ensemble of {k} members needs about {k * per / 2**30:.1f} GiB on "
        f"{device_label(device)}, which has {free / 2**30:.1f} GiB free: at most "
        f"{max(0, free // per)} members fit (fewer seeds, or --device cpu)"
    )


def _member_data(config: TrainConfig, seeds: tuple[int, ...]) -> list[tuple[TaskData, TaskData]]:
    """Every member's data sets; several members are generated on threads (each seed has
    its own numpy generator, and the vectorised generator spends its time in numpy)."""
    if len(seeds) < 8:
        return [make_datasets(config.task, s) for s in seeds]
    with ThreadPoolExecutor(min(16, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda s: make_datasets(config.task, s), seeds))


def train_fast(
    config: TrainConfig,
    should_stop: Callable[[], bool] | None = None,
    resume: TrainState | None = None,
) -> Iterator[EpochRecord]:
    """Train one model per seed in ``config.member_seeds``; yield an ``EpochRecord``
    (arrays over the K members) after every epoch.

    With ``resume`` (a ``capture_fast`` state after epoch k) the run is built as a fresh
    one, overwritten from the state, and continues at epoch k+1 with the same numbers
    as an uninterrupted run. A GPU out of memory is a one-line ``ConfigError`` naming
    the largest ensemble that fits."""
    config.validate()
    from grutui.core.device import resolve_device

    device = resolve_device(config, resuming=resume is not None)
    check_fits(config, device)
    free = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 0
    try:
        yield from _train_fast(config, device, should_stop, resume)
    except torch.cuda.OutOfMemoryError:
        raise ConfigError(out_of_memory(config, device, free)) from None


def _train_fast(
    config: TrainConfig,
    device: torch.device,
    should_stop: Callable[[], bool] | None,
    resume: TrainState | None,
) -> Iterator[EpochRecord]:
    from grutui.core.device import ran_on

    stop = should_stop or (lambda: False)
    seeds = config.member_seeds
    k, hid, bs = len(seeds), config.hidden, config.batch_size
    d_in, output = config.input_size, config.task.output()
    classify = output.kind == "classification"
    scale = float(output.scale)

    # set-up in one thread (per-thread setting): a member's init is a few tiny QRs,
    # which extra threads slow down ~10x
    torch.set_num_threads(1)
    inits: list[dict[str, np.ndarray]] = []
    draws: list[LoaderDraws] = []
    for s in seeds:
        params, gen = member_init(config, s)
        inits.append(params)
        draws.append(LoaderDraws(gen))
    data = _member_data(config, seeds)
    trains = [tr for tr, _ in data]
    tests = [te for _, te in data]
    del data
    torch.set_num_threads(config.torch_threads())
    t_max = max(ds.x.shape[1] for ds in trains + tests)
    n_train, n_test = len(trains[0]), len(tests[0])
    # features before samples, (K, D·T + 1, N): an epoch's shuffle is one gather and a
    # batch's inputs a view; the last row is the label / scale (the blog's scaling)
    rows_np, _, len_np = _stack_data(trains, t_max, d_in, None if classify else scale)
    rows_te, yt_np, lent_np = _stack_data(tests, t_max, d_in, None if classify else scale)
    del trains, tests
    fixed = bool(np.all(len_np == t_max) and np.all(lent_np == t_max))
    ny = yt_np.shape[1]
    xt_np = np.ascontiguousarray(rows_te[:, :-ny].reshape(k, d_in, t_max, n_test))

    def dev(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).to(device)

    x_tr = dev(rows_np)
    del rows_np
    len_tr = dev(len_np)
    x_te = dev(xt_np)  # (K, D, T, N)
    y_te = dev(yt_np)
    len_te = dev(lent_np)

    flat0 = np.concatenate([np.stack([p[n] for p in inits]).reshape(k, -1) for n in PARAM_NAMES], 1)
    flat0_t = torch.from_numpy(flat0.astype(np.float32)).to(device)
    net = BatchedGRU(
        flat0_t,
        hid,
        d_in,
        config.output_size,
        classify,
        config.betas,
        decoupled=config.optimizer == "adamw",
    )
    lrs = np.full(k, config.lr, dtype=np.float64)
    plateaus = [
        Plateau(config.plateau_factor, config.plateau_patience, config.min_lr)
        for _ in range(k)
        if config.plateau_factor is not None
    ]
    alive = np.ones(k, dtype=bool)

    def device_lr() -> torch.Tensor:
        # a diverged member trains on with lr 0 (and zeroed moments): frozen
        return torch.from_numpy((lrs * alive).astype(np.float32)[:, None]).to(device)

    tag = k > 1  # events name their member only in ensembles (K = 1 reads as the reference)

    def member(i: int) -> dict[str, Any]:
        return {"member": i} if tag else {}

    probe_n = min(64, n_test)

    def check_reference(params: dict[str, np.ndarray]) -> float:
        """The trainer's guard that grutui's numpy gate function (what the debugger
        shows) computes what was trained, for every live member."""
        with torch.no_grad():
            li = None if fixed else _last_index(len_te[:, :probe_n], hid)
            out = net.forward(x_te[..., :probe_n], li, keep=False)[0].transpose(1, 2).cpu().numpy()
        err = 0.0
        for i in np.flatnonzero(alive):
            p = {n: v[i] for n, v in params.items()}
            x_probe = xt_np[i, ..., :probe_n].transpose(2, 1, 0)  # (B, T, D), as the model sees
            err = max(err, reference_error(p, out[i], x_probe, lent_np[i, :probe_n]))
        if not err <= REFERENCE_TOLERANCE:
            raise RuntimeError(
                f"batched GRU and grutui's gate function disagree by {err:.3g} "
                f"(> {REFERENCE_TOLERANCE:g}): the debugger would show different maths"
            )
        return err

    def evaluate() -> tuple[torch.Tensor, torch.Tensor]:
        """Test loss per member (MSE in raw units, or cross-entropy), in the reference's
        test batches, and (classification) the test accuracy per member."""
        total = torch.zeros(k, dtype=torch.float64, device=device)
        correct = torch.zeros(k, dtype=torch.float64, device=device)
        for a in range(0, n_test, bs):
            xb = x_te[..., a : a + bs]
            li = None if fixed else _last_index(len_te[:, a : a + bs], hid)
            out = net.forward(xb, li, keep=False)[0]
            if classify:
                labels = y_te[..., a : a + bs].long()  # (K, 1, B)
                total -= torch.log_softmax(out, 1).gather(1, labels).sum((1, 2))
                correct += (out.argmax(1) == labels[:, 0]).sum(1)
            elif ny == 1:
                total += (out[:, 0] * scale - y_te[:, 0, a : a + bs]).square().sum(1)
            else:  # the mean over the outputs too, as MSELoss
                total += (out * scale - y_te[..., a : a + bs]).square().sum((1, 2)) / ny
        return total / n_test, correct / n_test

    def train_accuracy() -> torch.Tensor:
        """Accuracy per member on the whole (unshuffled) training set after the epoch."""
        correct = torch.zeros(k, dtype=torch.float64, device=device)
        for a in range(0, n_train, bs):
            rows = x_tr[..., a : a + bs]
            li = None if fixed else _last_index(len_tr[:, a : a + bs], hid)
            out = net.forward(rows[:, :-1].view(k, d_in, t_max, -1), li, keep=False)[0]
            correct += (out.argmax(1) == rows[:, -1].long()).sum(1)
        return correct / n_train

    init_params = net.numpy_params()
    check_reference(init_params)
    first = 0
    start = time.perf_counter()
    if resume is not None:
        restore_fast(resume, net, lrs, plateaus, alive, draws, seeds)
        first = resume.epoch + 1
        start -= resume.wall_time  # wall_time continues, without the time stopped
    lr_t = device_lr()
    alive_t = torch.from_numpy(alive[:, None].copy()).to(device)
    ahead = device.type == "cuda" if PREFETCH is None else PREFETCH
    shuffles = Shuffles(draws, n_train, config.eval_every, first, device, ahead)
    graph = None
    graphs = device.type == "cuda" if CUDA_GRAPHS is None else CUDA_GRAPHS
    if graphs and n_train >= bs:
        len_g = None if fixed else len_tr
        graph = EpochGraph(
            net, x_tr, len_g, bs, t_max, config.weight_decay, config.grad_clip, shuffles.settle
        )
    eager_why = ""  # why the epochs run without the graph, for the device label
    try:
        for epoch in range(first, config.epochs):
            lr_epoch = lrs.copy()
            perm, rng_after = shuffles.take(epoch)
            with torch.no_grad():
                done = 0  # samples trained by the graph
                if graph is not None and not alive.all():
                    graph = None  # a member diverged: the captured step no longer applies
                if graph is not None:
                    if stop():
                        return
                    try:
                        graph.run(perm, lrs)
                    except GraphUnavailable as exc:
                        graph, eager_why = None, f" (no CUDA graph: {exc})"
                if graph is not None:
                    xe, le, running = graph.xe, graph.le, graph.running
                    done = graph.full * bs
                else:
                    xe = x_tr.gather(2, perm.unsqueeze(1).expand_as(x_tr))
                    le = None if fixed else len_tr.gather(1, perm)
                    running = torch.zeros(k, dtype=torch.float64, device=device)
                for a in range(done, n_train, bs):
                    if stop():
                        return
                    rows = xe[..., a : a + bs]  # (K, 2·T + 1, B), a view
                    lb = None if le is None else le[:, a : a + bs]
                    g = train_step(net, rows, lb, running, t_max)
                    if not alive.all():
                        g = torch.where(alive_t, g, 0.0)  # NaN-safe, unlike a 0/1 product
                    net.adam_step(g, lr_t, config.weight_decay, config.grad_clip)
                train_loss = (running / n_train).cpu().numpy()
            events: list[dict[str, Any]] = []
            dead = ~alive
            train_loss[dead] = np.nan
            newly = alive & ~np.isfinite(train_loss)
            by_train = newly.copy()  # these were not evaluated (the reference skips it)
            test_loss = None
            accuracy: tuple[np.ndarray, np.ndarray] | None = None
            if epoch % config.eval_every == 0 and (alive & ~newly).any():
                # (the test loader's draw was made with the epoch's shuffles)
                with torch.no_grad():
                    test_t, test_acc_t = evaluate()
                    test_loss = test_t.cpu().numpy()
                    if classify:
                        accuracy = (train_accuracy().cpu().numpy(), test_acc_t.cpu().numpy())
                test_loss[dead | newly] = np.nan
                newly |= alive & ~np.isfinite(test_loss)
                for acc in accuracy or ():
                    acc[dead | newly] = np.nan
                for i in np.flatnonzero(alive & ~newly):
                    if plateaus:
                        new = plateaus[i].step(float(test_loss[i]), float(lrs[i]))
                        if new != lrs[i]:
                            events.append(
                                {
                                    "kind": "lr_change",
                                    "old": float(lrs[i]),
                                    "new": new,
                                    **member(int(i)),
                                }
                            )
                            lrs[i] = new
            for i in np.flatnonzero(newly):
                events.append(
                    {
                        "kind": "diverged",
                        "train_loss": float(train_loss[i]),
                        "test_loss": None
                        if test_loss is None or by_train[i]
                        else float(test_loss[i]),
                        **member(int(i)),
                    }
                )
            if newly.any():
                alive &= ~newly
                gone = torch.from_numpy(newly).to(device)
                net.m[gone] = 0.0
                net.v[gone] = 0.0
                alive_t = torch.from_numpy(alive[:, None].copy()).to(device)
            if test_loss is not None or newly.any():
                lr_t = device_lr()
            all_diverged = not alive.any()
            params = net.numpy_params()
            if config.is_final(epoch) and not all_diverged:
                check_reference(params)
            wall = time.perf_counter() - start
            yield EpochRecord(
                epoch=epoch,
                train_loss=train_loss,
                test_loss=test_loss,
                lr=lr_epoch,
                wall_time=wall,
                weights=params,
                initial_weights=init_params if epoch == 0 else None,
                events=events,
                diverged=all_diverged,
                state=capture_fast(
                    epoch, wall, net, lrs, plateaus, alive, rng_after, seeds, all_diverged
                ),
                device=ran_on(config, device) + eager_why if epoch == first else None,
                train_acc=None if accuracy is None else accuracy[0],
                test_acc=None if accuracy is None else accuracy[1],
            )
            if all_diverged:
                return
    finally:
        shuffles.close()
