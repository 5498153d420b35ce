"""Writing a session: one ``SessionWriter`` per session directory at a time.

The file format is ``grutui.core.h5format``'s. Rows are appended in SWMR mode and
flushed so a killed process leaves a readable file; a ``flock`` keeps a second
training run out; the writer stops before the disk fills (HDF5 does not survive a
write that fails half-way).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from grutui import __version__
from grutui.core.config import TrainConfig
from grutui.core.errors import SessionError
from grutui.core.events import EventLog
from grutui.core.h5format import (
    ACCURACY,
    FORMAT,
    FORMAT_VERSION,
    METRICS,
    WEIGHT_NORM,
    open_read,
)
from grutui.core.paths import EVENTS_NAME, H5_NAME, PART_NAME
from grutui.core.records import EpochRecord, weight_norm
from grutui.core.state import StateSaver
from grutui.core.state import state_path as state_file

_CHUNK = 256

LOCK_NAME = ".writer.lock"


LOCK_RETRY = 0.2  # seconds a new writer retries the lock: a reader's probe holds it briefly


def _lock_writer(session_dir: Path) -> int | None:
    """One writer per session: an exclusive ``flock`` held while the writer is open (the
    kernel drops it when the process dies, so a killed run never leaves it stale)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no guard
        return None
    fd = os.open(session_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    give_up = time.monotonic() + LOCK_RETRY
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() < give_up:  # a viewer's probe (being_written) lets go at once
                time.sleep(0.01)
                continue
            os.close(fd)
            raise SessionError(
                f"{session_dir} is being written by another training run (stop it first)"
            ) from None


def being_written(session_dir: Path) -> bool:
    """Whether a ``SessionWriter`` in any process holds the session right now (a run
    training into it or resuming it). A shared ``flock`` taken and let go at once: a
    writer starting in that instant retries (``LOCK_RETRY``); a killed writer's lock is
    gone with it, so a dead run never counts as live."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock to look at
        return False
    try:
        fd = os.open(session_dir / LOCK_NAME, os.O_RDONLY)
    except OSError:  # no writer ever opened it
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False


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
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock_fd = _lock_writer(self.dir)
        except OSError as exc:  # /proc/x, a read-only file system: one line, not a trace
            raise SessionError(
                f"cannot create a session in {self.dir}: {exc.strerror or exc}"
            ) from None
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
            src = open_read(self._final)
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

    def _create(self, rec: EpochRecord) -> None:
        f = self._f
        k = rec.members
        f.attrs["members"] = k
        m = f.create_group("metrics")
        m.create_dataset("epoch", (0,), np.int64, maxshape=(None,), chunks=(_CHUNK,))
        m.create_dataset("wall_time", (0,), np.float64, maxshape=(None,), chunks=(_CHUNK,))
        classify = self.config.task.output().kind == "classification"
        per_member = (*METRICS, *ACCURACY) if classify else METRICS
        for name in (*per_member, WEIGHT_NORM):
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

    def append(self, rec: EpochRecord, *, snapshot: bool | None = None) -> None:
        """Append one ``EpochRecord`` (see ``append_many``)."""
        self.append_many([rec], snapshot=snapshot)

    def append_many(self, recs: Sequence[EpochRecord], *, snapshot: bool | None = None) -> None:
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

    def _after_rows(self, recs: Sequence[EpochRecord]) -> None:
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
        if rec.state is not None:
            self.states.offer(rec.state, force=self.config.is_final(rec.epoch, rec.diverged))

    def _write_rows(self, recs: Sequence[EpochRecord], snapshot: bool | None) -> None:
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
        for name in ACCURACY:
            if name in m:
                accs = [getattr(r, name) for r in recs]
                self._extend(m[name], np.stack([nan if a is None else a for a in accs]))
        if WEIGHT_NORM in m:  # a session resumed from an older file lacks it
            # (an importer's snapshot=False: the record's weights are not that epoch's)
            norms = [nan if snapshot is False else weight_norm(r.weights) for r in recs]
            self._extend(m[WEIGHT_NORM], np.stack(norms))
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
