"""What a trainer yields per epoch, shared by both engines and every consumer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grutui.core.gru import GRUWeights, gru_output
from grutui.core.state import TrainState

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
    # the first record a trainer yields in a process (fresh or resumed) names the device
    # that ran (``grutui.core.device.ran_on``); the writer puts it in the process's
    # ``clock`` event (``grutui.core.device.recorded_device`` reads it back)
    device: str | None = None
    # classification tasks, eval epochs only: accuracy on the whole train and test sets
    # after this epoch (K,); None otherwise
    train_acc: np.ndarray | None = None
    test_acc: np.ndarray | None = None

    @property
    def members(self) -> int:
        return int(self.train_loss.shape[0])


def weight_norm(weights: dict[str, np.ndarray]) -> np.ndarray:
    """(K,) L2 norm of every parameter together, per member, summed in float64: the
    quantity weight decay shrinks, which falls as a grokking network generalises.
    Computed from a record's weights where they are stored (the writer, an in-memory
    run), so every trainer's records carry it without a field of their own."""
    total: np.ndarray | float = 0.0
    for w in weights.values():
        flat = np.asarray(w, np.float64).reshape(len(w), -1)
        total = total + np.einsum("ij,ij->i", flat, flat)
    return np.sqrt(np.asarray(total, np.float64))


def stack1(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v[None] for k, v in params.items()}


def reference_error(
    params: dict[str, np.ndarray], torch_out: np.ndarray, x: np.ndarray, lengths: np.ndarray
) -> float:
    """Largest |torch − numpy gate function| on a probe batch: the trainer's guard
    that the maths the debugger shows is the maths that was trained."""
    ref = gru_output(GRUWeights.from_params(params), x, lengths)
    return float(np.max(np.abs(ref - torch_out)))
