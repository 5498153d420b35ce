"""Headless training: the ``train`` generator into a session, with a progress callback.

The rich progress bar lives in the CLI-facing function below but rich is imported
lazily there, so ``grutui.core`` itself never imports it at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from grutui.core.buffered import BufferedWriter
from grutui.core.config import TrainConfig
from grutui.core.session import SessionWriter
from grutui.core.train import EpochRecord, train


def record_run(
    records: Iterator[EpochRecord],
    writer: SessionWriter | BufferedWriter,
    on_record: Callable[[EpochRecord], None] | None = None,
    stopped: Callable[[], bool] | None = None,
) -> str:
    """Write every record to ``writer``; return how the run ended
    (``finished``, ``diverged``, ``stopped`` or ``interrupted``). The session keeps every
    epoch written before an interruption. ``stopped`` tells a run that ended because its
    ``should_stop`` fired (a user's stop) from one that ran to the end."""
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
    complete = last is not None and (last.diverged or last.epoch == writer.config.epochs - 1)
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


def train_headless(
    cfg: TrainConfig, out: Path, *, overwrite: bool = False, show_progress: bool = True
) -> int:
    """``grutui train``: returns the process exit status."""
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
    # buffered: per-epoch HDF5 writes would cost the fast engine ~20 % (see buffered.py)
    with SessionWriter(out, cfg, overwrite=overwrite) as session, BufferedWriter(session) as writer:
        writer.event("start", None, source="cli", config=cfg.to_dict())
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
            task = progress.add_task("train", total=cfg.epochs, train="n/a", test=test, rate="-")

            def update(rec: EpochRecord) -> None:
                nonlocal test
                if rec.test_loss is not None:
                    test = _loss(rec.test_loss)
                rate = (rec.epoch + 1) / rec.wall_time if rec.wall_time > 0 else 0.0
                progress.update(
                    task,
                    completed=rec.epoch + 1,
                    train=_loss(rec.train_loss),
                    test=test,
                    rate=f"{rate:.1f}",
                )

            outcome = record_run(train(cfg), writer, update)
        summary: dict[str, Any] = {
            "finished": "done",
            "diverged": "stopped: loss diverged",
            "interrupted": "interrupted",
        }
        console.print(f"{summary[outcome]}: {writer.n_epochs} epochs in {out}")
    return 0 if outcome == "finished" else (1 if outcome == "diverged" else 130)
