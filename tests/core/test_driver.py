"""The run driver: events, pause/stop as events (no polling), frozen snapshots."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from grutui.core.buffered import BufferedWriter
from grutui.core.config import TrainConfig
from grutui.core.driver import RunDriver, exit_status
from grutui.core.records import EpochRecord
from grutui.core.session import Session
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.helpers import tiny_config

EPOCHS = 6
KINDS = ("start", "pause", "unpause", "stop", "finish")


@pytest.fixture(scope="module")
def cfg() -> TrainConfig:
    return tiny_config(epochs=EPOCHS, device="cpu")


@pytest.fixture(scope="module")
def recs(cfg: TrainConfig) -> list[EpochRecord]:
    return list(train(cfg))


class _Spy(BufferedWriter):
    """A buffered writer that signals each run event it logs (tests wait on them)."""

    def __init__(self, writer: SessionWriter) -> None:
        super().__init__(writer)
        self.logged = {k: threading.Event() for k in KINDS}

    def event(self, kind: str, epoch: int | None = None, **data: Any) -> None:
        super().event(kind, epoch, **data)
        if kind in self.logged:
            self.logged[kind].set()


class _Steps:
    """A trainer over precomputed records, one ``should_stop`` call per step; it can
    call ``on_step(i)`` first (a user acting at a known moment)."""

    def __init__(self, recs: list[EpochRecord]) -> None:
        self.recs = recs
        self.calls = 0
        self.on_step: Callable[[int], None] = lambda i: None

    def __call__(self, should_stop: Callable[[], bool]) -> Iterator[EpochRecord]:
        for i, rec in enumerate(self.recs):
            self.on_step(i)
            self.calls += 1
            if should_stop():
                return
            yield rec


def _driver(tmp_path: Path, cfg: TrainConfig, steps: _Steps) -> tuple[RunDriver, _Spy]:
    spy: list[_Spy] = []

    def open_writer() -> _Spy:
        w = _Spy(SessionWriter(tmp_path / "s", cfg))
        w.event("start", None, source="test")
        spy.append(w)
        return w

    driver = RunDriver(cfg, open_writer, steps)
    driver.open()
    return driver, spy[0]


def _in_thread(driver: RunDriver) -> tuple[threading.Thread, list[str]]:
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(driver.run()))
    t.start()
    return t, out


def _kinds(path: Path) -> list[str]:
    with Session(path) as s:
        return [e["kind"] for e in s.events() if e["kind"] in KINDS]


def test_a_run_logs_start_and_finish_and_hands_out_each_record_once(
    tmp_path: Path, cfg: TrainConfig
) -> None:
    driver = RunDriver.new(cfg, tmp_path / "s", source="test")
    first = driver.pull()
    assert not first.started and first.outcome is None and first.records == ()
    assert driver.run() == "finished" and driver.done.is_set()
    snap = driver.pull()
    assert [r.epoch for r in snap.records] == list(range(EPOCHS))
    assert snap.epochs == EPOCHS and snap.epoch == EPOCHS - 1 and snap.outcome == "finished"
    assert snap.started and not snap.paused and snap.device == "cpu" and snap.threads == 1
    assert snap.rate > 0
    again = driver.pull()  # a pull drains: the next one has only the state
    assert again.records == () and again.epochs == EPOCHS
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.outcome = "stopped"  # type: ignore[misc]
    assert isinstance(snap.records, tuple)
    with Session(tmp_path / "s") as s:
        assert s.n_epochs == EPOCHS
        start = s.events()[0]
        assert start["kind"] == "start" and start["source"] == "test" and "config" in start
    assert _kinds(tmp_path / "s") == ["start", "finish"]
    assert exit_status("finished") == 0


def test_pause_holds_the_trainer_on_an_event_until_unpaused(
    tmp_path: Path,
    cfg: TrainConfig,
    recs: list[EpochRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = _Steps(recs)
    driver, spy = _driver(tmp_path, cfg, steps)
    steps.on_step = lambda i: driver.pause() if i == 2 else None
    sleepers: list[str] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:  # a polling loop in the trainer's thread shows here
        sleepers.append(threading.current_thread().name)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    t, out = _in_thread(driver)
    assert spy.logged["pause"].wait(30)
    snap = driver.pull()
    assert snap.paused and driver.pause_requested and snap.outcome is None
    assert [r.epoch for r in snap.records] == [0, 1]
    assert steps.calls == 3  # the third step's should_stop is the one holding
    driver.unpause()
    t.join(30)
    assert out == ["finished"]
    assert steps.calls == EPOCHS  # one should_stop per step, none while paused
    assert t.name not in sleepers
    assert _kinds(tmp_path / "s") == ["start", "pause", "unpause", "finish"]
    with Session(tmp_path / "s") as s:
        assert s.n_epochs == EPOCHS
        pause = [e for e in s.events() if e["kind"] == "pause"]
        assert pause[0]["epoch"] == 1  # the last epoch done when the pause began
    assert not driver.pull().paused


def test_stop_wakes_a_paused_run(tmp_path: Path, cfg: TrainConfig, recs: list[EpochRecord]) -> None:
    steps = _Steps(recs)
    driver, spy = _driver(tmp_path, cfg, steps)
    steps.on_step = lambda i: driver.pause() if i == 3 else None
    t, out = _in_thread(driver)
    assert spy.logged["pause"].wait(30)
    driver.stop()
    t.join(30)
    assert not t.is_alive() and out == ["stopped"]
    assert steps.calls == 4
    assert _kinds(tmp_path / "s") == ["start", "pause", "stop"]  # no unpause: it stopped
    with Session(tmp_path / "s") as s:
        assert s.n_epochs == 3 and s.events()[-1]["reason"] == "user"
    snap = driver.pull()
    assert snap.outcome == "stopped" and not snap.paused and snap.epochs == 3
    driver.pause()  # after a stop a pause cannot hold anything
    assert not driver.pause_requested


def test_ctrl_c_ends_the_run_as_interrupted(
    tmp_path: Path, cfg: TrainConfig, recs: list[EpochRecord]
) -> None:
    def interrupted(should_stop: Callable[[], bool]) -> Iterator[EpochRecord]:
        yield from recs[:2]
        raise KeyboardInterrupt

    spy = _Spy(SessionWriter(tmp_path / "s", cfg))
    driver = RunDriver(cfg, lambda: spy, interrupted)
    assert driver.run() == "interrupted" and exit_status("interrupted") == 130
    with Session(tmp_path / "s") as s:
        assert s.n_epochs == 2
        assert s.events()[-1]["kind"] == "stop" and s.events()[-1]["reason"] == "interrupted"


def test_a_trainer_error_is_raised_after_the_session_is_closed(
    tmp_path: Path, cfg: TrainConfig, recs: list[EpochRecord]
) -> None:
    def broken(should_stop: Callable[[], bool]) -> Iterator[EpochRecord]:
        yield recs[0]
        raise RuntimeError("the GPU caught fire")

    spy = _Spy(SessionWriter(tmp_path / "s", cfg))
    driver = RunDriver(cfg, lambda: spy, broken)
    with pytest.raises(RuntimeError, match="caught fire"):
        driver.run()
    assert driver.done.is_set() and driver.pull().outcome == "error"
    with Session(tmp_path / "s") as s:  # closed: readable, the epoch before kept
        assert s.n_epochs == 1


def test_resume_goes_through_the_same_driver(
    tmp_path: Path, cfg: TrainConfig, recs: list[EpochRecord]
) -> None:
    steps = _Steps(recs)
    first, _spy = _driver(tmp_path, cfg, steps)
    steps.on_step = lambda i: first.stop() if i == 3 else None
    assert first.run() == "stopped"  # after epoch 2: its state is saved on close
    driver = RunDriver.resume(tmp_path / "s")
    assert driver.first_epoch == 3
    assert driver.run() == "finished"
    snap = driver.pull()
    assert [r.epoch for r in snap.records] == list(range(3, EPOCHS))
    assert snap.epochs == EPOCHS and snap.rate > 0
    assert _kinds(tmp_path / "s") == ["start", "stop", "finish"]
    with Session(tmp_path / "s") as s:
        assert [e["from_epoch"] for e in s.events() if e["kind"] == "resume"] == [2]
        assert s.n_epochs == EPOCHS
