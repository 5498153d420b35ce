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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from grutui.core.config import TrainConfig
from grutui.core.records import REFERENCE_TOLERANCE, EpochRecord, reference_error, stack1
from grutui.core.state import TrainState, capture_torch, restore_torch
from grutui.core.tasks import TaskData, make_datasets


@contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """``model`` in eval mode inside the block, its previous mode restored after."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


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

    ``config.engine == "fast"`` hands over to ``grutui.core.fast`` (ensembles too).
    """
    config.validate()
    if config.engine == "fast":
        from grutui.core.fast import train_fast

        yield from train_fast(config, should_stop, resume)
        return
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from grutui.core.device import ran_on, resolve_device
    from grutui.core.model import AddingGRU

    # per-thread: this generator runs in whichever thread consumes it
    torch.set_num_threads(config.torch_threads())
    stop = should_stop or (lambda: False)
    device = resolve_device(config, resuming=resume is not None)
    seed = config.seed
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False

    train_set, test_set = make_datasets(config.task, seed)
    output = config.task.output()
    classify = output.kind == "classification"
    # regression: trained on target / scale, tested in raw units (the blog's scaling)
    scale = output.scale
    x_train, x_test = train_set.model_input(), test_set.model_input()
    fixed = bool(
        np.all(train_set.lengths == x_train.shape[1])
        and np.all(test_set.lengths == x_test.shape[1])
    )

    def tensors(ds: TaskData, x: np.ndarray) -> list[torch.Tensor]:
        y = torch.tensor(ds.y) if classify else torch.tensor(ds.y.reshape(len(ds.y), -1))
        return [torch.tensor(x), y, torch.tensor(ds.lengths)]

    train_tensors = tensors(train_set, x_train)
    loader = DataLoader(TensorDataset(*train_tensors), batch_size=config.batch_size, shuffle=True)
    test_loader = DataLoader(
        TensorDataset(*tensors(test_set, x_test)), batch_size=config.batch_size, shuffle=False
    )

    model = AddingGRU(config.input_size, config.hidden, config.output_size, init=config.init).to(
        device
    )
    adam = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    optimizer = adam(
        model.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay
    )
    scheduler = None
    if config.plateau_factor is not None:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="min",
            factor=config.plateau_factor,
            patience=config.plateau_patience,
            min_lr=config.min_lr,
        )
    criterion: Any = torch.nn.CrossEntropyLoss() if classify else torch.nn.MSELoss()

    probe_n = min(64, len(test_set))
    probe_x = x_test[:probe_n]
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

    def evaluate() -> tuple[float, float]:
        """Test loss and (classification) accuracy, else NaN.
        The blog's evaluate(), through a DataLoader as the blog does: iterating one
        draws a base seed from torch's global RNG, which later shuffles depend on."""
        total = 0.0
        correct = 0
        with eval_mode(model), torch.no_grad():
            for inputs, labels, lens in test_loader:
                inputs, labels = inputs.to(device), labels.to(device)
                outputs = model(inputs, None if fixed else lens.to(device))
                if not classify:
                    outputs = outputs * scale
                else:
                    correct += int((outputs.argmax(1) == labels).sum().item())
                loss = criterion(outputs, labels)
                total += loss.item() * inputs.size(0)
        return total / len(test_set), correct / len(test_set) if classify else math.nan

    def train_accuracy() -> float:
        """Accuracy on the whole training set after the epoch, in plain slices (a
        DataLoader would draw from torch's RNG and change later shuffles)."""
        xs, labels, lens = train_tensors
        correct = 0
        with eval_mode(model), torch.no_grad():
            for a in range(0, len(train_set), config.batch_size):
                sl = slice(a, a + config.batch_size)
                out = model(xs[sl].to(device), None if fixed else lens[sl].to(device))
                correct += int((out.argmax(1).cpu() == labels[sl]).sum().item())
        return correct / len(train_set)

    init_params = model.numpy_params()
    check_reference(init_params)
    first = 0
    start = time.perf_counter()
    if resume is not None:
        restore_torch(resume, model, optimizer, scheduler)
        first = resume.epoch + 1
        start -= resume.wall_time  # wall_time continues, without the time stopped
    for epoch in range(first, config.epochs):
        # cuDNN's RNN backward refuses eval mode (the CPU does not care): every backward
        # runs in train mode whatever ran before
        model.train()
        lr = optimizer.param_groups[0]["lr"]
        running = 0.0
        for inputs, labels, lens in loader:
            if stop():
                return
            inputs, labels = inputs.to(device), labels.to(device)
            target = labels if classify else labels / scale
            optimizer.zero_grad()
            outputs = model(inputs, None if fixed else lens.to(device))
            loss = criterion(outputs, target)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            running += loss.item() * inputs.size(0)
        train_loss = running / len(train_set)
        events: list[dict[str, Any]] = []
        test_loss = None
        accuracy: tuple[np.ndarray, np.ndarray] | None = None
        diverged = not math.isfinite(train_loss)
        if not diverged and epoch % config.eval_every == 0:
            test_loss, test_acc = evaluate()
            diverged = not math.isfinite(test_loss)
            if classify:
                accuracy = (np.array([train_accuracy()]), np.array([test_acc]))
            if scheduler is not None and not diverged:
                scheduler.step(test_loss)
                new_lr = optimizer.param_groups[0]["lr"]
                if new_lr != lr:
                    events.append({"kind": "lr_change", "old": lr, "new": new_lr})
        params = model.numpy_params()
        if config.is_final(epoch) and not diverged:
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
            weights=stack1(params),
            initial_weights=stack1(init_params) if epoch == 0 else None,
            events=events,
            diverged=diverged,
            state=capture_torch(epoch, wall, model, optimizer, scheduler, extra=_meta(diverged)),
            device=ran_on(config, device) if epoch == first else None,
            train_acc=None if accuracy is None else accuracy[0],
            test_acc=None if accuracy is None else accuracy[1],
        )
        if diverged:
            return
