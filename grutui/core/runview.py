"""One read interface for a run, on disk or in memory.

``RunView`` is what the analyses, the exporters, the replay timeline and the panes
read: ``grutui.core.session.Session`` (a session file) and
``grutui.core.rundata.RunData`` (a run held in memory) both implement it. The epoch
lookups they share are written once, in ``RunLookups``, on top of the few members
each class stores its own way (``metrics``, ``snapshot_epochs``, ``weights_at_row``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from grutui.core.config import TrainConfig
from grutui.core.errors import SessionError


@dataclass
class Metrics:
    epoch: np.ndarray  # (E,)
    train_loss: np.ndarray  # (E, K)
    test_loss: np.ndarray  # (E, K), NaN where not evaluated
    lr: np.ndarray  # (E, K)
    wall_time: np.ndarray  # (E,)
    # classification: accuracy on the train and test sets, (E, K), NaN where not
    # evaluated; all NaN for regression tasks and sessions written before accuracy was
    train_acc: np.ndarray
    test_acc: np.ndarray
    # (E, K) L2 norm of all parameters after each epoch; NaN in sessions written
    # before it was recorded
    weight_norm: np.ndarray


@runtime_checkable
class RunView(Protocol):
    """A run's config, per-epoch metrics, weight snapshots and events, read-only."""

    @property
    def config(self) -> TrainConfig: ...
    @property
    def config_dict(self) -> dict[str, Any]: ...
    @property
    def name(self) -> str: ...
    @property
    def dir(self) -> Path: ...
    @property
    def created(self) -> str: ...
    @property
    def members(self) -> int: ...
    @property
    def high(self) -> int: ...
    @property
    def param_names(self) -> list[str]: ...
    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def n_epochs(self) -> int: ...
    @property
    def first_epoch(self) -> int: ...
    @property
    def last_epoch(self) -> int: ...
    @property
    def snapshot_epochs(self) -> np.ndarray: ...

    def check_member(self, member: int) -> None: ...
    def snapshot_index(self, epoch: int) -> int: ...
    def resolve_epoch(self, epoch: int | str) -> int: ...
    def member_seeds(self) -> tuple[int, ...] | None: ...
    def resolve_member(self, text: str) -> int: ...
    def weights(self, epoch: int, member: int = 0) -> dict[str, np.ndarray]: ...
    def weights_at_row(self, row: int, member: int = 0) -> dict[str, np.ndarray]: ...
    def weight_history(self, name: str, member: int = 0) -> np.ndarray: ...
    def initial_weights(self, member: int = 0) -> dict[str, np.ndarray] | None: ...
    def events(self) -> list[dict[str, Any]]: ...
    def final_losses(self, member: int = 0) -> dict[str, float | None]: ...


class RunLookups:
    """The lookups every ``RunView`` answers the same way (mixed into both readers)."""

    @property
    def first_epoch(self: RunView) -> int:
        ep = self.metrics.epoch
        return int(ep[0]) if len(ep) else -1

    @property
    def last_epoch(self: RunView) -> int:
        ep = self.metrics.epoch
        return int(ep[-1]) if len(ep) else -1

    def check_member(self: RunView, member: int) -> None:
        """``member`` must be one of the run's ensemble members."""
        if not 0 <= member < self.members:
            raise SessionError(f"member {member} out of range: {self.name} has {self.members}")

    def member_seeds(self: RunView) -> tuple[int, ...] | None:
        """Each member's seed, when the config names one per member (a session written
        without ``seeds`` may still hold several members)."""
        seeds = self.config.member_seeds
        return seeds if len(seeds) == self.members else None

    def resolve_member(self: RunView, text: str) -> int:
        """A member index (``7``) or a member's seed (``s37``, ``seed 37``) → its index."""
        t = text.strip().lower()
        by_seed = t.startswith("s")
        num = t.removeprefix("seed").removeprefix("s").strip() if by_seed else t
        try:
            n = int(num)
        except ValueError:
            raise SessionError(
                f"a member is an index or s<seed> (e.g. 3 or s37), got {text!r}"
            ) from None
        if not by_seed:
            self.check_member(n)
            return n
        seeds = self.member_seeds()
        if seeds is None:
            raise SessionError(f"{self.name} records no seed per member: give an index")
        if n not in seeds:
            raise SessionError(f"no member has seed {n}")
        return seeds.index(n)

    def snapshot_index(self: RunView, epoch: int) -> int:
        """Row of the latest snapshot at or before ``epoch``."""
        snaps = self.snapshot_epochs
        if not len(snaps):
            raise SessionError(f"{self.name}: no weight snapshots recorded yet")
        i = int(np.searchsorted(snaps, epoch, side="right")) - 1
        if i < 0:
            raise SessionError(f"{self.name}: no snapshot at or before epoch {epoch}")
        return i

    def resolve_epoch(self: RunView, epoch: int | str) -> int:
        """``last`` or an epoch number (negative counts from the end) → a recorded epoch."""
        epochs = self.metrics.epoch
        if not len(epochs):
            raise SessionError(f"{self.name}: no epochs recorded yet")
        first, last = int(epochs[0]), int(epochs[-1])
        if epoch == "last":
            snaps = self.snapshot_epochs
            return int(snaps[-1]) if len(snaps) else last
        try:
            e = int(epoch)
        except (TypeError, ValueError):
            raise SessionError(f"epoch must be a number or 'last', got {epoch!r}") from None
        if e < 0:
            e = last + 1 + e
        if not first <= e <= last:
            raise SessionError(
                f"epoch {epoch} out of range: {self.name} has epochs {first}..{last}"
            )
        return e

    def weights(self: RunView, epoch: int, member: int = 0) -> dict[str, np.ndarray]:
        """Parameters at ``epoch`` (the latest snapshot at or before it)."""
        self.check_member(member)
        return self.weights_at_row(self.snapshot_index(epoch), member)

    def final_losses(self: RunView, member: int = 0) -> dict[str, float | None]:
        """The last train loss and the last evaluated test loss (None where not finite)."""
        m = self.metrics
        if not len(m.epoch):
            return {"train_loss": None, "test_loss": None}
        tl = m.test_loss[:, member]
        ok = np.flatnonzero(~np.isnan(tl))
        train = float(m.train_loss[-1, member])
        return {
            "train_loss": train if math.isfinite(train) else None,
            "test_loss": float(tl[ok[-1]]) if len(ok) else None,
        }
