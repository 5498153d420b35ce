"""Recording, bookmarks, replay and live watching in the app (80×24, real keys).

Replays run on a fake clock the test advances (``replay_clock``), and frames are drawn
by calling the replayer's tick, so nothing here sleeps for the replay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from grutui.core import recording
from grutui.core.events import read_events
from grutui.core.paths import EVENTS_NAME
from grutui.core.rundata import RunData
from grutui.core.sequence import parse_sequence
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from grutui.ui.bookmarks import BookmarkListDialog, BookmarkNoteDialog
from grutui.ui.dialogs import HelpScreen
from grutui.ui.panes.debug import DebugPane
from grutui.ui.panes.train import TrainPane
from grutui.ui.widgets.cursorbar import CursorBar
from tests.helpers import (
    REPLAY_EPOCHS,
    REPLAY_T0,
    REPO,
    FakeClock,
    child_env,
    replay_session,
    tiny_config,
    until,
    write_replay_log,
)
from tests.ui.noting import Noting

EPOCHS = REPLAY_EPOCHS
T0 = REPLAY_T0  # unix time of the first epoch in hand-written logs


def _bar(app: GrutuiApp) -> str:
    return str(app.screen.query_one(CursorBar).render())


# -- recording -------------------------------------------------------------------------


async def test_actions_are_recorded_with_their_fields(tmp_path: Path) -> None:
    path = replay_session(tmp_path / "run", members=2)
    before = len(read_events(path / EVENTS_NAME))
    h5 = (path / "session.h5").read_bytes()
    app = GrutuiApp(session=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.recorder is not None and app.recorder.enabled
        await pilot.press("left", "left", "pageup")  # coalesced: the final epoch is kept
        await pilot.press("2", "3")
        await pilot.press("i", *"5:1 7:1", "enter")
        await pilot.press("n")
        await pilot.press("1", "m")
    assert (path / "session.h5").read_bytes() == h5  # only the event log is written
    events = read_events(path / EVENTS_NAME)[before:]
    kinds = [e["kind"] for e in events]
    last = EPOCHS - 1
    cursors = [e["epoch"] for e in events if e["kind"] == "cursor"]
    assert cursors and cursors[-1] == last - 12
    panes = [e["pane"] for e in events if e["kind"] == "pane"]
    assert panes == ["browse", "debug", "train"]
    seq = [e for e in events if e["kind"] == "sequence"]
    assert len(seq) == 1 and parse_sequence(seq[0]["text"]) == parse_sequence("5:1 7:1")
    assert [e["step"] for e in events if e["kind"] == "step"] == [1]
    assert [e["member"] for e in events if e["kind"] == "member"] == [1]
    # in the order they happened, each with a time and the cursor epoch
    assert kinds.index("cursor") < kinds.index("pane") < kinds.index("sequence")
    assert kinds.index("sequence") < kinds.index("step")
    assert all(isinstance(e["t"], float) for e in events)
    assert all(e["epoch"] == last - 12 for e in events if e["kind"] in ("pane", "step"))


async def test_a_run_trained_in_the_app_records_into_its_session(tmp_path: Path) -> None:
    out = tmp_path / "new"
    app = GrutuiApp(new=(tiny_config(epochs=4), out, False))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.run_status == "finished")
        assert app.recorder is not None
        await pilot.press("home", "2", "1")
        app.recorder.flush()
        pane = app.screen
        assert isinstance(pane, TrainPane) and app.data is not None
        pane._events(app.data)  # the pane's event list: training events, not actions
        shown = str(pane.query_one("#train-events").render())
        assert "finish" in shown and "cursor" not in shown and "pane" not in shown
    events = read_events(out / EVENTS_NAME)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "start" and "finish" in kinds  # the worker's training events
    assert kinds.index("finish") < kinds.index("cursor") < kinds.index("pane")
    assert [e["pane"] for e in events if e["kind"] == "pane"] == ["browse", "train"]
    assert [e["epoch"] for e in events if e["kind"] == "cursor"] == [0]


async def test_an_unwritable_session_is_browsed_without_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = replay_session(tmp_path / "run")

    def refuse(self: Any, p: Path) -> None:
        raise PermissionError(13, "Permission denied", str(p))

    monkeypatch.setattr(recording.EventLog, "__init__", refuse)
    app = Noting(session=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("left", "2", "1", "left")
        assert app.recorder is None and app.epoch == EPOCHS - 3
        notes = [n for n in app.notes if "not recording" in n]
        assert len(notes) == 1 and "Permission denied" in notes[0]


# -- bookmarks -------------------------------------------------------------------------


async def test_bookmarks_add_list_jump_and_persist(tmp_path: Path) -> None:
    path = replay_session(tmp_path / "run")
    app = GrutuiApp(session=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("left", "left", "left", "b")
        assert isinstance(app.screen, BookmarkNoteDialog)
        await pilot.press(*"plateau ends", "enter")
        assert not isinstance(app.screen, BookmarkNoteDialog)
        assert "★ plateau ends" in _bar(app)  # shown while the cursor is on it
        await pilot.press("left")
        assert "★" not in _bar(app)
        await pilot.press("right")
        await pilot.press("home", "b", *"start", "enter")
        await pilot.press("end", "B")
        assert isinstance(app.screen, BookmarkListDialog)
        listing = app.screen.query_one(OptionList)
        assert listing.option_count == 2
        await pilot.press("down", "enter")  # by epoch: 0 first, then ours
        assert app.epoch == EPOCHS - 4
        await pilot.press("B", "escape")
        assert not isinstance(app.screen, BookmarkListDialog) and app.epoch == EPOCHS - 4
        await pilot.press("left", "b", *"oops", "enter", "B", "down", "d")  # 0, 35, 36
        listing = app.screen.query_one(OptionList)
        assert listing.option_count == 2 and EPOCHS - 5 not in app.bookmarks
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        assert "Bookmark this epoch" in text and "List bookmarks" in text
    again = GrutuiApp(session=path)
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        marks = [(b.epoch, b.note) for b in again.bookmarks.items()]
        assert marks == [(0, "start"), (EPOCHS - 4, "plateau ends")]


# -- replay ----------------------------------------------------------------------------


async def test_replay_grows_the_run_with_time_pauses_and_seeks(tmp_path: Path) -> None:
    path = replay_session(tmp_path / "run")  # as written by the trainer: no user actions
    log_before = (path / EVENTS_NAME).read_bytes()
    clock = FakeClock()
    app = GrutuiApp(session=path, replay=1.0, replay_clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rp = app.replayer
        assert rp is not None and app.data is not None
        assert app.data.n_epochs == 1 and app.epoch == 0
        assert "replay ▶ 0:00/0:39 ×1" in _bar(app)
        clock.now = 10.0  # the app's own timer draws the frame
        await until(pilot, lambda: app.epoch == 10)
        assert app.data.n_epochs == 11
        assert "epoch 10/10" in _bar(app) and "0:10/0:39" in _bar(app)
        await pilot.press("space")  # pause
        clock.now = 30.0
        rp.tick()
        assert app.epoch == 10 and "paused" in _bar(app)
        await pilot.press("space", "plus")  # play, twice as fast
        clock.now = 35.0
        rp.tick()
        assert app.epoch == 20 and "×2" in _bar(app)
        await pilot.press("dollar_sign")  # the end
        assert app.epoch == EPOCHS - 1 and app.data.n_epochs == EPOCHS
        assert f"epoch {EPOCHS - 1}/{EPOCHS - 1}" in _bar(app) and "paused" in _bar(app)
        await pilot.press("circumflex_accent")  # back to the start: the run regrows
        assert app.data.n_epochs == 1 and app.epoch == 0
        await pilot.press("minus", "minus")
        assert "×0.5" in _bar(app)
    assert (path / EVENTS_NAME).read_bytes() == log_before  # a replay records nothing


async def test_replay_applies_recorded_actions_at_their_times(tmp_path: Path) -> None:
    path = replay_session(tmp_path / "run")
    write_replay_log(
        path,
        [
            {"t": T0 + 25.5, "kind": "cursor", "epoch": 7},
            {"t": T0 + 26.5, "kind": "pane", "epoch": 7, "pane": "debug"},
            {"t": T0 + 27.5, "kind": "sequence", "epoch": 7, "text": "3:1 4:1 5:0"},
            {"t": T0 + 28.5, "kind": "step", "epoch": 7, "step": 2},
            {"t": T0 + 29.5, "kind": "bookmark", "epoch": 7, "op": "add", "note": "look"},
        ],
    )
    clock = FakeClock()
    app = GrutuiApp(session=path, replay=1.0, replay_clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rp = app.replayer
        assert rp is not None and app.data is not None
        await pilot.press("space", "e")  # paused; the first event: the cursor move
        assert app.data.n_epochs == 26 and app.epoch == 7
        assert app.current_mode == "train"
        await pilot.press("e")
        await pilot.pause()
        assert app.current_mode == "debug"
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, DebugPane))
        rp.tick()
        pane = app.screen
        assert isinstance(pane, DebugPane)
        assert pane.steps == parse_sequence("3:1 4:1 5:0") and pane.t == 0
        await pilot.press("e")
        assert pane.t == 2
        await pilot.press("e")
        assert [(b.epoch, b.note) for b in app.bookmarks.items()] == [(7, "look")]
        # typing in the debugger: space is a character, not play/pause
        playing = rp.clock.playing
        await pilot.press("i", "space")
        assert pane.query_one("#debug-input", Input).value.endswith(" ")
        assert rp.clock.playing == playing
        await pilot.press("escape", "space")
        assert rp.clock.playing != playing
        await pilot.press("space")
        # played through in time too: from the start, the cursor follows the run
        # until the recorded move at 25.5 s
        await pilot.press("circumflex_accent", "space")
        assert app.epoch == 0 and not app.bookmarks.items()
        clock.now += 25.0
        rp.tick()
        assert app.epoch == 25
        clock.now += 1.0
        rp.tick()
        assert app.epoch == 7 and app.data.last_epoch == 26


async def test_the_train_pane_lists_the_events_up_to_the_replay_time(tmp_path: Path) -> None:
    path = replay_session(tmp_path / "run")
    write_replay_log(
        path,
        [
            {"t": T0 + 15, "kind": "lr_change", "epoch": 15, "old": 0.01, "new": 0.001},
            {"t": T0 + 39.5, "kind": "finish", "epoch": EPOCHS - 1},
        ],
    )
    clock = FakeClock()
    app = GrutuiApp(session=path, replay=1.0, replay_clock=clock)

    def shown() -> str:
        return str(app.screen.query_one("#train-events").render())

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rp = app.replayer
        assert rp is not None
        clock.now = 10.0
        rp.tick()
        assert "lr_change" not in shown()
        clock.now = 16.0
        rp.tick()
        assert "lr_change @ 15" in shown() and "finish" not in shown()
        await pilot.press("dollar_sign")
        assert "finish @ 39" in shown()
        await pilot.press("circumflex_accent")
        assert "lr_change" not in shown() and "finish" not in shown()
        assert app.data is not None and app.data.events() == []


async def test_the_demo_replays_within_a_minute_by_default() -> None:
    from grutui.core.replay import Timeline
    from tests.helpers import DEMO

    with Session(DEMO) as s:
        tl = Timeline.from_session(RunData.from_session(s))
    assert len(tl.row_times) == 3000
    assert tl.duration / tl.default_speed < 60


# -- live watching -----------------------------------------------------------------------

WRITER = """
import sys, types
import numpy as np
from grutui.core.layout import param_shapes
from grutui.core.writer import SessionWriter
from tests.helpers import tiny_config

cfg = tiny_config(epochs=50, hidden=2)
rng = np.random.default_rng(0)
shapes = param_shapes(2)

def rec(e):
    w = {k: rng.normal(size=(1, *s)).astype(np.float32) for k, s in shapes.items()}
    return types.SimpleNamespace(epoch=e, train_loss=np.array([1.0 / (e + 1)]),
        test_loss=None, lr=np.array([1e-3]), wall_time=float(e), weights=w,
        initial_weights=w if e == 0 else None, events=[], diverged=False, state=None,
        members=1)

with SessionWriter(sys.argv[1], cfg) as w:
    for e in range(3):
        w.append(rec(e))
    print("ready", flush=True)
    sys.stdin.readline()
    for e in range(3, 7):
        w.append(rec(e))
    print("more", flush=True)
    sys.stdin.readline()
"""


async def test_an_open_session_picks_up_epochs_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "live"
    env = child_env()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        app = GrutuiApp(session=path)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.data is not None and app.data.n_epochs == 3 and app.epoch == 2
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "more"
            await until(pilot, lambda: app.data is not None and app.data.n_epochs == 7)
            assert app.epoch == 6 and "epoch 6/6" in _bar(app)  # followed the run
            await pilot.press("left")
        proc.stdin.write("done\n")
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with Session(path) as s:  # intact, the writer's epochs all there
        assert s.n_epochs == 7
    assert [e["epoch"] for e in read_events(path / EVENTS_NAME) if e["kind"] == "cursor"] == [5]


async def test_replay_ticks_while_switching_to_the_analysis_panes(tmp_path: Path) -> None:
    # a tick can reach a pane between its compose and its Mount: it must cope
    path = replay_session(tmp_path / "run")
    clock = FakeClock()
    app = GrutuiApp(session=path, replay=1.0, replay_clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rp = app.replayer
        assert rp is not None
        for key in "456":
            app.action_pane({"4": "ood", "5": "transitions", "6": "seeds"}[key])
            for _ in range(3):
                clock.now += 1.0
                rp.tick()
            await pilot.pause()
        assert app.current_mode == "seeds" and app.epoch == int(clock.now)
