"""ActionRecorder: cheap, coalesced, thread-safe user-action recording; bookmarks."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path

import pytest

from grutui.core.events import EventLog, read_events, read_session_events
from grutui.core.paths import EVENTS_NAME
from grutui.core.recording import ActionRecorder, Bookmarks, bookmarks_from
from tests.helpers import wait_until


def _kinds(d: Path) -> list[str]:
    return [e["kind"] for e in read_events(d / EVENTS_NAME)]


def test_rapid_cursor_moves_are_coalesced_but_the_last_is_kept(tmp_path: Path) -> None:
    with ActionRecorder(tmp_path, cursor_interval=10.0, background=False) as rec:
        for e in range(500):  # holding → for a while
            rec.cursor(e)
    evs = read_events(tmp_path / EVENTS_NAME)
    assert [e["epoch"] for e in evs] == [0, 499]  # first at once, final on close


def test_cursor_moves_are_rate_limited_not_dropped(tmp_path: Path) -> None:
    with ActionRecorder(tmp_path, cursor_interval=0.02, background=False) as rec:
        t_end = time.time() + 0.3
        e = 0
        while time.time() < t_end:
            rec.cursor(e)
            e += 1
        final = e - 1
    epochs = [ev["epoch"] for ev in read_events(tmp_path / EVENTS_NAME)]
    assert epochs[-1] == final and epochs == sorted(epochs)
    assert 3 <= len(epochs) <= 0.3 / 0.02 + 3  # about one per interval, not one per call
    ts = [ev["t"] for ev in read_events(tmp_path / EVENTS_NAME)]
    assert all(b - a >= 0.02 - 1e-3 for a, b in itertools.pairwise(ts[:-1]))


def test_a_held_view_key_keeps_the_latest_view_of_its_pane(tmp_path: Path) -> None:
    with ActionRecorder(tmp_path, cursor_interval=10.0, background=False) as rec:
        for row in range(50):  # holding ↓ in Browse
            rec.record("view", 3, pane="browse", state={"row": row})
        rec.record("view", 3, pane="seeds", state={"level": "weights"})
        rec.record("view", 3, pane="browse", state={"row": 50})
        rec.cursor(4)
        rec.record("view", 4, pane="browse", state={"row": 51})
    got = [(e["kind"], e.get("pane"), e.get("state")) for e in read_events(tmp_path / EVENTS_NAME)]
    assert got == [
        ("view", "browse", {"row": 49}),
        ("view", "seeds", {"level": "weights"}),
        ("view", "browse", {"row": 50}),
        ("cursor", None, None),
        ("view", "browse", {"row": 51}),
    ]
    # slower than the interval: every view is kept
    (tmp_path / "slow").mkdir()
    with ActionRecorder(tmp_path / "slow", cursor_interval=0.0, background=False) as rec:
        for row in range(3):
            rec.record("view", 3, pane="browse", state={"row": row})
    assert len(read_events(tmp_path / "slow" / EVENTS_NAME)) == 3


def test_other_actions_keep_order_and_fields(tmp_path: Path) -> None:
    with ActionRecorder(tmp_path, cursor_interval=10.0, background=False) as rec:
        rec.cursor(1)
        rec.cursor(7)  # pending: must be written before the pane switch
        rec.pane("debug", 7)
        rec.sequence("12:0 37:1", 7)
        rec.step(2, 7)
        rec.member(1, 7)
        rec.cursor(7)  # no move: nothing new
    evs = read_events(tmp_path / EVENTS_NAME)
    assert [(e["kind"], e["epoch"]) for e in evs] == [
        ("cursor", 1),
        ("cursor", 7),
        ("pane", 7),
        ("sequence", 7),
        ("step", 7),
        ("member", 7),
    ]
    assert evs[2]["pane"] == "debug" and evs[3]["text"] == "12:0 37:1"
    assert evs[4]["step"] == 2 and evs[5]["member"] == 1
    assert all(isinstance(e["t"], float) for e in evs)


def test_background_thread_flushes_without_close(tmp_path: Path) -> None:
    rec = ActionRecorder(tmp_path, cursor_interval=0.01, flush_interval=0.02)
    rec.cursor(3)
    rec.cursor(4)  # younger than the interval: flushed by a later tick
    wait_until(lambda: len(read_events(tmp_path / EVENTS_NAME)) >= 2, timeout=5)
    assert [e["epoch"] for e in read_events(tmp_path / EVENTS_NAME)] == [3, 4]
    rec.close()


def test_a_recorder_and_a_training_writer_share_the_log_safely(tmp_path: Path) -> None:
    # the training worker's EventLog and the UI's recorder append to one file from
    # two threads: every line must stay whole
    log = EventLog(tmp_path / EVENTS_NAME)
    rec = ActionRecorder(log, cursor_interval=0.0, flush_interval=0.001)
    big = "x" * 5000  # longer than one stdio buffer

    def trainer() -> None:
        for i in range(300):
            log.append("lr_change", i, note=big)

    th = threading.Thread(target=trainer)
    th.start()
    for i in range(300):
        rec.sequence(f"{i}:1 {big}", i)
    th.join()
    rec.close()
    log.close()
    lines = (tmp_path / EVENTS_NAME).read_text().splitlines()
    assert len(lines) == 600
    parsed = [json.loads(line) for line in lines]
    assert sum(e["kind"] == "sequence" for e in parsed) == 300


def test_a_torn_last_line_does_not_swallow_the_next_event(tmp_path: Path) -> None:
    p = tmp_path / EVENTS_NAME
    p.write_text('{"t": 1, "kind": "start", "epoch": null}\n{"t": 2, "kind": "cl')
    log = EventLog(p)
    log.append("resume", 3)
    log.close()
    assert _kinds(tmp_path) == ["start", "resume"]


def test_recording_never_raises_on_a_read_only_session(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        rec = ActionRecorder(ro, background=False)
        rec.cursor(1)
        rec.bookmark("add", 1, "x")
        rec.close()
        # in place (root ignores permissions) or in the read-only session's data dir
        assert rec.error is None
        assert [e["kind"] for e in read_session_events(ro)] == ["cursor", "bookmark"]
    finally:
        ro.chmod(0o700)


def test_bookmarks_add_list_remove_persist(tmp_path: Path) -> None:
    rec = ActionRecorder(tmp_path, background=False)
    marks = Bookmarks.load(tmp_path, rec)
    assert len(marks) == 0
    marks.add(120, "loss  plateau\nends")
    marks.add(40, "first drop")
    marks.add(120, "plateau ends")  # one note per epoch: replaced
    marks.add(700, "tmp")
    assert marks.remove(700) and not marks.remove(701)
    # written at once: another reader sees them before the recorder closes
    again = Bookmarks.load(tmp_path)
    assert [(b.epoch, b.note) for b in again.items()] == [(40, "first drop"), (120, "plateau ends")]
    assert again.next_after(40) == again.get(120) and again.next_after(120) is None
    assert again.prev_before(120) == again.get(40) and 40 in again
    rec.close()
    with pytest.raises(ValueError):
        rec.bookmark("toggle", 1)
    assert bookmarks_from([{"kind": "bookmark", "epoch": "x", "op": "add"}]) == {}


def test_recording_is_cheap(tmp_path: Path) -> None:
    # not a timing assertion on the machine: the call must not touch the disk
    rec = ActionRecorder(tmp_path, cursor_interval=0.05, flush_interval=60)
    for e in range(10_000):
        rec.cursor(e)
    assert (tmp_path / EVENTS_NAME).stat().st_size == 0
    rec.close()
    assert read_events(tmp_path / EVENTS_NAME)[-1]["epoch"] == 9999


def test_recording_goes_on_after_the_training_writer_closes_its_log(tmp_path: Path) -> None:
    log = EventLog(tmp_path / EVENTS_NAME)
    rec = ActionRecorder(log, background=False)
    rec.pane("train", 0)
    rec.flush()
    log.close()  # the run finished: the writer closed the shared log
    rec.pane("browse", 3)
    rec.close()
    assert rec.enabled and _kinds(tmp_path) == ["pane", "pane"]
