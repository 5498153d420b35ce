"""What a training run will take, estimated from its config before anything is made:
a run too large for this machine is refused in one line naming the estimate and the
limit, instead of a traceback from the allocator or a silent hang (no torch here)."""

from __future__ import annotations

import os
from pathlib import Path

from grutui.core.config import TrainConfig
from grutui.core.errors import ConfigError
from grutui.core.layout import param_count
from grutui.core.numfmt import size
from grutui.core.tasks import AddingTask

GIB = 2**30


def _params(config: TrainConfig) -> int:
    return param_count(config.hidden, config.input_size, config.output_size)


def member_bytes(config: TrainConfig, *, host: bool = False) -> int:
    """Memory one ensemble member takes, estimated from the config (float32 data, its
    per-epoch shuffled copy and indices, parameters with Adam's moments and gradient,
    one batch's activations for two batch shapes, two weight snapshots waiting in the
    session's write buffer), with a margin for the allocator and temporaries.
    ``host``: the part that stays in main memory when the trainer runs on a GPU."""
    shape = config.task.data_shape()
    t, n_train, n_test = shape.max_len, shape.n_train, shape.n_test
    h, b, d = config.hidden, config.batch_size, config.input_size
    data = 2 * (d * t + 1) * n_train * 4 + 3 * n_train * 8  # x_tr + its shuffle; perm, lengths
    data += (d * t + 1) * n_test * 4 + n_test * 8  # test inputs, targets, lengths
    snapshots = 2 * _params(config) * 4
    if host:
        return int(1.5 * (data + snapshots))
    params = 4 * _params(config) * 4
    batch = 2 * (16 * h * t + h) * b * 4  # workspaces + the step's temporaries
    return int(1.5 * (data + params + batch + snapshots))


def generation_bytes(config: TrainConfig) -> int:
    """Peak memory of generating one member's data set. The blog flavour reproduces
    numpy's legacy ``choice`` vectorised: two int32 arrays of 2·N·(L-1) outputs for each
    of the L-1 shuffle steps, quadratic in the sequence length (measured: 1.7 GB at
    L = 100, N = 10,000); the general flavour is a few arrays of N × L."""
    task = config.task
    shape = task.data_shape()
    t, n = shape.max_len, shape.n_train + shape.n_test
    if isinstance(task, AddingTask):
        if task.flavour == "blog":
            return 16 * n * max(t - 1, 1) ** 2
        return 48 * n * t
    return 3 * 4 * n * t * config.input_size  # raw features, their encoding, a copy


def available_memory() -> int | None:
    """Memory available to a new allocation now: ``MemAvailable`` (Linux; counts the
    page cache the kernel gives back), else free physical pages; None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def run_bytes(config: TrainConfig, *, on_gpu: bool = False) -> int:
    """Main memory the whole run needs: every member, plus generating their data (up
    to 16 members at once, on threads, see ``grutui.core.fast``)."""
    k = len(config.member_seeds)
    at_once = k if k < 8 else min(k, 16, os.cpu_count() or 1)
    return k * member_bytes(config, host=on_gpu) + at_once * generation_bytes(config)


def check_memory(config: TrainConfig, *, on_gpu: bool = False, limit: int | None = None) -> None:
    """Refuse a run whose estimate exceeds the available memory (``limit``: that
    memory, for tests)."""
    avail = available_memory() if limit is None else limit
    if avail is None:
        return
    need = run_bytes(config, on_gpu=on_gpu)
    if need > avail:
        k = len(config.member_seeds)
        shape = config.task.data_shape()
        raise ConfigError(
            f"this run needs about {size(need)} of memory ({k} member(s) at hidden "
            f"{config.hidden}, sequences up to {shape.max_len} steps, "
            f"{shape.n_train + shape.n_test} samples), over the {size(avail)} available: "
            "use fewer seeds, a smaller --hidden, --seq-len or --n-samples"
        )


def session_bytes(config: TrainConfig) -> int:
    """The session file at the end of the run: every weight snapshot of every member
    (float32) and the per-epoch metrics."""
    k = len(config.member_seeds)
    snaps = -(-config.epochs // config.snapshot_every) + 1  # + the last epoch, always
    return snaps * k * _params(config) * 4 + config.epochs * (8 + 24 * k)


def check_disk(config: TrainConfig, out: Path, *, free: int | None = None) -> None:
    """Refuse a run whose session would not fit on the disk holding ``out``."""
    import shutil

    p = out
    while not p.exists() and p.parent != p:
        p = p.parent
    try:
        usage = shutil.disk_usage(p)
    except OSError:
        return
    if usage.total == 0:  # /proc, /sys: no disk to measure; the writer reports the failure
        return
    avail = usage.free if free is None else free
    need = session_bytes(config)
    if need > avail:
        raise ConfigError(
            f"the session would take about {size(need)} on disk, over the "
            f"{size(avail)} free under {p}: snapshot less often "
            "(--snapshot-every), or fewer epochs, seeds or hidden units"
        )
