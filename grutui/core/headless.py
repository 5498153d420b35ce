"""Headless training: the ``train`` generator into a session, with a progress callback.

The rich progress bar lives in the CLI-facing function below but rich is imported
lazily there, so ``grutui.core`` itself never imports it at module level.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from grutui.core.buffered import BufferedWriter
from grutui.core.config import TrainConfig
from grutui.core.records import EpochRecord
from grutui.core.train import train
from grutui.core.writer import DiskFullError, SessionWriter

OUTCOMES = ("finished", "diverged", "stopped", "interrupted", "write_error")


def record_run(
    records: Iterator[EpochRecord],
    writer: SessionWriter | BufferedWriter,
    on_record: Callable[[EpochRecord], None] | None = None,
    stopped: Callable[[], bool] | None = None,
) -> str:
    """Write every record to ``writer``; return how the run ended (one of ``OUTCOMES``).
    The session keeps every epoch written before an interruption or a failed write
    (disk full: the failing epoch is dropped, the ones before stay readable); the
    error of a failed write is kept in ``writer.write_error``. ``stopped`` tells a run
    that ended because its ``should_stop`` fired (a user's stop) from one that ran to
    the end."""
    last: EpochRecord | None = None
    try:
        for rec in records:
            writer.append(rec)
            last = rec
            if on_record is not None:
                on_record(rec)
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
    complete = last is not None and writer.config.is_final(last.epoch, last.diverged)
    if stopped is not None and stopped() and not complete:
        writer.event("stop", last.epoch if last else None, reason="user")
        return "stopped"
    if last is not None and last.diverged:
        writer.event("stop", last.epoch, reason="diverged")
        return "diverged"
    writer.event("finish", last.epoch if last else None)
    return "finished"


def _loss(values: Any) -> str:
    """One member's loss, or an ensemble's median over its live members."""
    if len(values) == 1:
        return f"{float(values[0]):.4g}"
    live = values[np.isfinite(values)]
    return f"{float(np.median(live)):.4g} (median)" if len(live) else "nan"


def describe_write_error(exc: BaseException) -> str:
    if isinstance(exc, DiskFullError):
        return f"the disk is nearly full: {exc.strerror}; the session is intact"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"the disk is full ({exc.strerror or exc})"
    return f"cannot write the session ({exc})"


def train_headless(
    cfg: TrainConfig,
    out: Path,
    *,
    overwrite: bool = False,
    show_progress: bool = True,
    flush_interval: float | None = None,
) -> int:
    """``grutui train``: returns the process exit status."""
    # buffered: per-epoch HDF5 writes would cost the fast engine ~20 % (see buffered.py)
    writer = BufferedWriter(SessionWriter(out, cfg, overwrite=overwrite), flush_interval)
    writer.event("start", None, source="cli", config=cfg.to_dict())
    return run_with_progress(cfg, writer, train(cfg), out, show_progress=show_progress)


def run_with_progress(
    cfg: TrainConfig,
    writer: SessionWriter | BufferedWriter,
    records: Iterator[EpochRecord],
    out: Path,
    *,
    show_progress: bool = True,
    first_epoch: int = 0,
    first_wall: float = 0.0,
) -> int:
    """Record ``records`` into ``writer`` (closed at the end) under a rich progress bar;
    return the exit status: 0 finished, 1 diverged or write failed, 130 interrupted."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    try:
        test = "n/a"
        progress = Progress(
            TextColumn("epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("train {task.fields[train]}  test {task.fields[test]}"),
            TextColumn("{task.fields[rate]} ep/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not show_progress,
            refresh_per_second=5,
        )
        with progress:
            task = progress.add_task(
                "train", total=cfg.epochs, completed=first_epoch, train="n/a", test=test, rate="-"
            )

            def update(rec: EpochRecord) -> None:
                nonlocal test
                if rec.test_loss is not None:
                    test = _loss(rec.test_loss)
                span = rec.wall_time - first_wall  # this process's share of the run
                rate = (rec.epoch + 1 - first_epoch) / span if span > 0 else 0.0
                progress.update(
                    task,
                    completed=rec.epoch + 1,
                    train=_loss(rec.train_loss),
                    test=test,
                    rate=f"{rate:.1f}",
                )

            outcome = record_run(records, writer, update)
    finally:
        try:
            writer.close()
        except (OSError, RuntimeError) as exc:  # h5py reports some failed writes so
            if writer.write_error is None:
                writer.write_error = exc if isinstance(exc, OSError) else OSError(str(exc))
                outcome = "write_error"
    summary: dict[str, Any] = {
        "finished": "done",
        "diverged": "stopped: loss diverged",
        "interrupted": "interrupted",
        "write_error": "stopped: " + describe_write_error(writer.write_error or OSError()),
    }
    console.print(f"{summary[outcome]}: {writer.n_epochs} epochs in {out}")
    return {"finished": 0, "diverged": 1, "write_error": 1}.get(outcome, 130)
