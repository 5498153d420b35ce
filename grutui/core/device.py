"""Where a run trains: the ``--device auto`` rule, device names, the recorded device.

The rule (``auto_prefers_gpu``): a tiny GRU's step is launch-bound, so the GPU pays off
only when one step carries enough work to hide the ~10 µs a kernel launch costs. The
measure is a step's tensor size, members × batch × hidden (``TrainConfig.step_elements``).
Measured on one H200 against two CPU cores: a single hidden-1 blog run (256 elements)
took 43 ms/epoch on the GPU and 17 ms on the CPU; an ensemble of 64 hidden-1 members
(16,384 elements) took 0.81 ms per model-epoch on the GPU and 1.6 on the CPU. So
``auto`` picks CUDA from ``GPU_MIN_ELEMENTS`` = 16,384 elements up, the CPU below.

torch is imported inside the functions that need it: ``recorded_device`` serves
``grutui info``, which must start without torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from grutui.core.config import TrainConfig
from grutui.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

# a step's members × batch × hidden from which the GPU beats the CPU (see above)
GPU_MIN_ELEMENTS = 2**14


def auto_prefers_gpu(config: TrainConfig) -> bool:
    """Whether ``--device auto`` trains ``config`` on CUDA when a GPU is present."""
    return config.step_elements() >= GPU_MIN_ELEMENTS


def resolve_device(config: TrainConfig, *, resuming: bool = False) -> torch.device:
    """The device ``config`` trains on.

    ``auto``: CUDA when available and ``auto_prefers_gpu``, else the CPU. ``cuda`` or
    ``cuda:N`` without that GPU is a ``ConfigError``, except when ``resuming`` a run
    recorded on a GPU this machine lacks: it continues on the CPU (the saved state is
    device-independent, the numbers agree within float rounding) and the record of the
    device that ran says so (``ran_on``)."""
    import torch

    name = config.device
    if name == "auto":
        use_gpu = torch.cuda.is_available() and auto_prefers_gpu(config)
        return torch.device("cuda" if use_gpu else "cpu")
    if name.startswith("cuda"):
        dev = torch.device(name)
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (dev.index is not None and dev.index >= count):
            if resuming:
                return torch.device("cpu")
            have = f"this machine has {count} CUDA device(s)" if count else "CUDA is not available"
            raise ConfigError(f"device {name!r} requested but {have}")
        return dev
    return torch.device(name)


def device_label(device: torch.device | str) -> str:
    """``cpu`` or ``cuda:0 NVIDIA H200``: the device and, for a GPU, its name."""
    import torch

    dev = torch.device(device)
    if dev.type != "cuda":
        return dev.type
    index = dev.index if dev.index is not None else torch.cuda.current_device()
    return f"cuda:{index} {torch.cuda.get_device_name(index)}"


def ran_on(config: TrainConfig, device: torch.device) -> str:
    """What a trainer puts in the first record it yields (``EpochRecord.device``): the
    device that ran, and why when it is not the one the config asked for."""
    label = device_label(device)
    if config.device != "auto" and config.device.partition(":")[0] != device.type:
        label += f" ({config.device} unavailable here)"
    return label


def recorded_device(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The device the session's latest run (or resume) trained on: the writer puts
    ``EpochRecord.device`` in the ``clock`` event that anchors each process's run; None
    for a session recorded before that."""
    label = None
    for ev in events:
        if ev.get("kind") == "clock" and isinstance(ev.get("device"), str):
            label = ev["device"]
    return label
