"""Training inside the app: start, pause, resume, stop, quit; the live-follow rule."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from grutui.core.config import TrainConfig
from grutui.core.records import EpochRecord
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.train import TrainPane
from tests.helpers import shown as shown_text
from tests.helpers import tiny_config, until


def _text(app: GrutuiApp, sel: str) -> str:
    return str(app.screen.query_one(sel).render())


async def test_new_run_trains_to_the_end_and_closes_its_session(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=6)
    out = tmp_path / "run"
    app = GrutuiApp(new=(cfg, out, False))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await until(pilot, lambda: app.run_status == "finished")
        assert app.data is not None and app.data.n_epochs == 6
        assert app.epoch == 5  # followed the run from the start
        assert "6/6" in _text(app, "#train-rate")
        assert "finished" in _text(app, "#train-run")
        assert isinstance(app.screen, TrainPane)
    with Session(out) as s:
        assert s.n_epochs == 6
        assert [e["kind"] for e in s.events()][-1] == "finish"


async def test_pause_resume_stop_are_logged_and_the_session_is_closed(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=100_000)
    out = tmp_path / "run"
    app = GrutuiApp(new=(cfg, out, False))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.data is not None and app.data.n_epochs >= 2)
        await pilot.press("space")
        await until(pilot, lambda: app.run_status == "paused")
        assert "paused" in _text(app, "#train-run")
        n = app.data.n_epochs  # type: ignore[union-attr]
        # the claim is that time passes with no epoch: there is no event to wait for
        time.sleep(0.3)
        await pilot.pause(0.2)
        assert app.data.n_epochs == n  # type: ignore[union-attr]
        await pilot.press("space")
        await until(pilot, lambda: app.data.n_epochs > n)  # type: ignore[union-attr]
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: app.run_status == "stopped")
        assert not app.training
        shown = app.data.n_epochs  # type: ignore[union-attr]
    with Session(out) as s:  # readable: the worker closed it
        kinds = [e["kind"] for e in s.events()]
        assert kinds[0] == "start" and kinds[-1] == "stop"
        assert s.events()[-1]["reason"] == "user"
        assert "pause" in kinds and "unpause" in kinds
        assert s.n_epochs == shown < 100_000


async def test_quit_while_training_stops_the_worker(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=100_000)
    out = tmp_path / "run"
    app = GrutuiApp(new=(cfg, out, False))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.data is not None and app.data.n_epochs >= 1)
        await pilot.press("2")  # training goes on while browsing
        n = app.data.n_epochs  # type: ignore[union-attr]
        await until(pilot, lambda: app.data.n_epochs > n)  # type: ignore[union-attr]
        await pilot.press("q")
        await pilot.pause()
    assert all(d.is_set() for d in app._work_done)
    with Session(out) as s:
        assert s.events()[-1]["kind"] == "stop"


class _Gated:
    """A trainer that yields precomputed records only when the test releases them."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.records = list(train(cfg))
        self.gate = threading.Semaphore(0)

    def __call__(self, config: TrainConfig, should_stop: Callable[[], bool]) -> Iterator[Any]:
        for rec in self.records:
            while not self.gate.acquire(timeout=0.02):
                if should_stop():
                    return
            yield rec

    def release(self, n: int) -> None:
        for _ in range(n):
            self.gate.release()


async def test_cursor_follows_only_from_the_last_epoch(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=8)
    gated = _Gated(cfg)
    app = GrutuiApp(new=(cfg, tmp_path / "run", False), trainer=gated)
    async with app.run_test(size=(80, 24)) as pilot:
        d = lambda: app.data.n_epochs  # type: ignore[union-attr]  # noqa: E731
        gated.release(3)
        await until(pilot, lambda: d() == 3)
        assert app.epoch == 2  # on the last epoch: follows
        await pilot.press("left")
        assert app.epoch == 1
        gated.release(2)
        await until(pilot, lambda: d() == 5)
        assert app.epoch == 1  # elsewhere: never jumps
        await pilot.press("end")
        assert app.epoch == 4
        gated.release(3)
        await until(pilot, lambda: d() == 8)
        assert app.epoch == 7
        await app.workers.wait_for_complete()


async def test_worker_error_is_shown(tmp_path: Path) -> None:
    def broken(config: TrainConfig, should_stop: Callable[[], bool]) -> Iterator[EpochRecord]:
        yield from []
        raise RuntimeError("the GPU caught fire")

    app = GrutuiApp(new=(tiny_config(), tmp_path / "run", False), trainer=broken)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.training_error is not None)
        await pilot.pause()
        assert "the GPU caught fire" in _text(app, "#train-run")


async def test_a_session_another_process_writes_grows_in_the_app(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=6)
    recs = list(train(cfg))
    w = SessionWriter(tmp_path / "s", cfg)
    try:
        for r in recs[:3]:
            w.append(r)
        app = GrutuiApp(session=tmp_path / "s")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.data is not None and app.data.n_epochs == 3 and app.epoch == 2
            await pilot.press("left")
            for r in recs[3:]:
                w.append(r)
            await until(pilot, lambda: app.data.n_epochs == 6)  # type: ignore[union-attr]
            assert app.epoch == 1  # not on the last epoch: stays
            await pilot.press("end")
            assert app.epoch == 5
    finally:
        w.close()


def test_the_pull_timer_respects_textual_fps(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual import constants

    from grutui.ui.app import pull_interval

    assert pull_interval() == 0.2  # 5 Hz at Textual's default 60 fps
    monkeypatch.setattr(constants, "MAX_FPS", 4)
    assert pull_interval() == 0.25


async def test_a_live_run_is_pulled_not_pushed(tmp_path: Path) -> None:
    # the worker posts nothing: every epoch reaches the app through its driver's
    # snapshots, pulled on the app's timer, each record once
    cfg = tiny_config(epochs=8, device="cpu")
    gated = _Gated(cfg)
    app = GrutuiApp(new=(cfg, tmp_path / "run", False), trainer=gated)
    async with app.run_test(size=(80, 24)) as pilot:
        gated.release(8)
        await app.workers.wait_for_complete()
        await until(pilot, lambda: app.run_status == "finished")
        assert app.driver is not None and not app.live
        assert app.data is not None and app.data.metrics.epoch.tolist() == list(range(8))
        assert app.driver.pull().records == ()  # drained by the app's pulls
        assert app.device == "cpu" and app.threads == 1


async def test_closing_right_after_a_run_leaves_no_pull_behind(tmp_path: Path) -> None:
    # the pull timer may be due while the app tears its screens down: it must not fire
    app = GrutuiApp(new=(tiny_config(epochs=3), tmp_path / "run", False))
    async with app.run_test(size=(80, 24)):
        await app.workers.wait_for_complete()
    assert app.closing.is_set()
    assert app.visible_pane() is None  # the screens are gone, nothing raises
    app.pull_training()  # a pull that was due: ignored
    with Session(tmp_path / "run") as s:
        assert s.n_epochs == 3


async def test_a_followed_epoch_is_redrawn_at_a_bounded_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every number of a followed epoch changes each epoch: kilobytes per redraw over
    # SSH, so the pane redraws it at most every FOLLOW_EVERY; the cursor bar follows
    # every pull and the last epoch is always shown in the end
    from grutui.ui import app as app_module

    now = [0.0]
    monkeypatch.setattr(app_module, "follow_clock", lambda: now[0])
    cfg = tiny_config(epochs=8)
    gated = _Gated(cfg)
    app = GrutuiApp(new=(cfg, tmp_path / "run", False), trainer=gated)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.visible_pane() is not None)
        screen = app.visible_pane()
        assert screen is not None
        shown: list[int] = []
        real = screen.show_epoch

        def counting(data: Any, epoch: int, member: int) -> None:
            shown.append(epoch)
            real(data, epoch, member)

        screen.show_epoch = counting  # type: ignore[method-assign]
        gated.release(1)
        await until(pilot, lambda: 0 in shown)
        gated.release(2)
        await until(pilot, lambda: "epoch 2/2" in shown_text(app, "CursorBar"))
        assert 2 not in shown  # within FOLLOW_EVERY of the last redraw
        now[0] = 5.0  # time passes: the pending redraw shows the newest epoch
        await until(pilot, lambda: 2 in shown)
        assert shown.count(1) + shown.count(2) == 1
        gated.release(5)
        await app.workers.wait_for_complete()


async def test_the_run_line_reads_the_event_log_only_when_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scrubbing redraws the run line (device from the log) without re-reading the
    log; a changed log is read again."""
    out = tmp_path / "run"
    cfg = tiny_config(epochs=6)
    with SessionWriter(out, cfg) as w:
        w.event("start", None, source="test")
        for rec in train(cfg):
            w.append(rec)
    with Session(out) as s:
        data = RunData.from_session(s)
    reads: list[int] = []
    events = RunData.events

    def counted(self: RunData) -> list[dict[str, Any]]:
        reads.append(1)
        return events(self)

    monkeypatch.setattr(RunData, "events", counted)
    app = GrutuiApp(data=data, start_pane="train")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "device cpu" in _text(app, "#train-run")
        n = len(reads)
        await pilot.press("left", "left", "left", "home")
        assert len(reads) == n
        with (out / "events.jsonl").open("a") as f:
            f.write('{"kind": "clock", "t": 1, "epoch": 5, "device": "cuda:7"}\n')
        await pilot.press("right")
        assert len(reads) > n and "device cuda:7" in _text(app, "#train-run")
