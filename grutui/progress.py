"""``grutui train`` / ``grutui resume`` on a terminal: a run driver under a rich bar.

The driver trains in the main thread (Ctrl-C reaches the trainer and ends the run as
``interrupted``); a ticker thread pulls its snapshots at the bar's refresh rate.
"""

from __future__ import annotations

import errno
import threading
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from grutui.core.driver import RunDriver, RunSnapshot, exit_status
from grutui.core.numfmt import members_loss
from grutui.core.writer import DiskFullError

REFRESH_PER_SECOND = 5


def describe_write_error(exc: BaseException) -> str:
    if isinstance(exc, DiskFullError):
        return f"the disk is nearly full: {exc.strerror}; the session is intact"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"the disk is full ({exc.strerror or exc})"
    return f"cannot write the session ({exc})"


class _Bar:
    """The progress task, updated from pulled snapshots."""

    def __init__(self, progress: Progress, driver: RunDriver) -> None:
        self.progress = progress
        self.test = "n/a"
        self.task: TaskID = progress.add_task(
            "train",
            total=driver.config.epochs,
            completed=driver.first_epoch,
            train="n/a",
            test=self.test,
            rate="-",
        )

    def show(self, snap: RunSnapshot) -> None:
        if not snap.records:
            return
        for rec in snap.records:
            if rec.test_loss is not None:
                self.test = members_loss(rec.test_loss)
        last = snap.records[-1]
        self.progress.update(
            self.task,
            completed=last.epoch + 1,
            train=members_loss(last.train_loss),
            test=self.test,
            rate=f"{snap.rate:.1f}",
        )


def run_with_progress(driver: RunDriver, out: Path) -> int:
    """Run ``driver`` under a progress bar on stderr, then print a one-line summary;
    return the exit status: 0 finished, 1 diverged or write failed, 130 interrupted."""
    console = Console(stderr=True)
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
        refresh_per_second=REFRESH_PER_SECOND,
    )
    with progress:
        bar = _Bar(progress, driver)

        def tick() -> None:
            while not driver.done.wait(1 / REFRESH_PER_SECOND):
                bar.show(driver.pull())

        ticker = threading.Thread(target=tick, name="grutui-progress", daemon=True)
        ticker.start()
        try:
            outcome = driver.run()
        finally:
            ticker.join()
        last = driver.pull()
        bar.show(last)
    summary = {
        "finished": "done",
        "diverged": "stopped: loss diverged",
        "stopped": "stopped",
        "interrupted": "interrupted",
        "write_error": "stopped: " + describe_write_error(driver.write_error or OSError()),
    }
    console.print(f"{summary[outcome]}: {last.epochs} epochs in {out}")
    return exit_status(outcome)
