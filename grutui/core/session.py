"""The session store: one directory per run, an HDF5 file plus an append-only event log.

Layout (documented in the README; readable with plain h5py, no pickle anywhere)::

    NAME/session.h5
      attrs: format="grutui-session", format_version, config (JSON), created, members, ...
      metrics/epoch        int64   (E,)
      metrics/train_loss   float64 (E, K)
      metrics/test_loss    float64 (E, K)   NaN where not evaluated
      metrics/lr           float64 (E, K)
      metrics/wall_time    float64 (E,)
      weights/epoch        int64   (S,)     epoch of each snapshot row
      weights/<param>      float32 (S, K, *shape)   by PyTorch name, e.g. gru.weight_ih_l0
      init/<param>         float32 (K, *shape)      weights before the first epoch
    NAME/events.jsonl      one JSON object per line: {"t", "kind", "epoch", ...}

The writer uses HDF5's single-writer/multiple-reader mode and flushes after each
append, so a killed process leaves a readable file and another process can read a
session while it grows. Readers take the shortest of the growing datasets, so a write
interrupted half-way is simply not seen.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from grutui import __version__
from grutui.core.config import TrainConfig
from grutui.core.errors import ConfigError, SessionError
from grutui.core.state import StateSaver
from grutui.core.state import state_path as state_file

FORMAT = "grutui-session"
FORMAT_VERSION = 1
H5_NAME = "session.h5"
PART_NAME = "session.h5.part"  # a session being created (see SessionWriter)
EVENTS_NAME = "events.jsonl"
METRICS = ("train_loss", "test_loss", "lr")
_CHUNK = 256


def session_file(path: str | Path) -> Path:
    """The HDF5 file of a session given its directory (or the file itself)."""
    p = Path(path)
    return p / H5_NAME if p.is_dir() or p.suffix != ".h5" else p


def find_sessions(root: str | Path = "sessions") -> list[Path]:
    """Session directories under ``root``, newest first."""
    r = Path(root)
    if not r.is_dir():
        return []
    found = [d for d in r.iterdir() if (d / H5_NAME).is_file()]
    return sorted(found, key=lambda d: (d / H5_NAME).stat().st_mtime, reverse=True)


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _stored_eof(path: Path) -> int | None:
    """End-of-file address recorded in a version 2/3 superblock (None if not such a file)."""
    with path.open("rb") as fh:
        head = fh.read(48)
    if len(head) < 48 or not head.startswith(_HDF5_SIGNATURE) or head[8] not in (2, 3):
        return None
    if head[9] != 8:  # size of offsets
        return None
    base, _ext, eof = struct.unpack_from("<QQQ", head, 12)
    return int(base + eof)


def _check_not_truncated(path: Path) -> None:
    """Refuse a file shorter than its superblock says.

    HDF5 skips this check for SWMR readers and then retries every failed metadata read
    with back-off, which makes a truncated file hang for minutes instead of failing.
    A live writer can be mid-flush, so look again briefly before calling it truncated.
    """
    size = path.stat().st_size
    if size == 0:
        raise SessionError(f"{path} is not a readable HDF5 file (empty, truncated or corrupt)")
    for attempt in range(4):
        eof = _stored_eof(path)
        size = path.stat().st_size
        if eof is None or size >= eof:
            return
        time.sleep(0.05 * (attempt + 1))
    raise SessionError(
        f"{path} is not a readable HDF5 file (empty, truncated or corrupt): "
        f"{size} bytes on disk, {eof} expected"
    )


class EventLog:
    """Append-only JSON-lines log; a torn last line (killed writer) is skipped on read.

    Each event is one ``write`` of a whole line on an ``O_APPEND`` descriptor, under a
    lock: the training worker and the UI's action recorder (threads), or a trainer and
    an app watching it (processes), can append to the same file without interleaving.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:  # a line torn by a kill must not swallow the next event
            if path.stat().st_size:
                with path.open("rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    torn = fh.read(1) != b"\n"
                if torn:
                    self._write(b"\n")
        except OSError:
            pass

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:
                raise ValueError(f"event log {self.path} is closed")
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]

    @staticmethod
    def make(kind: str, epoch: int | None = None, **data: Any) -> dict[str, Any]:
        return {"t": time.time(), "kind": kind, "epoch": epoch, **data}

    def append(self, kind: str, epoch: int | None = None, **data: Any) -> dict[str, Any]:
        ev = self.make(kind, epoch, **data)
        self.write_events([ev])
        return ev

    def write_events(self, events: list[dict[str, Any]]) -> None:
        """Append ready-made events (each with ``t`` and ``kind``) in one write."""
        if events:
            text = "".join(json.dumps(ev, default=_jsonable) + "\n" for ev in events)
            self._write(text.encode("utf-8"))

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a kill
        if isinstance(ev, dict) and "kind" in ev:
            events.append(ev)
    return events


LOCK_NAME = ".writer.lock"


def _lock_writer(session_dir: Path) -> int | None:
    """One writer per session: an exclusive ``flock`` held while the writer is open (the
    kernel drops it when the process dies, so a killed run never leaves it stale)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no guard
        return None
    fd = os.open(session_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise SessionError(
            f"{session_dir} is being written by another training run (stop it first)"
        ) from None
    return fd


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _open_read(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r", libver="latest", swmr=True)
    except OSError:  # a file never switched to SWMR mode (e.g. written by other tools)
        return h5py.File(path, "r")


MIN_FREE_BYTES = 64 * 2**20  # the writer stops training below this much free disk


class DiskFullError(OSError):
    """The disk is (nearly) full: training stops before a write can fail half-way."""


def _as_oserror(exc: RuntimeError) -> OSError:
    m = re.search(r"errno = (\d+)", str(exc))
    code = int(m.group(1)) if m else errno.EIO
    return OSError(code, f"{os.strerror(code)} ({exc})")


def free_bytes(path: Path) -> int:
    """Free bytes for an unprivileged writer on the disk holding ``path``."""
    return shutil.disk_usage(path).free


class SessionWriter:
    """Writes one session. Datasets are created from the first record's shapes."""

    space_check_interval = 1.0  # seconds between free-space checks

    def __init__(
        self,
        path: str | Path,
        config: TrainConfig,
        *,
        overwrite: bool = False,
        flush_interval: float = 0.0,
        resume_after: int | None = None,
        state_overhead: float = 0.01,
        min_free: int = MIN_FREE_BYTES,
    ) -> None:
        """``resume_after=k`` reopens an existing session to continue it after epoch k:
        rows of later epochs (recorded after the last saved state) are dropped, to be
        recomputed identically. ``state_overhead``: the share of time spent saving the
        resumable state (see ``grutui.core.state.StateSaver``)."""
        self.dir = Path(path)
        if resume_after is None and (self.dir / H5_NAME).exists() and not overwrite:
            raise SessionError(f"session {self.dir} already exists (choose another --out)")
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock_writer(self.dir)
        self.config = config
        self.flush_interval = flush_interval
        self._last_flush = 0.0
        self._started = False
        self.n_epochs = 0
        self.n_snapshots = 0
        self._clock_logged = False
        self.min_free = min_free
        self._space_checked = -float("inf")
        self.write_error: OSError | None = None  # set when a write failed (disk full)
        # The file is built under a temporary name and renamed into place once it is in
        # SWMR mode: before that a kill could leave half-written HDF5 metadata; after,
        # SWMR's ordered flushes keep it readable at every moment.
        self._final = self.dir / H5_NAME
        self._part = self.dir / PART_NAME
        self._published = False
        try:
            self._open(config, resume_after)
        except BaseException:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            raise
        self.events = EventLog(self.dir / EVENTS_NAME)
        self.states = StateSaver(self.dir, state_overhead, before_save=self._flush_file)

    def _open(self, config: TrainConfig, resume_after: int | None) -> None:
        if resume_after is not None:
            self._reopen(resume_after)
        else:
            # --force, or a run killed before its first epoch: nothing of the old run
            # may leak into the new one
            for old in (self._final, self.dir / EVENTS_NAME, state_file(self.dir)):
                old.unlink(missing_ok=True)
            self._f = h5py.File(self._part, "w", libver="latest")
            a = self._f.attrs
            a["format"] = FORMAT
            a["format_version"] = FORMAT_VERSION
            a["config"] = config.to_json()
            a["created"] = datetime.now(UTC).isoformat(timespec="seconds")
            a["grutui_version"] = __version__

    def _reopen(self, after: int) -> None:
        """Rebuild the session under the temporary name with the rows up to epoch
        ``after``, then publish it. A killed SWMR writer leaves its file flagged as
        open for writing, which HDF5 refuses to reopen for writing (``h5clear`` would
        be needed) but reads fine; copying also means a kill during the resume leaves
        the session exactly as it was."""
        try:
            src = _open_read(self._final)
        except OSError as exc:
            raise SessionError(f"{self.dir}: cannot read the session to resume ({exc})") from None
        try:
            self._f = h5py.File(self._part, "w", libver="latest")
            self._copy_through(src, self._f, after)
            self._f.flush()
            self._f.swmr_mode = True
        except BaseException:
            if getattr(self, "_f", None) is not None and self._f.id.valid:
                self._f.close()
            self._part.unlink(missing_ok=True)
            raise
        finally:
            src.close()
        self._publish()
        self._started = True

    def _copy_through(self, src: h5py.File, dst: h5py.File, after: int) -> None:
        if not isinstance(src.get("metrics"), h5py.Group):
            raise SessionError(f"{self.dir}: no epochs recorded, nothing to resume")
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        dst.attrs["config"] = self.config.to_json()
        m, w = src["metrics"], src["weights"]
        n = min(m[k].shape[0] for k in m)
        keep = int(np.searchsorted(m["epoch"][:n], after, side="right"))
        if keep == 0 or int(m["epoch"][keep - 1]) != after:
            raise SessionError(f"{self.dir}: epoch {after} of the saved state is not recorded")
        s = min(w[k].shape[0] for k in w)
        skeep = int(np.searchsorted(w["epoch"][:s], after, side="right"))
        for group, rows in (("metrics", keep), ("weights", skeep)):
            g = dst.create_group(group)
            for name, ds in src[group].items():
                out = g.create_dataset(
                    name,
                    (rows, *ds.shape[1:]),
                    ds.dtype,
                    maxshape=ds.maxshape,
                    chunks=ds.chunks,
                    fillvalue=ds.fillvalue,
                )
                for i in range(0, rows, 4096):
                    out[i : i + 4096] = ds[i : min(rows, i + 4096)]
        for name in src:
            if name not in ("metrics", "weights"):
                src.copy(src[name], dst, name)
        self.n_epochs = keep
        self.n_snapshots = skeep

    def _publish(self) -> None:
        if not self._published:
            os.replace(self._part, self._final)
            self._published = True

    def _check_space(self) -> None:
        now = time.monotonic()
        if now - self._space_checked < self.space_check_interval:
            return
        self._space_checked = now
        try:
            free = free_bytes(self.dir)
        except OSError:
            return
        if free < self.min_free:
            raise DiskFullError(
                errno.ENOSPC,
                f"only {free / 2**20:.1f} MiB left on the disk of {self.dir} "
                f"(grutui stops below {self.min_free / 2**20:.0f} MiB)",
            )

    def _flush_file(self) -> None:
        """Flush the snapshots' datasets first, then the rest: a whole-file flush writes
        dataset headers in no particular order, and a live reader that saw a metrics row
        before its snapshot's extent would show the previous snapshot's weights."""
        if self._started:
            for ds in self._f["weights"].values():
                ds.flush()
        self._f.flush()
        self._last_flush = time.monotonic()

    def _create(self, rec: Any) -> None:
        f = self._f
        k = rec.members
        f.attrs["members"] = k
        m = f.create_group("metrics")
        m.create_dataset("epoch", (0,), np.int64, maxshape=(None,), chunks=(_CHUNK,))
        m.create_dataset("wall_time", (0,), np.float64, maxshape=(None,), chunks=(_CHUNK,))
        for name in METRICS:
            m.create_dataset(
                name, (0, k), np.float64, maxshape=(None, k), chunks=(_CHUNK, k), fillvalue=np.nan
            )
        w = f.create_group("weights")
        w.create_dataset("epoch", (0,), np.int64, maxshape=(None,), chunks=(_CHUNK,))
        init = f.create_group("init")
        for name, arr in rec.weights.items():
            shape = arr.shape  # (K, *param)
            per = max(1, int(_CHUNK * 64 // max(1, int(np.prod(shape)))))
            w.create_dataset(
                name,
                (0, *shape),
                np.float32,
                maxshape=(None, *shape),
                chunks=(min(_CHUNK, per), *shape),
            )
            if rec.initial_weights is not None:
                init.create_dataset(name, data=np.asarray(rec.initial_weights[name], np.float32))
        f.swmr_mode = True
        self._publish()
        self._started = True

    def append(self, rec: Any, *, snapshot: bool | None = None) -> None:
        """Append one ``EpochRecord`` (see ``append_many``)."""
        self.append_many([rec], snapshot=snapshot)

    def append_many(self, recs: Sequence[Any], *, snapshot: bool | None = None) -> None:
        """Append ``EpochRecord``s with one resize and one write per dataset (what
        ``grutui.core.buffered.BufferedWriter`` hands over in blocks): weights first, then
        metrics, so a reader that sees epoch e in the metrics also sees its snapshot.
        ``snapshot`` overrides the ``snapshot_every`` rule (importers whose source saved
        weights elsewhere).

        Raises ``DiskFullError`` (an ``OSError``), before writing anything, when the disk
        has less than ``min_free`` bytes left: HDF5 does not survive a write failing
        half-way (the file can end up shorter than its superblock says), so the writer
        stops while the session is still whole."""
        if not recs:
            return
        self._check_space()
        try:
            self._write_rows(recs, snapshot)
        except RuntimeError as exc:  # h5py reports some failed writes (EFBIG, ...) so
            raise _as_oserror(exc) from exc
        self._after_rows(recs)

    def _after_rows(self, recs: Sequence[Any]) -> None:
        """After rows are written (and flushed when due): the replay clock anchor, and
        the newest resumable state offered to the saver (forced on the last epoch)."""
        if not self._clock_logged:
            # anchors this process's wall_time to unix time, for replay timelines
            # and names the device this process trains on (EpochRecord.device)
            anchor: dict[str, Any] = {"wall_time": recs[0].wall_time}
            if getattr(recs[0], "device", None):
                anchor["device"] = recs[0].device
            self.events.append("clock", recs[0].epoch, **anchor)
            self._clock_logged = True
        rec = recs[-1]
        if getattr(rec, "state", None) is not None:
            self.states.offer(rec.state, force=self.config.is_final(rec.epoch, rec.diverged))

    def _write_rows(self, recs: Sequence[Any], snapshot: bool | None) -> None:
        if not self._started:
            self._create(recs[0])
        if snapshot is None:
            snaps = [r for r in recs if self.config.snapshot_due(r.epoch, r.diverged)]
        else:
            snaps = list(recs) if snapshot else []
        if snaps:
            w = self._f["weights"]
            for name in snaps[0].weights:
                rows = np.stack([np.asarray(r.weights[name], np.float32) for r in snaps])
                self._extend(w[name], rows)
            self._extend(w["epoch"], np.array([r.epoch for r in snaps], np.int64))
            self.n_snapshots += len(snaps)
        m = self._f["metrics"]
        nan = np.full(recs[0].members, np.nan)
        self._extend(m["train_loss"], np.stack([r.train_loss for r in recs]))
        self._extend(
            m["test_loss"],
            np.stack([r.test_loss if r.test_loss is not None else nan for r in recs]),
        )
        self._extend(m["lr"], np.stack([r.lr for r in recs]))
        self._extend(m["wall_time"], np.array([r.wall_time for r in recs], np.float64))
        self._extend(m["epoch"], np.array([r.epoch for r in recs], np.int64))  # last: complete
        self.n_epochs += len(recs)
        for rec in recs:
            for ev in rec.events:
                ev = dict(ev)
                self.events.append(ev.pop("kind"), rec.epoch, **ev)
        last = self.config.is_final(recs[-1].epoch, recs[-1].diverged)
        if len(recs) > 1 or last or time.monotonic() - self._last_flush >= self.flush_interval:
            self._flush_file()

    @staticmethod
    def _extend(ds: h5py.Dataset, rows: np.ndarray) -> None:
        n = ds.shape[0]
        ds.resize(n + len(rows), axis=0)
        ds[n:] = rows

    def event(self, kind: str, epoch: int | None = None, **data: Any) -> None:
        self.events.append(kind, epoch, **data)

    def close(self) -> None:
        """Flush and close; the newest state is saved so a stopped run can resume
        from its last complete epoch."""
        try:
            if self._f.id.valid:
                try:
                    # after a failed HDF5 write, flushing fails too (a disk-space stop
                    # wrote nothing: flush and save the state as usual)
                    if self.write_error is None or isinstance(self.write_error, DiskFullError):
                        self._f.flush()
                        self.states.flush()
                finally:
                    self._f.close()
                self._publish()  # a run stopped before its first epoch
        finally:
            self.events.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # releases the lock
                self._lock_fd = None

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Metrics:
    epoch: np.ndarray  # (E,)
    train_loss: np.ndarray  # (E, K)
    test_loss: np.ndarray  # (E, K), NaN where not evaluated
    lr: np.ndarray  # (E, K)
    wall_time: np.ndarray  # (E,)


class Session:
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
        _check_not_truncated(h5)
        self._ino = _inode(h5)
        try:
            self._f = _open_read(h5)
        except OSError as exc:
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
            self.config_dict: dict[str, Any] = json.loads(a["config"])
            self.config = TrainConfig.from_dict(self.config_dict)
        except (KeyError, json.JSONDecodeError, ConfigError, TypeError) as exc:
            self._f.close()
            raise SessionError(f"{h5}: unreadable config attribute ({exc})") from None
        self.created = str(a.get("created", ""))
        self.members = int(a.get("members", 1))
        self.high = self.config.task.high
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
            )
            self.snapshot_epochs = np.zeros(0, np.int64)
            self.n_epochs = 0
            return False
        try:
            eds = self._need("metrics/epoch")
            ds = {n: self._need(f"metrics/{n}") for n in (*METRICS, "wall_time")}
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
            f = _open_read(self.path)
        except OSError:
            return  # mid-replacement: keep the old view, look again next time
        self._f.close()
        self._f = f
        self._ino = ino
        self._weights = None

    @property
    def last_epoch(self) -> int:
        return int(self.metrics.epoch[-1]) if self.n_epochs else -1

    def snapshot_index(self, epoch: int) -> int:
        return snapshot_row(self.name, self.snapshot_epochs, epoch)

    def resolve_epoch(self, epoch: int | str) -> int:
        return resolve_epoch(self.name, self.metrics.epoch, self.snapshot_epochs, epoch)

    def weights(self, epoch: int, member: int = 0) -> dict[str, np.ndarray]:
        """Parameters at ``epoch`` (the latest snapshot at or before it)."""
        self._check_member(member)
        i = self.snapshot_index(epoch)
        if self._weights is not None:
            return {k: v[i, member] for k, v in self._weights.items()}
        return {k: self._f[f"weights/{k}"][i, member] for k in self.param_names}

    def weight_history(self, name: str, member: int = 0) -> np.ndarray:
        """All snapshots of one parameter: (S, *shape), rows at ``snapshot_epochs``."""
        self._check_member(member)
        if self._weights is not None:
            return self._weights[name][:, member]
        return np.asarray(self._f[f"weights/{name}"][: len(self.snapshot_epochs), member])

    def initial_weights(self, member: int = 0) -> dict[str, np.ndarray] | None:
        g = self._f.get("init")
        if not isinstance(g, h5py.Group) or not len(g):
            return None
        return {k: np.asarray(g[k][member]) for k in g}

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.dir / EVENTS_NAME)

    def final_losses(self, member: int = 0) -> dict[str, float | None]:
        return final_losses(self.metrics, member)

    def _check_member(self, member: int) -> None:
        check_member(self, member)

    def close(self) -> None:
        if self._f.id.valid:
            self._f.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _finite_or_none(v: float) -> float | None:
    return v if math.isfinite(v) else None


# -- epoch lookups shared by Session (a file) and RunData (memory) -----------------------


def check_member(run: Any, member: int) -> None:
    """``member`` must be one of ``run``'s ensemble members (a Session or a RunData)."""
    if not 0 <= member < run.members:
        raise SessionError(f"member {member} out of range: {run.name} has {run.members}")


def snapshot_row(name: str, snapshot_epochs: np.ndarray, epoch: int) -> int:
    """Row of the latest snapshot at or before ``epoch``."""
    if not len(snapshot_epochs):
        raise SessionError(f"{name}: no weight snapshots recorded yet")
    i = int(np.searchsorted(snapshot_epochs, epoch, side="right")) - 1
    if i < 0:
        raise SessionError(f"{name}: no snapshot at or before epoch {epoch}")
    return i


def resolve_epoch(
    name: str, epochs: np.ndarray, snapshot_epochs: np.ndarray, epoch: int | str
) -> int:
    """``last`` or an epoch number (negative counts from the end) → a recorded epoch."""
    if not len(epochs):
        raise SessionError(f"{name}: no epochs recorded yet")
    first, last = int(epochs[0]), int(epochs[-1])
    if epoch == "last":
        return int(snapshot_epochs[-1]) if len(snapshot_epochs) else last
    try:
        e = int(epoch)
    except (TypeError, ValueError):
        raise SessionError(f"epoch must be a number or 'last', got {epoch!r}") from None
    if e < 0:
        e = last + 1 + e
    if not first <= e <= last:
        raise SessionError(f"epoch {epoch} out of range: {name} has epochs {first}..{last}")
    return e


def final_losses(m: Metrics, member: int = 0) -> dict[str, float | None]:
    """The last train loss and the last evaluated test loss (None where not finite)."""
    if not len(m.epoch):
        return {"train_loss": None, "test_loss": None}
    tl = m.test_loss[:, member]
    ok = np.flatnonzero(~np.isnan(tl))
    return {
        "train_loss": _finite_or_none(float(m.train_loss[-1, member])),
        "test_loss": float(tl[ok[-1]]) if len(ok) else None,
    }
