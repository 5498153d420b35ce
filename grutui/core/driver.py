"""The run driver: one way to train into a session, for the CLI, ``resume`` and the app.

``RunDriver.run()`` pulls records from a trainer generator (``train(config,
should_stop, resume)``), writes each through a ``BufferedWriter`` and logs the run's
events (``start`` or ``resume`` on opening, ``pause``/``unpause``, then one ``stop``
or ``finish``). It runs in whichever thread should train (the CLI's main thread, the
app's worker): torch's thread count is per thread, so ``run`` sets it there.

Control is two ``threading.Event``s honoured at every ``should_stop`` call (each
training step): a pause blocks the trainer on an event (no polling) until ``unpause``
or ``stop``. Consumers never receive pushed data: they ``pull()`` a frozen
``RunSnapshot`` — the records appended since their previous pull plus the run's state
— at their own pace (the app's redraw timer, the progress bar's refresh).
"""

from __future__ import annotations

import contextlib
import errno
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from grutui.core.buffered import BufferedWriter
from grutui.core.config import TrainConfig
from grutui.core.records import EpochRecord
from grutui.core.writer import DiskFullError, SessionWriter

Writer = SessionWriter | BufferedWriter
# a trainer bound to its config (and resume state): should_stop → records
Records = Callable[[Callable[[], bool]], Iterator[EpochRecord]]
# what the app lets a test inject: ``train``'s signature without ``resume``
Trainer = Callable[[TrainConfig, Callable[[], bool]], Iterator[EpochRecord]]

EXIT_STATUS = {"finished": 0, "diverged": 1, "write_error": 1}  # anything else: 130


def exit_status(outcome: str) -> int:
    """The process exit status of a run that ended with ``outcome``."""
    return EXIT_STATUS.get(outcome, 130)


@dataclass(frozen=True)
class RunSnapshot:
    """The run as one pull sees it. ``records`` are the epochs appended since the
    previous pull (oldest first); the driver never touches a record once handed out."""

    records: tuple[EpochRecord, ...]
    epochs: int  # epochs in the session (a resumed run counts the earlier ones)
    epoch: int | None  # the newest epoch trained by this run
    started: bool  # the session is open and training has begun
    paused: bool  # the trainer is held by a pause right now
    outcome: str | None  # None while running; else finished, diverged, stopped, ...
    device: str  # where the trainer runs, from its first record ("" until then)
    threads: int
    rate: float  # epochs/s of this run so far (NaN before its first epoch)


class RunDriver:
    """One training run into one session (see the module docstring).

    ``open_writer`` is called by ``run`` (in the training thread) and must log the
    opening event; ``records`` is the trainer bound to its config. ``first_epoch`` and
    ``first_wall`` place a resumed run's rate after the time already trained."""

    def __init__(
        self,
        config: TrainConfig,
        open_writer: Callable[[], Writer],
        records: Records,
        *,
        first_epoch: int = 0,
        first_wall: float = 0.0,
    ) -> None:
        self.config = config
        self.first_epoch = first_epoch
        self._open_writer = open_writer
        self._records = records
        self._first_wall = first_wall
        self._go = threading.Event()  # cleared while a pause is requested
        self._go.set()
        self._stop = threading.Event()
        self._control = threading.Lock()  # pause never re-arms after a stop
        self._lock = threading.Lock()  # guards the fields below, read by pull()
        self._pending: list[EpochRecord] = []
        self._epochs = 0
        self._epoch: int | None = None
        self._started = False
        self._paused = False
        self._outcome: str | None = None
        self._device = ""
        self._threads = 0
        self._rate = math.nan
        self._writer: Writer | None = None
        self.write_error: OSError | None = None
        self.done = threading.Event()  # set when ``run`` has returned or raised

    @classmethod
    def new(
        cls,
        config: TrainConfig,
        out: Path,
        *,
        source: str,
        overwrite: bool = False,
        flush_interval: float | None = None,
        trainer: Trainer | None = None,
    ) -> RunDriver:
        """A fresh session at ``out``, its ``start`` event naming ``source``."""

        def open_writer() -> Writer:
            # buffered: per-epoch HDF5 writes would cost the fast engine ~20 %
            w = BufferedWriter(SessionWriter(out, config, overwrite=overwrite), flush_interval)
            w.event("start", None, source=source, config=config.to_dict())
            return w

        if trainer is None:
            from grutui.core.train import train

            trainer = train
        bound = trainer
        return cls(config, open_writer, lambda stop: bound(config, stop))

    @classmethod
    def resume(cls, path: Path, epochs: int | None = None) -> RunDriver:
        """Continue the session at ``path`` from its saved state (``grutui.core.resume``);
        a session that cannot be resumed raises ``SessionError`` here, before anything
        is opened for writing."""
        from grutui.core.resume import open_for_resume, plan_resume
        from grutui.core.train import train

        plan = plan_resume(path, epochs)
        return cls(
            plan.config,
            lambda: BufferedWriter(open_for_resume(path, plan)),
            lambda stop: train(plan.config, stop, plan.state),
            first_epoch=plan.state.epoch + 1,
            first_wall=plan.state.wall_time,
        )

    # -- control (any thread) ---------------------------------------------------------
    def pause(self) -> None:
        with self._control:
            if not self._stop.is_set():
                self._go.clear()

    def unpause(self) -> None:
        self._go.set()

    def stop(self) -> None:
        """End the run after the current step; wakes a paused run."""
        with self._control:
            self._stop.set()
            self._go.set()

    @property
    def pause_requested(self) -> bool:
        return not self._go.is_set()

    def pull(self) -> RunSnapshot:
        """The records since the previous pull and the run's state, frozen."""
        with self._lock:
            records, self._pending = tuple(self._pending), []
            return RunSnapshot(
                records,
                self._epochs,
                self._epoch,
                self._started,
                self._paused,
                self._outcome,
                self._device,
                self._threads,
                self._rate,
            )

    # -- the run (the training thread) -------------------------------------------------
    def open(self) -> None:
        """Open the session and log its opening event. ``run`` does it when not done
        yet; the CLI calls it first so that a refusal (an existing session, another
        writer's lock) comes before the progress bar."""
        if self._writer is None:
            self._writer = self._open_writer()

    def run(self) -> str:
        """Open the session, train and record until the end; close the session. Returns
        the outcome: ``finished``, ``diverged``, ``stopped`` (``stop``), ``interrupted``
        (Ctrl-C) or ``write_error``. A trainer's own error is re-raised after the
        session is closed (the snapshot's outcome says ``error``)."""
        outcome = "error"
        try:
            self.open()
            assert self._writer is not None
            outcome = self._record(self._writer)
        finally:
            writer = self._writer
            if writer is not None:
                outcome = self._close(writer, outcome)
            with self._lock:
                self._outcome = outcome
                self._paused = False
                if writer is not None:
                    self._epochs = writer.n_epochs
            self.done.set()
        return outcome

    def _begin(self) -> Iterator[EpochRecord]:
        import torch

        threads = self.config.torch_threads()
        torch.set_num_threads(threads)  # per thread: this one trains
        with self._lock:
            self._started = True
            self._threads = threads
        return self._records(self._should_stop)

    def _should_stop(self) -> bool:
        if not self._go.is_set() and not self._stop.is_set():
            self._hold()
        return self._stop.is_set()

    def _hold(self) -> None:
        """Block the trainer until unpaused or stopped; both ends are logged."""
        assert self._writer is not None
        epoch = self._epoch
        with self._lock:
            self._paused = True
        self._writer.event("pause", epoch)  # flushes the buffered epochs first
        self._go.wait()
        with self._lock:
            self._paused = False
        if not self._stop.is_set():
            self._writer.event("unpause", epoch)

    def _add(self, rec: EpochRecord, writer: Writer) -> None:
        span = rec.wall_time - self._first_wall  # this process's share of the run
        with self._lock:
            self._pending.append(rec)
            if rec.device is not None:  # the first record says where the trainer runs
                self._device = rec.device
            self._epochs = writer.n_epochs
            self._epoch = rec.epoch
            self._rate = (rec.epoch + 1 - self.first_epoch) / span if span > 0 else math.nan

    def _record(self, writer: Writer) -> str:
        """Every record into ``writer``; how the run ended. The session keeps every
        epoch written before an interruption or a failed write (disk full: the failing
        block is dropped, the epochs before stay readable)."""
        last: EpochRecord | None = None
        try:
            for rec in self._begin():
                writer.append(rec)
                last = rec
                self._add(rec, writer)
        except KeyboardInterrupt:
            writer.event("stop", last.epoch if last else None, reason="interrupted")
            return "interrupted"
        except OSError as exc:  # disk full, quota, I/O error while writing
            writer.write_error = exc
            full = isinstance(exc, DiskFullError) or exc.errno in (errno.ENOSPC, errno.EDQUOT)
            with contextlib.suppress(OSError):  # the event log may be on the same full disk
                writer.event(
                    "stop",
                    last.epoch if last else None,
                    reason="disk_full" if full else "write_error",
                    error=str(exc),
                )
            return "write_error"
        complete = last is not None and self.config.is_final(last.epoch, last.diverged)
        if self._stop.is_set() and not complete:
            writer.event("stop", last.epoch if last else None, reason="user")
            return "stopped"
        if last is not None and last.diverged:
            writer.event("stop", last.epoch, reason="diverged")
            return "diverged"
        writer.event("finish", last.epoch if last else None)
        return "finished"

    def _close(self, writer: Writer, outcome: str) -> str:
        try:
            writer.close()
        except (OSError, RuntimeError) as exc:  # h5py reports some failed writes so
            if writer.write_error is None:
                writer.write_error = exc if isinstance(exc, OSError) else OSError(str(exc))
                outcome = "write_error"
        self.write_error = writer.write_error
        return outcome


def record_run(records: Iterator[EpochRecord], writer: Writer) -> str:
    """Drive already-made ``records`` into an open ``writer`` (closed at the end):
    sessions built by tests and tools, with the same events and outcomes as a run."""
    return RunDriver(writer.config, lambda: writer, lambda _stop: records).run()
