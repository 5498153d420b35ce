"""Read-only sessions: a session that is not writable or that git tracks keeps its
directory untouched; recordings, caches and exports go to the per-user data dir."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import platformdirs
import pytest

from grutui.core import paths
from grutui.core.analysis.history import ood_history
from grutui.core.analysis.rowcache import ANALYSIS_NAME
from grutui.core.events import read_events, read_session_events
from grutui.core.paths import (
    DATA_DIR_ENV,
    EVENTS_NAME,
    SHIPPED_NAME,
    data_root,
    export_dir,
    is_read_only,
    is_tracked,
    store_dir,
)
from grutui.core.recording import ActionRecorder, Bookmarks
from grutui.core.replay import Timeline
from grutui.core.session import Session
from tests.helpers import (
    DEMO,
    FLIPFLOP_DEMO,
    MODADD_DEMO,
    git,
    make_session,
    tiny_config,
    tracked_copy,
)

pytestmark = pytest.mark.slow  # spawns git


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_session(tmp_path_factory.mktemp("p") / "tiny", tiny_config(epochs=5))


def test_a_writable_untracked_session_keeps_its_files(tmp_path: Path, tiny: Path) -> None:
    s = tmp_path / "s"
    shutil.copytree(tiny, s)
    assert not is_tracked(s) and not is_read_only(s)
    assert store_dir(s) == s and export_dir(s) == s
    with ActionRecorder(s, background=False) as rec:
        rec.cursor(3)
    assert [e["kind"] for e in read_events(s / EVENTS_NAME)][-1] == "cursor"


def test_a_tracked_session_records_in_the_data_dir(
    tmp_path: Path, tiny: Path, data_dir: Path
) -> None:
    s = tracked_copy(tiny, tmp_path / "repo")
    log = (s / EVENTS_NAME).read_bytes()
    assert is_tracked(s) and is_read_only(s)
    side = store_dir(s)
    assert side.parent == data_dir / "sessions" and side.name.startswith("tiny-")
    assert store_dir(s) == side and store_dir(s / ".." / s.name) == side  # stable key
    with ActionRecorder(s, background=False) as rec:
        rec.cursor(2)
        marks = Bookmarks.load(s, rec)
        marks.add(3, "here")
    assert (s / EVENTS_NAME).read_bytes() == log
    assert [e["kind"] for e in read_events(side / EVENTS_NAME)] == ["cursor", "bookmark"]
    # read back: bookmarks, the session's events, the replay timeline
    assert [(b.epoch, b.note) for b in Bookmarks.load(s).items()] == [(3, "here")]
    with Session(s) as sess:
        kinds = [e["kind"] for e in sess.events()]
        assert kinds[0] == "start" and kinds[-2:] == ["cursor", "bookmark"]
        timeline = Timeline.from_session(sess)
    assert timeline.state_at(timeline.duration).bookmarks.keys() == {3}
    assert git(s.parent.parent, "status", "--porcelain") == ""


def test_events_of_both_logs_merge_in_time_order(tmp_path: Path, tiny: Path) -> None:
    s = tracked_copy(tiny, tmp_path / "repo")
    own = read_events(s / EVENTS_NAME)
    t0 = float(own[0]["t"])
    side = store_dir(s, create=True)
    (side / EVENTS_NAME).write_text(f'{{"t": {t0 - 1}, "kind": "cursor", "epoch": 1}}\n')
    merged = read_session_events(s)
    assert merged[0]["kind"] == "cursor" and merged[1:] == own


def test_an_unwritable_session_is_read_only(
    tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = tmp_path / "ro"
    shutil.copytree(tiny, s)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == s else real(p, mode))
    assert is_read_only(s) and store_dir(s) != s


def test_the_data_dir_is_platformdirs_unless_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "d"))
    assert data_root() == tmp_path / "d"
    monkeypatch.delenv(DATA_DIR_ENV)
    assert data_root() == platformdirs.user_data_path("grutui")


def test_without_git_nothing_is_tracked(
    tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = tracked_copy(tiny, tmp_path / "repo")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert not is_tracked(s)
    assert not is_tracked(tmp_path)  # and a directory outside any repository


def test_a_shipped_demo_is_read_only_without_git(
    tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a tarball, a pip install or the GPU machine's copy of the tree has no .git: the
    # SHIPPED file alone keeps the demo unchanged
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    plain, demo = tmp_path / "plain", tmp_path / "demo"
    shutil.copytree(tiny, plain)
    shutil.copytree(tiny, demo)
    (demo / SHIPPED_NAME).write_text("shipped\n")
    assert not is_read_only(plain) and store_dir(plain) == plain
    assert is_read_only(demo) and store_dir(demo) != demo
    for repo_demo in (DEMO, MODADD_DEMO, FLIPFLOP_DEMO):
        assert (repo_demo / SHIPPED_NAME).is_file(), repo_demo.name


def test_the_history_cache_of_a_tracked_session_goes_to_the_data_dir(
    tmp_path: Path, tiny: Path
) -> None:
    s = tracked_copy(tiny, tmp_path / "repo")
    with Session(s) as sess:
        first = ood_history(sess, samples=10)
        again = ood_history(sess, samples=10)
    assert first.computed == len(first) > 0 and again.computed == 0
    np.testing.assert_array_equal(again.success, first.success)
    assert not (s / ANALYSIS_NAME).exists() and (store_dir(s) / ANALYSIS_NAME).is_file()
    assert git(s.parent.parent, "status", "--porcelain") == ""


def test_exports_of_a_run_without_a_directory_go_to_the_working_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert export_dir(None) == tmp_path and export_dir(tmp_path / "gone") == tmp_path


def test_a_data_dir_that_cannot_be_made_turns_recording_off(
    tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = tracked_copy(tiny, tmp_path / "repo")
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(DATA_DIR_ENV, str(blocker))  # a file: no directory under it
    rec = ActionRecorder(s, background=False)
    rec.cursor(1)
    rec.close()
    assert not rec.enabled and rec.error is not None
    assert git(s.parent.parent, "status", "--porcelain") == ""


def test_the_decision_is_made_once_per_directory(
    tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = tmp_path / "once"
    shutil.copytree(tiny, s)
    calls = []
    monkeypatch.setattr(paths, "is_tracked", lambda d: calls.append(d) or False)
    for _ in range(3):
        store_dir(s)
    assert len(calls) == 1
