"""A session opened while another process creates, grows, resumes or ends it: the app
waits for the first epoch, says "live" while a run writes it and "recorded" after,
and its totals follow a resume."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from grutui.cli import main
from grutui.core.driver import RunDriver
from grutui.core.session import Session, open_growing
from grutui.core.train import train
from grutui.core.writer import SessionWriter, being_written
from grutui.ui import app as app_module
from grutui.ui.app import WAITING, GrutuiApp
from tests.helpers import make_session, shown, tiny_config, until

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def _quick_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher looks every 50 ms (a second in use): the tests wait on conditions."""
    monkeypatch.setattr(app_module, "WATCH_INTERVAL", 0.05)


def _bar(app: GrutuiApp) -> str:
    return shown(app, "CursorBar")


@pytest.mark.parametrize("created", [False, True])
async def test_open_waits_for_the_first_epoch_then_follows_live_then_recorded(
    tmp_path: Path, created: bool
) -> None:
    # created=False: `grutui open DIR` just after `grutui train --out DIR` made DIR;
    # True: the writer holds DIR (session.h5.part) but has no epoch yet
    cfg = tiny_config(epochs=6)
    recs = list(train(cfg))
    out = tmp_path / "run"
    out.mkdir()
    writer = SessionWriter(out, cfg) if created else None
    assert open_growing(out) is None  # worth waiting for, not an error
    app = GrutuiApp(session=out)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: WAITING in _bar(app))
            assert app.is_running and app.data is None
            assert "no epochs yet" in _bar(app)
            if writer is None:
                writer = SessionWriter(out, cfg)
            for r in recs[:3]:
                writer.append(r)
            await until(pilot, lambda: app.data is not None and app.data.n_epochs == 3)
            await until(pilot, lambda: "live" in shown(app, "#train-run"))
            assert app.epoch == 2 and "epoch 2/2" in _bar(app)
            assert "live" in _bar(app) and WAITING not in _bar(app)
            for r in recs[3:]:
                writer.append(r)
            writer.close()  # the run ends: the label switches
            await until(pilot, lambda: "recorded" in shown(app, "#train-run"))
            assert app.data is not None and app.data.n_epochs == 6 and app.epoch == 5
            assert "live" not in _bar(app)
    finally:
        if writer is not None:
            writer.close()


async def test_a_run_that_ends_before_its_first_epoch_is_said_inline(tmp_path: Path) -> None:
    out = tmp_path / "run"
    writer = SessionWriter(out, tiny_config())
    app = GrutuiApp(session=out)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: WAITING in _bar(app))
        writer.close()  # stopped before its first epoch: a session with no epoch
        await until(pilot, lambda: "before its first epoch" in _bar(app))
        assert app.is_running  # inline, no traceback, the app stays
        await pilot.press("2", "right", "g")
        assert app.is_running and app.current_mode == "browse"


async def test_no_run_ever_writes_the_directory_gives_up_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "WAIT_FOR_WRITER", 0.2)
    out = tmp_path / "empty"
    out.mkdir()
    app = GrutuiApp(session=out)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "no run has written" in _bar(app))
        assert app.is_running and app.data is None
        assert not any(w.group == "watch" and not w.is_finished for w in app.workers)


def test_open_refuses_in_one_line_a_run_that_ended_with_no_epoch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    SessionWriter(out, tiny_config()).close()  # stop event written, no epoch
    with Session(out) as s:
        assert s.n_epochs == 0
    assert main(["open", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "before its first epoch" in err


def test_open_refuses_in_one_line_a_run_killed_before_its_first_epoch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "session.h5.part").write_bytes(b"")  # what a kill -9 leaves behind
    assert main(["open", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "killed before its first epoch" in err


def test_a_viewer_probing_the_lock_never_keeps_a_writer_out(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    assert not being_written(out)
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            being_written(out)

    t = threading.Thread(target=probe)
    t.start()
    try:
        for _ in range(20):  # a writer starting while a viewer looks: it gets in
            w = SessionWriter(out, tiny_config(), overwrite=True)
            assert being_written(out)
            w.close()
    finally:
        stop.set()
        t.join()
    assert not being_written(out)


async def test_a_live_view_follows_a_resume_that_adds_epochs(tmp_path: Path) -> None:
    path = make_session(tmp_path / "run", tiny_config(epochs=4))
    app = GrutuiApp(session=path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "4/4" in shown(app, "#train-rate"))
        assert "recorded" in shown(app, "#train-run")
        driver = RunDriver.resume(path, 8)  # another process resumes it: 8 epochs now
        t = threading.Thread(target=driver.run)
        t.start()
        await until(pilot, lambda: app.data is not None and app.data.n_epochs == 8)
        t.join()
        await until(pilot, lambda: "recorded" in shown(app, "#train-run"))
        assert app.data is not None and app.data.config.epochs == 8
        assert "8/8" in shown(app, "#train-rate")  # not 8/4
        assert "epochs 8" in shown(app, "#train-run")
