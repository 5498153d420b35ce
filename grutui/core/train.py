"""The reference trainer: the blog's loop, generalised, as a generator of epoch records.

``train(config, should_stop)`` yields one ``EpochRecord`` per epoch. The UI worker, the
headless CLI and the tests all consume this same generator; a consumer that stops
iterating stops training, and ``should_stop`` (polled every step) lets another thread
stop it mid-epoch (the unfinished epoch is dropped).

With the ``blog`` preset every RNG-consuming call happens in the blog's order
(data from numpy, then model init from torch, then DataLoader shuffling), so the same
seed gives the blog's losses and weights.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grutui.core.config import TrainConfig
from grutui.core.gru import GRUWeights, gru_output
from grutui.core.state import TrainState, capture_torch, restore_torch
from grutui.core.tasks import Dataset, make_datasets

REFERENCE_TOLERANCE = 1e-4


@dataclass
class EpochRecord:
    """One epoch of one run or ensemble. Arrays carry a leading member axis (K)."""

    epoch: int  # 0-based: the state after epoch+1 passes over the training set
    train_loss: np.ndarray  # (K,) MSE of outputs vs target/high (the blog's train units)
    test_loss: np.ndarray | None  # (K,) MSE in raw units (outputs×high), eval epochs only
    lr: np.ndarray  # (K,) learning rate used during this epoch
    wall_time: float  # seconds since training started
    weights: dict[str, np.ndarray]  # name → (K, *shape), after this epoch
    initial_weights: dict[str, np.ndarray] | None = None  # first record only
    events: list[dict[str, Any]] = field(default_factory=list)
    diverged: bool = False
    # the run's state after this epoch (``grutui resume`` continues from it)
    state: TrainState | None = None

    @property
    def members(self) -> int:
        return int(self.train_loss.shape[0])


def _stack1(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v[None] for k, v in params.items()}


def reference_error(
    params: dict[str, np.ndarray], torch_out: np.ndarray, x: np.ndarray, lengths: np.ndarray
) -> float:
    """Largest |torch − numpy gate function| on a probe batch: the trainer's guard
    that the maths the debugger shows is the maths that was trained."""
    ref = gru_output(GRUWeights.from_params(params), x, lengths)
    return float(np.max(np.abs(ref - torch_out)))


def _meta(diverged: bool) -> dict[str, Any]:
    return {"diverged": True} if diverged else {}


def train(
    config: TrainConfig,
    should_stop: Callable[[], bool] | None = None,
    resume: TrainState | None = None,
) -> Iterator[EpochRecord]:
    """Train one model per ``config``; yield an ``EpochRecord`` after every epoch.

    With ``resume`` (a state captured after epoch k) everything is built as for a fresh
    run, then model, Adam, plateau scheduler and torch's RNG are overwritten from the
    state and training continues at epoch k+1: the same numbers as an uninterrupted run.
    """
    config.validate()
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from grutui.core.model import AddingGRU, resolve_device

    # per-thread: this generator runs in whichever thread consumes it
    torch.set_num_threads(config.threads or os.cpu_count() or 1)
    stop = should_stop or (lambda: False)
    device = resolve_device(config.device)
    seed = config.seed
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False

    train_set, test_set = make_datasets(config.task, seed)
    high = config.task.high
    fixed = train_set.fixed_length and test_set.fixed_length

    def tensors(ds: Dataset) -> list[torch.Tensor]:
        return [torch.tensor(ds.x), torch.tensor(ds.y[:, None]), torch.tensor(ds.lengths)]

    loader = DataLoader(
        TensorDataset(*tensors(train_set)), batch_size=config.batch_size, shuffle=True
    )
    test_loader = DataLoader(
        TensorDataset(*tensors(test_set)), batch_size=config.batch_size, shuffle=False
    )

    model = AddingGRU(2, config.hidden, 1, init=config.init).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = None
    if config.plateau_factor is not None:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="min",
            factor=config.plateau_factor,
            patience=config.plateau_patience,
            min_lr=config.min_lr,
        )
    criterion = torch.nn.MSELoss()

    probe_n = min(64, len(test_set))
    probe_x = test_set.model_input()[:probe_n]
    probe_len = test_set.lengths[:probe_n]

    def check_reference(params: dict[str, np.ndarray]) -> float:
        with torch.no_grad():
            xt = torch.tensor(probe_x, device=device)
            lt = None if fixed else torch.tensor(probe_len, device=device)
            out = model(xt, lt).cpu().numpy()
        err = reference_error(params, out, probe_x, probe_len)
        if not err <= REFERENCE_TOLERANCE:
            raise RuntimeError(
                f"torch GRU and grutui's gate function disagree by {err:.3g} "
                f"(> {REFERENCE_TOLERANCE:g}): the debugger would show different maths"
            )
        return err

    def evaluate() -> float:
        # The blog's evaluate(), through a DataLoader as the blog does: iterating one
        # draws a base seed from torch's global RNG, which later shuffles depend on.
        model.eval()
        total = 0.0
        with torch.no_grad():
            for inputs, labels, lens in test_loader:
                inputs, labels = inputs.to(device), labels.to(device)
                inputs[:, :, 0] /= high
                outputs = model(inputs, None if fixed else lens.to(device)) * high
                loss = criterion(outputs, labels)
                total += loss.item() * inputs.size(0)
        return total / len(test_set)

    init_params = model.numpy_params()
    check_reference(init_params)
    first = 0
    start = time.perf_counter()
    if resume is not None:
        restore_torch(resume, model, optimizer, scheduler)
        first = resume.epoch + 1
        start -= resume.wall_time  # wall_time continues, without the time stopped
    for epoch in range(first, config.epochs):
        lr = optimizer.param_groups[0]["lr"]
        running = 0.0
        for inputs, labels, lens in loader:
            if stop():
                return
            inputs, labels = inputs.to(device), labels.to(device)
            inputs[:, :, 0] /= high
            labels_scaled = labels / high
            optimizer.zero_grad()
            outputs = model(inputs, None if fixed else lens.to(device))
            loss = criterion(outputs, labels_scaled)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            running += loss.item() * inputs.size(0)
        train_loss = running / len(train_set)
        events: list[dict[str, Any]] = []
        test_loss = None
        diverged = not math.isfinite(train_loss)
        if not diverged and epoch % config.eval_every == 0:
            test_loss = evaluate()
            diverged = not math.isfinite(test_loss)
            if scheduler is not None and not diverged:
                scheduler.step(test_loss)
                new_lr = optimizer.param_groups[0]["lr"]
                if new_lr != lr:
                    events.append({"kind": "lr_change", "old": lr, "new": new_lr})
        params = model.numpy_params()
        last = epoch == config.epochs - 1
        if last and not diverged:
            check_reference(params)
        if diverged:
            events.append({"kind": "diverged", "train_loss": train_loss, "test_loss": test_loss})
        wall = time.perf_counter() - start
        yield EpochRecord(
            epoch=epoch,
            train_loss=np.array([train_loss]),
            test_loss=None if test_loss is None else np.array([test_loss]),
            lr=np.array([lr]),
            wall_time=wall,
            weights=_stack1(params),
            initial_weights=_stack1(init_params) if epoch == 0 else None,
            events=events,
            diverged=diverged,
            state=capture_torch(epoch, wall, model, optimizer, scheduler, extra=_meta(diverged)),
        )
        if diverged:
            return
