"""An in-memory, growable run: a ``RunView`` like ``Session``.

The app reads only this: scrubbing never waits on the disk, and the h5py file keeps a
single owner (the training worker's ``SessionWriter``, or the ``Session`` a watcher
polls off the UI thread). Every analysis in ``grutui.core.analysis`` takes a
``RunView``, so it works on a ``RunData`` unchanged.

Rows live in buffers that double when full, so appending an epoch is amortised O(1);
``metrics``, ``snapshot_epochs`` and the weight accessors return views of the filled
part. A view taken before a later append stays valid (it keeps the old buffer) but
does not see the new rows: read again after ``extend``/``apply``.

No torch, textual or rich here (tests enforce it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grutui.core.config import TrainConfig
from grutui.core.errors import SessionError
from grutui.core.events import has_events, read_session_events
from grutui.core.records import EpochRecord, weight_norm
from grutui.core.runview import Metrics, RunLookups
from grutui.core.session import Session

_MIN_CAPACITY = 64


@dataclass
class Chunk:
    """New rows of a run: what a watcher thread reads off a ``Session`` and the UI
    thread applies (so the buffers are only ever mutated on one thread)."""

    epoch: np.ndarray  # (n,)
    train_loss: np.ndarray  # (n, K)
    test_loss: np.ndarray  # (n, K)
    lr: np.ndarray  # (n, K)
    wall_time: np.ndarray  # (n,)
    snapshot_epochs: np.ndarray  # (s,)
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # name → (s, K, *shape)
    events: list[dict[str, Any]] = field(default_factory=list)
    # the session's config when it changed (``grutui resume`` can extend the epochs)
    config: tuple[TrainConfig, dict[str, Any]] | None = None
    # (n, K) accuracies; None: not recorded (NaN)
    train_acc: np.ndarray | None = None
    test_acc: np.ndarray | None = None
    weight_norm: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.epoch)


class _Buffer:
    """A row buffer with amortised doubling; ``view`` is the filled part."""

    def __init__(self, row_shape: tuple[int, ...], dtype: Any, fill: float = 0.0) -> None:
        self.fill = fill
        self.data = np.full((_MIN_CAPACITY, *row_shape), fill, dtype=dtype)
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        k = len(rows)
        need = self.n + k
        if need > len(self.data):
            cap = max(need, 2 * len(self.data))
            new = np.full((cap, *self.data.shape[1:]), self.fill, dtype=self.data.dtype)
            new[: self.n] = self.data[: self.n]
            self.data = new
        self.data[self.n : need] = rows
        self.n = need

    @property
    def view(self) -> np.ndarray:
        return self.data[: self.n]


def _rows(recs: list[EpochRecord], name: str, k: int) -> np.ndarray:
    """(n, K) of an optional per-member record field, NaN where a record lacks it."""
    nan = np.full(k, np.nan)
    return np.array([nan if (v := getattr(r, name)) is None else v for r in recs]).reshape(-1, k)


class RunData(RunLookups):
    """A run held in memory; a ``RunView`` like ``grutui.core.session.Session``."""

    def __init__(
        self,
        config: TrainConfig,
        *,
        name: str = "run",
        directory: Path | None = None,
        members: int = 1,
        created: str = "",
        config_dict: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.config_dict: dict[str, Any] = config_dict or config.to_dict()
        self.name = name
        self.dir = directory if directory is not None else Path(name)
        self.created = created
        self.members = members
        self.high = int(config.task.output().scale)  # as Session.high
        self.param_names: list[str] = []
        self.param_shapes: dict[str, tuple[int, ...]] = {}
        k = members
        self._epoch = _Buffer((), np.int64)
        self._train = _Buffer((k,), np.float64, np.nan)
        self._test = _Buffer((k,), np.float64, np.nan)
        self._lr = _Buffer((k,), np.float64, np.nan)
        self._train_acc = _Buffer((k,), np.float64, np.nan)
        self._test_acc = _Buffer((k,), np.float64, np.nan)
        self._weight_norm = _Buffer((k,), np.float64, np.nan)
        self._wall = _Buffer((), np.float64)
        self._snap = _Buffer((), np.int64)
        self._weights: dict[str, _Buffer] = {}
        self._init: dict[str, np.ndarray] | None = None
        self._events: list[dict[str, Any]] = []
        self._metrics: Metrics | None = None  # built on demand, dropped when rows arrive
        # False: events() is the in-memory list even though the directory has a log
        # (a replay shows the events up to its time, not the final log)
        self.events_on_disk = True

    # -- construction ----------------------------------------------------------
    @classmethod
    def _like(cls, src: Session | RunData) -> RunData:
        """An empty run with ``src``'s identity (config, name, directory, members)."""
        return cls(
            src.config,
            name=src.name,
            directory=src.dir,
            members=src.members,
            created=src.created,
            config_dict=src.config_dict,
        )

    @classmethod
    def from_session(cls, session: Session) -> RunData:
        """Copy everything ``session`` holds into memory; epochs a live writer appends
        later arrive with ``apply(pull(session))`` (see ``pull``)."""
        rd = cls._like(session)
        init = session.initial_weights(0)
        if init is not None:
            per = [session.initial_weights(m) or {} for m in range(session.members)]
            rd._init = {k: np.stack([p[k] for p in per]) for k in init}
        rd.apply(rd.pull(session))
        return rd

    def pull(self, session: Session, n: int | None = None, s: int | None = None) -> Chunk:
        """The rows of ``session`` from epoch row ``n`` and snapshot row ``s`` on
        (default: beyond ours). Reads only the session, so a watcher thread can call it
        with its own counts and hand the chunk to the UI thread to ``apply``. Call
        ``session.refresh()`` first for a live file."""
        n = self.n_epochs if n is None else n
        s = len(self.snapshot_epochs) if s is None else s
        m = session.metrics
        snap = np.asarray(session.snapshot_epochs[s:])
        weights: dict[str, np.ndarray] = {}
        if len(snap):
            for name in session.param_names:
                hist = [session.weight_history(name, k)[s:] for k in range(session.members)]
                weights[name] = np.stack(hist, axis=1)
        return Chunk(
            np.asarray(m.epoch[n:]),
            np.asarray(m.train_loss[n:]),
            np.asarray(m.test_loss[n:]),
            np.asarray(m.lr[n:]),
            np.asarray(m.wall_time[n:]),
            snap,
            weights,
            train_acc=np.asarray(m.train_acc[n:]),
            test_acc=np.asarray(m.test_acc[n:]),
            weight_norm=np.asarray(m.weight_norm[n:]),
        )

    def apply(self, chunk: Chunk) -> int:
        """Append a chunk (and take its config, if it has one); returns the number of
        new epochs."""
        if chunk.config is not None:
            self.config, self.config_dict = chunk.config
        if len(chunk.snapshot_epochs):
            if not self._weights:
                for name, arr in chunk.weights.items():
                    self._weights[name] = _Buffer(arr.shape[1:], np.float32)
                    self.param_shapes[name] = tuple(arr.shape[2:])
                self.param_names = sorted(chunk.weights)  # HDF5 order, as Session
            for name, arr in chunk.weights.items():
                self._weights[name].append(np.asarray(arr, np.float32))
            self._snap.append(chunk.snapshot_epochs)
        self._train.append(chunk.train_loss)
        self._test.append(chunk.test_loss)
        self._lr.append(chunk.lr)
        nan = np.full(chunk.lr.shape, np.nan)
        self._train_acc.append(nan if chunk.train_acc is None else chunk.train_acc)
        self._test_acc.append(nan if chunk.test_acc is None else chunk.test_acc)
        self._weight_norm.append(nan if chunk.weight_norm is None else chunk.weight_norm)
        self._wall.append(chunk.wall_time)
        self._epoch.append(chunk.epoch)  # last: the epoch count moves once rows are in
        self._metrics = None
        self._events.extend(chunk.events)
        return len(chunk)

    def extend(self, records: Iterable[EpochRecord]) -> int:
        """Append trainer ``EpochRecord``s (the snapshot rule is the writer's)."""
        recs = list(records)
        if not recs:
            return 0
        k = self.members
        if any(r.members != k for r in recs):
            raise SessionError(f"{self.name}: records have {recs[0].members} members, run has {k}")
        snaps = [r for r in recs if self.config.snapshot_due(r.epoch, r.diverged)]
        if self._init is None and recs[0].initial_weights is not None:
            self._init = {n: np.asarray(a, np.float32) for n, a in recs[0].initial_weights.items()}
        events = [
            {"kind": ev["kind"], "epoch": r.epoch, **{a: b for a, b in ev.items() if a != "kind"}}
            for r in recs
            for ev in r.events
        ]
        nan = np.full(k, np.nan)
        chunk = Chunk(
            np.array([r.epoch for r in recs], np.int64),
            np.array([r.train_loss for r in recs], np.float64).reshape(-1, k),
            np.array([nan if r.test_loss is None else r.test_loss for r in recs]).reshape(-1, k),
            np.array([r.lr for r in recs], np.float64).reshape(-1, k),
            np.array([r.wall_time for r in recs], np.float64),
            np.array([r.epoch for r in snaps], np.int64),
            {n: np.stack([r.weights[n] for r in snaps]) for n in recs[0].weights} if snaps else {},
            events,
            train_acc=_rows(recs, "train_acc", k),
            test_acc=_rows(recs, "test_acc", k),
            weight_norm=np.array([weight_norm(r.weights) for r in recs]).reshape(-1, k),
        )
        return self.apply(chunk)

    # -- the RunView read API ------------------------------------------------------
    @property
    def metrics(self) -> Metrics:
        if self._metrics is None:
            self._metrics = Metrics(
                self._epoch.view,
                self._train.view,
                self._test.view,
                self._lr.view,
                self._wall.view,
                self._train_acc.view,
                self._test_acc.view,
                self._weight_norm.view,
            )
        return self._metrics

    @property
    def snapshot_epochs(self) -> np.ndarray:
        return self._snap.view

    @property
    def n_epochs(self) -> int:
        return self._epoch.n

    def weights_at_row(self, row: int, member: int = 0) -> dict[str, np.ndarray]:
        """Parameters at snapshot row ``row``, as views."""
        return {k: b.view[row, member] for k, b in self._weights.items()}

    def weight_history(self, name: str, member: int = 0) -> np.ndarray:
        """All snapshots of one parameter: (S, *shape), rows at ``snapshot_epochs``."""
        self.check_member(member)
        return self._weights[name].view[:, member]

    def initial_weights(self, member: int = 0) -> dict[str, np.ndarray] | None:
        if self._init is None:
            return None
        return {k: v[member] for k, v in self._init.items()}

    def events(self) -> list[dict[str, Any]]:
        """The session's events (read from disk when the run has a directory, so
        events the worker logged, and a read-only session's recorded actions, are
        included); else the events seen in records."""
        if self.events_on_disk and has_events(self.dir):
            return read_session_events(self.dir)
        return list(self._events)

    def add_events(self, events: Iterable[dict[str, Any]]) -> None:
        """Append events to the in-memory list (what ``events()`` returns when
        ``events_on_disk`` is off)."""
        self._events.extend(events)

    # -- replay: a run re-grown row by row -------------------------------------------
    @classmethod
    def empty_like(cls, other: RunData) -> RunData:
        """No epochs yet, same run (config, name, directory, initial weights): a replay
        grows it with ``other.rows(...)`` chunks exactly like a live run."""
        rd = cls._like(other)
        rd._init = other._init
        rd.events_on_disk = False
        return rd

    def rows(self, start: int, stop: int) -> Chunk:
        """Epoch rows ``start:stop`` as a chunk, with the snapshots taken at those
        epochs (copies: applying it elsewhere never aliases these buffers)."""
        stop = min(max(stop, start), self.n_epochs)
        m = self.metrics
        snap = self._snap.view
        ep = m.epoch
        s0 = int(np.searchsorted(snap, ep[start - 1], side="right")) if start > 0 else 0
        s1 = int(np.searchsorted(snap, ep[stop - 1], side="right")) if stop > 0 else 0
        return Chunk(
            ep[start:stop].copy(),
            m.train_loss[start:stop].copy(),
            m.test_loss[start:stop].copy(),
            m.lr[start:stop].copy(),
            m.wall_time[start:stop].copy(),
            snap[s0:s1].copy(),
            {k: b.view[s0:s1].copy() for k, b in self._weights.items()} if s1 > s0 else {},
            train_acc=m.train_acc[start:stop].copy(),
            test_acc=m.test_acc[start:stop].copy(),
            weight_norm=m.weight_norm[start:stop].copy(),
        )

    def close(self) -> None:
        """Nothing to release: a RunData holds no file."""

    def __enter__(self) -> RunData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
