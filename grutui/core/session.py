"""Reading a session: ``Session`` opens a recorded (or growing) session file read-only.

The file format is ``grutui.core.h5format``'s; the writer is ``grutui.core.writer``. A
``Session`` is a ``grutui.core.runview.RunView``: the analyses read it directly, and
the app copies it into a ``grutui.core.rundata.RunData``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from grutui.core.config import TrainConfig
from grutui.core.errors import ConfigError, NoEpochError, SessionError
from grutui.core.events import read_session_events
from grutui.core.h5format import (
    FORMAT,
    FORMAT_VERSION,
    METRICS,
    OPTIONAL,
    check_not_truncated,
    open_read,
)
from grutui.core.paths import H5_NAME, PART_NAME, session_file
from grutui.core.runview import Metrics, RunLookups
from grutui.core.writer import being_written


def _read_config(f: h5py.File) -> tuple[dict[str, Any], TrainConfig]:
    """A session file's config attribute, as stored and as a ``TrainConfig``."""
    try:
        raw: dict[str, Any] = json.loads(f.attrs["config"])
        return raw, TrainConfig.from_dict(raw)
    except (KeyError, json.JSONDecodeError, ConfigError, TypeError) as exc:
        raise SessionError(f"{f.filename}: unreadable config attribute ({exc})") from None


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


class Session(RunLookups):
    """A recorded (or growing) session, opened read-only.

    Small sessions are loaded into memory at open so that scrubbing never waits on the
    disk; ``refresh()`` picks up epochs a live writer appended since.
    """

    IN_MEMORY_BYTES = 256 * 2**20

    def __init__(self, path: str | Path) -> None:
        p = Path(path)
        if not p.exists():
            raise SessionError(f"no session at {p}")
        h5 = session_file(p)
        if not h5.is_file():
            if (h5.parent / PART_NAME).is_file():
                raise SessionError(
                    f"{p} has no epoch recorded: training is starting, or was killed before "
                    "its first epoch"
                )
            raise SessionError(f"{p} is not a grutui session (no {H5_NAME} in it)")
        self.path = h5
        self.dir = h5.parent
        self.name = self.dir.name
        check_not_truncated(h5)
        self._ino = _inode(h5)
        try:
            self._f = open_read(h5)
        except OSError as exc:
            if not h5py.is_hdf5(h5):  # text, an image...: say so, not "corrupt"
                raise SessionError(
                    f"{h5} is not a readable HDF5 file (not HDF5 at all: text or another "
                    "format), so not a grutui session file"
                ) from None
            raise SessionError(
                f"{h5} is not a readable HDF5 file (empty, truncated or corrupt): {exc}"
            ) from None
        a = self._f.attrs
        if a.get("format") != FORMAT:
            self._f.close()
            raise SessionError(f"{h5} is an HDF5 file but not a grutui session")
        version = int(a.get("format_version", 0))
        if version > FORMAT_VERSION:
            self._f.close()
            raise SessionError(
                f"{h5} was written by a newer grutui (session format {version}; this "
                f"version reads up to {FORMAT_VERSION}): upgrade grutui"
            )
        try:
            self.config_dict, self.config = _read_config(self._f)
        except SessionError:
            self._f.close()
            raise
        self.created = str(a.get("created", ""))
        self.members = int(a.get("members", 1))
        # what the debugger multiplies outputs by: the adding problem's high (1 for classes)
        self.high = int(self.config.task.output().scale)
        self.param_names: list[str] = []
        self.param_shapes: dict[str, tuple[int, ...]] = {}
        self._weights: dict[str, np.ndarray] | None = None
        self.refresh()

    # -- reading ---------------------------------------------------------------
    def _ds(self, path: str) -> h5py.Dataset | None:
        obj = self._f.get(path)
        if isinstance(obj, h5py.Dataset):
            if self._f.swmr_mode:
                obj.refresh()
            return obj
        return None

    def _need(self, path: str) -> h5py.Dataset:
        ds = self._ds(path)
        if ds is None:
            raise SessionError(f"{self.path}: missing dataset {path!r} (corrupt session?)")
        return ds

    def refresh(self) -> bool:
        """Re-read the growing datasets; True if the epochs changed (new ones appeared,
        or the file was replaced: ``grutui resume`` publishes a rebuilt file, which may
        have dropped epochs after its saved state)."""
        before = getattr(self, "n_epochs", -1)
        self._follow_replacement()
        if self._ds("metrics/epoch") is None:  # created, but no epoch written yet
            k = self.members
            self.metrics = Metrics(
                np.zeros(0, np.int64),
                np.zeros((0, k)),
                np.zeros((0, k)),
                np.zeros((0, k)),
                np.zeros(0),
                np.zeros((0, k)),
                np.zeros((0, k)),
                np.zeros((0, k)),
            )
            self.snapshot_epochs = np.zeros(0, np.int64)
            self.n_epochs = 0
            return False
        try:
            eds = self._need("metrics/epoch")
            ds = {n: self._need(f"metrics/{n}") for n in (*METRICS, "wall_time")}
            for a in OPTIONAL:  # classification sessions, newer files
                if (opt := self._ds(f"metrics/{a}")) is not None:
                    ds[a] = opt
            names = [n for n in self._f["weights"] if n != "epoch"]
            wds = {n: self._need(f"weights/{n}") for n in names}
            wep = self._need("weights/epoch")
            # a row is complete only once every dataset has it (a killed writer may
            # have resized some datasets and not others)
            n = min(eds.shape[0], *(d.shape[0] for d in ds.values()))
            s = min(wep.shape[0], *(d.shape[0] for d in wds.values()))
            self.metrics = Metrics(
                eds[:n],
                ds["train_loss"][:n],
                ds["test_loss"][:n],
                ds["lr"][:n],
                ds["wall_time"][:n],
                *(ds[a][:n] if a in ds else np.full((n, self.members), np.nan) for a in OPTIONAL),
            )
            snap = wep[:s]
        except (KeyError, OSError) as exc:
            raise SessionError(f"{self.path}: unreadable session data ({exc})") from None
        self.param_names = names
        self.n_epochs = int(n)
        # only snapshots whose metrics row is complete
        keep = int(np.searchsorted(snap, self.metrics.epoch[-1], side="right")) if n else 0
        self.snapshot_epochs = snap[:keep]
        self.param_shapes = {k: tuple(d.shape[2:]) for k, d in wds.items()}
        nbytes = sum(keep * d.dtype.itemsize * int(np.prod(d.shape[1:])) for d in wds.values())
        if nbytes <= self.IN_MEMORY_BYTES:
            self._weights = {k: d[:keep] for k, d in wds.items()}
        else:
            self._weights = None
        return self.n_epochs != before

    def _follow_replacement(self) -> None:
        ino = _inode(self.path)
        if ino is None or ino == self._ino:
            return
        try:
            f = open_read(self.path)
        except OSError:
            return  # mid-replacement: keep the old view, look again next time
        try:  # grutui resume rewrites the config (more epochs, say)
            self.config_dict, self.config = _read_config(f)
        except SessionError:
            f.close()
            return  # a broken replacement: keep the old view
        self._f.close()
        self._f = f
        self._ino = ino
        self._weights = None

    def weights_at_row(self, row: int, member: int = 0) -> dict[str, np.ndarray]:
        if self._weights is not None:
            return {k: v[row, member] for k, v in self._weights.items()}
        return {k: self._f[f"weights/{k}"][row, member] for k in self.param_names}

    def weight_history(self, name: str, member: int = 0) -> np.ndarray:
        """All snapshots of one parameter: (S, *shape), rows at ``snapshot_epochs``."""
        self.check_member(member)
        if self._weights is not None:
            return self._weights[name][:, member]
        return np.asarray(self._f[f"weights/{name}"][: len(self.snapshot_epochs), member])

    def initial_weights(self, member: int = 0) -> dict[str, np.ndarray] | None:
        g = self._f.get("init")
        if not isinstance(g, h5py.Group) or not len(g):
            return None
        return {k: np.asarray(g[k][member]) for k in g}

    def events(self) -> list[dict[str, Any]]:
        """The event log, with a read-only session's recorded actions merged in."""
        return read_session_events(self.dir)

    def close(self) -> None:
        if self._f.id.valid:
            self._f.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


ENDED_EARLY = "the run ended before its first epoch"
KILLED_EARLY = "the run was killed before its first epoch"


def open_growing(path: str | Path) -> Session | None:
    """The session at ``path`` to view, possibly still growing; None while a run is
    creating it and has not recorded its first epoch (look again later). Raises
    ``SessionError`` for what will never show an epoch: not a session, or a run that
    ended (or was killed) before its first epoch."""
    p = Path(path)
    try:
        s = Session(p)
    except SessionError:
        if p.is_dir() and (being_written(p) or not any(p.iterdir())):
            return None  # training is starting there (an empty directory: about to)
        if p.is_dir() and (p / PART_NAME).is_file():
            raise NoEpochError(p, KILLED_EARLY) from None
        raise
    if s.n_epochs == 0 and not being_written(s.dir):
        s.close()
        raise NoEpochError(p, ENDED_EARLY)
    return s
