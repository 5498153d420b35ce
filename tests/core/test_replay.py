"""Replay timeline maths: epochs by wall_time, events by t, compressed idle gaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grutui.core.recording import ActionRecorder
from grutui.core.replay import MAX_GAP, TARGET_SECONDS, ReplayClock, Timeline
from grutui.core.session import Session
from tests.helpers import DEMO, make_session, tiny_config

T0 = 1_700_000_000.0


def _ev(t: float, kind: str, epoch: int | None = None, **data: object) -> dict[str, object]:
    return {"t": t, "kind": kind, "epoch": epoch, **data}


def _headless(n: int = 100, dt: float = 0.01) -> Timeline:
    wall = dt * (np.arange(n) + 1)
    events = [
        _ev(T0 - 2.0, "start"),
        _ev(T0 + wall[0], "clock", 0, wall_time=wall[0]),
        _ev(T0 + wall[n // 2] + 1e-4, "lr_change", n // 2, old=1e-3, new=5e-4),
        _ev(T0 + wall[-1] + 1e-4, "finish", n - 1),
    ]
    return Timeline(np.arange(n), wall, events)


def test_headless_session_replays_its_training() -> None:
    tl = _headless()
    # the start event is 2 s before training: session time 0 is the start event
    assert tl.row_time(0) == pytest.approx(2.0 + 0.01)
    assert tl.duration == pytest.approx(2.0 + 1.0 + 1e-4)
    assert tl.state_at(0).row == -1 and tl.state_at(0).epoch is None
    assert tl.state_at(tl.row_time(10)).epoch == 10
    assert tl.state_at(tl.row_time(10) - 1e-6).epoch == 9
    assert tl.state_at(1e9).epoch == 99  # clamped to the end
    rows = [tl.state_at(t).row for t in np.linspace(0, tl.duration, 500)]
    assert rows == sorted(rows)
    assert [e.kind for e in tl.events] == ["start", "lr_change", "finish"]  # no clock
    st = tl.state_at(tl.duration)
    assert st.cursor is None and st.pane is None and st.bookmarks == {}
    assert st.last_event is not None and st.last_event.kind == "finish"


def test_idle_gaps_are_shortened() -> None:
    wall = [1.0, 2.0]
    events = [
        _ev(T0, "clock", 0, wall_time=1.0),
        _ev(T0 + 1.0 + 3600, "cursor", 0),  # browsed an hour later
        _ev(T0 + 1.0 + 3601, "pane", 0, pane="debug"),
    ]
    tl = Timeline([0, 1], wall, events)
    assert tl.row_time(1) - tl.row_time(0) == pytest.approx(1.0)
    assert tl.events[0].time - tl.row_time(1) == pytest.approx(MAX_GAP)
    assert tl.events[1].time - tl.events[0].time == pytest.approx(1.0)
    assert tl.duration == pytest.approx(1.0 + MAX_GAP + 1.0)


def test_auto_speed_fits_a_long_run_into_a_minute() -> None:
    long = _headless(3000, 0.25)  # the blog's 3000 epochs at 4 epochs/s
    assert long.duration > 700
    assert long.duration / long.default_speed == pytest.approx(TARGET_SECONDS)
    short = _headless(10, 0.1)
    assert short.default_speed == 1.0  # never faster-than-needed for short sessions


def test_actions_fold_into_the_ui_state_at_each_time() -> None:
    wall = np.arange(1, 11) * 0.5
    ev = [
        _ev(T0, "clock", 0, wall_time=0.5),
        _ev(T0 + 1.0, "cursor", 1),
        _ev(T0 + 1.5, "pane", 1, pane="debug"),
        _ev(T0 + 2.0, "sequence", 1, text="12:0 37:1"),
        _ev(T0 + 2.2, "step", 1, step=1),
        _ev(T0 + 2.4, "bookmark", 1, op="add", note="here"),
        _ev(T0 + 2.6, "member", 1, member=2),
        _ev(T0 + 3.0, "sequence", 1, text="5:1"),  # resets the step
        _ev(T0 + 3.5, "bookmark", 1, op="remove"),
        _ev(T0 + 3.6, "bogus-no-time"),
    ]
    del ev[-1]["t"]
    tl = Timeline(np.arange(10), wall, ev)
    at = tl.state_at
    base = tl.events[0].time - 1.0  # unix T0 on the session axis
    assert at(base + 1.6).pane == "debug" and at(base + 1.6).cursor == 1
    s = at(base + 2.5)
    assert s.sequence == "12:0 37:1" and s.step == 1 and 1 in s.bookmarks
    assert s.bookmarks[1].note == "here" and s.member is None
    s = at(base + 3.2)
    assert s.sequence == "5:1" and s.step is None and s.member == 2 and 1 in s.bookmarks
    assert at(base + 4).bookmarks == {}
    assert at(base + 4).last_action is not None
    assert len(tl.events) == 8  # the event without a time is ignored
    # stepping and ranges
    nxt = tl.next_event_after(base + 1.0)
    assert nxt is not None and nxt.kind == "pane"
    nb = tl.next_event_after(base, kinds=["bookmark"])
    assert nb is not None and nb.data["op"] == "add"
    assert tl.next_event_after(tl.duration) is None
    prev = tl.prev_event_before(base + 2.0)
    assert prev is not None and prev.kind == "pane"
    assert [e.kind for e in tl.events_between(base + 1.0, base + 2.0)] == ["pane", "sequence"]


def test_view_events_fold_into_each_panes_latest_choices() -> None:
    seeds = {"view": "degeneracy", "level": "weights"}
    ev = [
        _ev(T0, "clock", 0, wall_time=0.5),
        _ev(T0 + 1.0, "view", 0, pane="seeds", state={"view": "degeneracy", "level": "dynamics"}),
        _ev(T0 + 1.5, "view", 0, pane="ood", state={"metric": "error"}),
        _ev(T0 + 2.0, "view", 0, pane="seeds", state=seeds),
        _ev(T0 + 2.5, "view", 0, pane="seeds", state="not a dict"),  # ignored
        _ev(T0 + 2.6, "view", 0, state={"view": "members"}),  # no pane: ignored
        _ev(T0 + 2.7, "zoom", 0, factor=2),  # a kind this version does not know
    ]
    tl = Timeline(np.arange(2), [0.5, 1.0], ev)
    base = tl.events[0].time - 1.0  # unix T0 on the session axis
    assert tl.state_at(base + 0.5).views == {}
    first = tl.state_at(base + 1.6)
    assert first.views == {
        "seeds": {"view": "degeneracy", "level": "dynamics"},
        "ood": {"metric": "error"},
    }
    last = tl.state_at(tl.duration)
    assert last.views == {"seeds": seeds, "ood": {"metric": "error"}}
    assert first.views["seeds"]["level"] == "dynamics"  # earlier states are kept as they were
    assert [e.is_action for e in tl.events] == [True] * 5 + [False]
    # a log without view events (every session recorded before them) folds as before
    old = Timeline(np.arange(2), [0.5, 1.0], [e for e in ev if e["kind"] != "view"])
    assert old.state_at(old.duration).views == {}


def test_resumed_run_places_recomputed_epochs_after_the_resume() -> None:
    # run 1: epochs 0..7 then killed; resumed from epoch 5 a day later (wall continues)
    wall = np.arange(1, 11) * 1.0  # rows 0..9 in the final session
    ev = [
        _ev(T0, "clock", 0, wall_time=1.0),
        _ev(T0 + 86400, "resume", 5, from_epoch=5),
        _ev(T0 + 86400 + 0.5, "clock", 6, wall_time=7.0),
    ]
    tl = Timeline(np.arange(10), wall, ev)
    resume = tl.events[0]
    assert tl.row_time(5) < resume.time < tl.row_time(6)
    assert np.all(np.diff(tl.row_times) > 0)
    assert tl.duration == pytest.approx(tl.row_time(9))
    assert tl.row_time(6) - resume.time == pytest.approx(0.5)


def test_replay_clock_controls() -> None:
    now = [0.0]
    tl = _headless(100, 0.1)  # duration ≈ 12 s
    ck = ReplayClock(tl, speed=2.0, clock=lambda: now[0])
    assert ck.playing and ck.position() == 0
    now[0] = 1.0
    assert ck.position() == pytest.approx(2.0)
    ck.pause()
    now[0] = 5.0
    assert ck.position() == pytest.approx(2.0) and not ck.playing
    ck.play()
    ck.faster()  # ×2 → 4
    now[0] = 6.0
    assert ck.position() == pytest.approx(6.0) and ck.speed == 4.0
    ck.slower(4)
    now[0] = 7.0
    assert ck.position() == pytest.approx(7.0)
    ev = ck.step_next(kinds=["lr_change"])
    assert ev is not None and ck.position() == pytest.approx(ev.time)
    assert ck.state().epoch == 50
    now[0] = 1000.0
    assert ck.position() == pytest.approx(tl.duration) and not ck.playing  # paused at end
    ck.play()  # play at the end restarts
    assert ck.position() == 0
    ck.seek_end()
    assert ck.state().epoch == 99
    ck.seek_start()
    assert ck.step_prev() is None
    with pytest.raises(ValueError):
        ck.set_speed(0)
    with pytest.raises(ValueError):
        ReplayClock(tl, speed=float("nan"))


def test_from_a_real_session_with_recorded_actions(tmp_path: Path) -> None:
    d = make_session(tmp_path / "s", tiny_config(epochs=5))
    with ActionRecorder(d, background=False) as rec:
        rec.cursor(2)
        rec.pane("browse", 2)
        rec.bookmark("add", 3, "look")
    with Session(d) as s:
        tl = Timeline.from_session(s)
    assert len(tl.row_times) == 5 and np.all(np.diff(tl.row_times) >= 0)
    end = tl.state_at(tl.duration)
    assert end.epoch == 4 and end.cursor == 2 and end.pane == "browse"
    assert end.bookmarks[3].note == "look"
    assert [e.kind for e in tl.events][:1] == ["start"]


def test_the_demo_session_replays_in_under_a_minute() -> None:
    # recorded before clock events existed: anchored on its start event
    with Session(DEMO) as s:
        tl = Timeline.from_session(s)
    assert len(tl.row_times) == 3000
    assert tl.duration / tl.default_speed <= 60
    assert tl.state_at(tl.duration).epoch == 2999
