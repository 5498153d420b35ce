"""Session store: round trips, growing sessions, partial writes, bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from grutui.core.errors import SessionError
from grutui.core.events import read_events
from grutui.core.h5format import FORMAT_VERSION
from grutui.core.paths import EVENTS_NAME, H5_NAME, find_sessions
from grutui.core.records import EpochRecord
from grutui.core.session import Session
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.helpers import make_session, tiny_config


def test_round_trip_of_config_metrics_weights_events(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=5)
    recs = list(train(cfg))
    with SessionWriter(tmp_path / "s", cfg) as w:
        w.event("start", None, note="hello")
        for r in recs:
            w.append(r)
    with Session(tmp_path / "s") as s:
        assert s.config == cfg
        assert s.n_epochs == 5 and s.members == 1
        np.testing.assert_array_equal(s.metrics.epoch, np.arange(5))
        np.testing.assert_array_equal(s.metrics.train_loss[:, 0], [r.train_loss[0] for r in recs])
        for e, r in enumerate(recs):
            if r.test_loss is None:
                assert np.isnan(s.metrics.test_loss[e, 0])
            else:
                assert s.metrics.test_loss[e, 0] == r.test_loss[0]
            for name, arr in r.weights.items():
                np.testing.assert_array_equal(s.weights(e)[name], arr[0])
        init = s.initial_weights()
        assert init is not None
        np.testing.assert_array_equal(
            init["gru.weight_hh_l0"], recs[0].initial_weights["gru.weight_hh_l0"][0]
        )  # type: ignore[index]
        hist = s.weight_history("linear.weight")
        assert hist.shape == (5, 1, 1)
        kinds = [e["kind"] for e in s.events()]
        assert kinds[0] == "start" and s.events()[0]["note"] == "hello"


def test_readable_with_plain_h5py(tiny_session: Path) -> None:
    with h5py.File(tiny_session / H5_NAME, "r") as f:
        assert f.attrs["format"] == "grutui-session"
        assert json.loads(f.attrs["config"])["hidden"] == 1
        assert f["weights/gru.weight_ih_l0"].shape[1:] == (1, 3, 2)
        assert f["metrics/train_loss"].shape[0] == f["weights/epoch"].shape[0]


def test_snapshot_stride_keeps_last_epoch(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=7, snapshot_every=3)
    make_session(tmp_path / "s", cfg)
    with Session(tmp_path / "s") as s:
        np.testing.assert_array_equal(s.snapshot_epochs, [0, 3, 6])
        assert s.n_epochs == 7
        # between snapshots the latest earlier snapshot is used
        np.testing.assert_array_equal(s.weights(5)["linear.bias"], s.weights(3)["linear.bias"])
        assert s.resolve_epoch("last") == 6


def _record(epoch: int, k: int = 1) -> EpochRecord:
    w = {
        "gru.weight_ih_l0": np.full((k, 3, 2), epoch, np.float32),
        "gru.weight_hh_l0": np.zeros((k, 3, 1), np.float32),
        "gru.bias_ih_l0": np.zeros((k, 3), np.float32),
        "gru.bias_hh_l0": np.zeros((k, 3), np.float32),
        "linear.weight": np.zeros((k, 1, 1), np.float32),
        "linear.bias": np.zeros((k, 1), np.float32),
    }
    return EpochRecord(
        epoch,
        np.full(k, 1.0 / (epoch + 1)),
        None,
        np.full(k, 1e-3),
        float(epoch),
        w,
        initial_weights=w if epoch == 0 else None,
    )


def test_reader_sees_a_growing_session(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=10)
    w = SessionWriter(tmp_path / "live", cfg)
    w.append(_record(0))
    s = Session(tmp_path / "live")
    assert s.n_epochs == 1
    for e in range(1, 4):
        w.append(_record(e))
    assert s.refresh() is True
    assert s.n_epochs == 4 and s.weights(3)["gru.weight_ih_l0"][0, 0] == 3
    assert s.refresh() is False
    w.close()
    s.close()


def test_ensemble_members_round_trip(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=3)
    with SessionWriter(tmp_path / "k", cfg) as w:
        for e in range(3):
            rec = _record(e, k=4)
            rec.weights["linear.bias"] = np.arange(4, dtype=np.float32)[:, None] + e
            w.append(rec)
    with Session(tmp_path / "k") as s:
        assert s.members == 4
        assert s.weights(2, member=3)["linear.bias"][0] == 5
        assert s.weight_history("linear.bias", member=1)[:, 0].tolist() == [1, 2, 3]
        with pytest.raises(SessionError, match="member 4 out of range"):
            s.weights(0, member=4)


def test_a_half_written_row_is_not_seen(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=10)
    with SessionWriter(tmp_path / "s", cfg) as w:
        for e in range(3):
            w.append(_record(e))
    # simulate a writer killed after growing some datasets but not the others
    with h5py.File(tmp_path / "s" / H5_NAME, "a") as f:
        f["weights/gru.weight_ih_l0"].resize(4, axis=0)
        f["metrics/train_loss"].resize(4, axis=0)
    with Session(tmp_path / "s") as s:
        assert s.n_epochs == 3
        assert len(s.snapshot_epochs) == 3


def test_torn_event_line_is_skipped(tmp_path: Path) -> None:
    p = tmp_path / EVENTS_NAME
    p.write_text('{"t": 1, "kind": "start", "epoch": null}\n{"t": 2, "kind": "sto')
    assert [e["kind"] for e in read_events(p)] == ["start"]


def test_epoch_resolution_errors(tiny_session: Path) -> None:
    with Session(tiny_session) as s:
        assert s.resolve_epoch(-1) == s.last_epoch
        with pytest.raises(SessionError, match="out of range"):
            s.resolve_epoch(10_000)
        with pytest.raises(SessionError, match="number or 'last'"):
            s.resolve_epoch("soon")


def test_existing_session_is_not_overwritten(tiny_session: Path) -> None:
    with pytest.raises(SessionError, match="already exists"):
        SessionWriter(tiny_session, tiny_config())


@pytest.mark.parametrize(
    "case", ["missing", "no_h5", "empty", "truncated", "not_hdf5", "foreign", "newer", "bad_config"]
)
def test_bad_sessions_give_one_clear_error(tmp_path: Path, tiny_session: Path, case: str) -> None:
    d = tmp_path / case
    if case != "missing":
        d.mkdir()
    h5 = d / H5_NAME
    if case == "empty":
        h5.write_bytes(b"")
    elif case == "truncated":
        data = (tiny_session / H5_NAME).read_bytes()
        h5.write_bytes(data[: len(data) // 3])
    elif case == "not_hdf5":
        h5.write_text("print('hello')\n")
    elif case in ("foreign", "newer", "bad_config"):
        with h5py.File(h5, "w") as f:
            f.create_dataset("x", data=[1, 2, 3])
            if case != "foreign":
                f.attrs["format"] = "grutui-session"
                f.attrs["format_version"] = FORMAT_VERSION + (1 if case == "newer" else 0)
                f.attrs["config"] = "__import__('os').system('echo pwned')"
    with pytest.raises(SessionError) as info:
        Session(d)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 300
    expected = {
        "missing": "no session",
        "no_h5": "not a grutui session",
        "empty": "not a readable HDF5",
        "truncated": "not a readable HDF5",
        "not_hdf5": "not a readable HDF5",
        "foreign": "not a grutui session",
        "newer": "newer grutui",
        "bad_config": "unreadable config",
    }[case]
    assert expected in msg


def test_find_sessions_newest_first(tmp_path: Path) -> None:
    import os
    import time

    make_session(tmp_path / "a", tiny_config(epochs=1))
    make_session(tmp_path / "b", tiny_config(epochs=1))
    now = time.time()
    os.utime(tmp_path / "a" / H5_NAME, (now + 10, now + 10))
    (tmp_path / "junk").mkdir()
    assert [p.name for p in find_sessions(tmp_path)] == ["a", "b"]
    assert find_sessions(tmp_path / "nope") == []


def test_find_sessions_puts_shipped_demos_last_the_blog_first(tmp_path: Path) -> None:
    import os
    import time

    from tests.helpers import git, tracked_copy

    src = tmp_path / "src"
    for name in ("modadd-grokking", "blog-seed37", "flipflop"):
        make_session(src / name, tiny_config(epochs=1))
    repo = tmp_path / "repo"
    tracked_copy(src / "modadd-grokking", repo)
    for name in ("blog-seed37", "flipflop"):
        dest = repo / "sessions" / name
        shutil.copytree(src / name, dest)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "demos")
    sessions = repo / "sessions"
    now = time.time()
    os.utime(sessions / "modadd-grokking" / H5_NAME, (now + 10, now + 10))  # newest file
    assert [p.name for p in find_sessions(sessions)] == [
        "blog-seed37",
        "flipflop",
        "modadd-grokking",
    ]
    make_session(sessions / "mine", tiny_config(epochs=1))  # the user's own: first
    assert find_sessions(sessions)[0].name == "mine"


def test_find_sessions_knows_shipped_demos_without_git(tmp_path: Path) -> None:
    import os
    import time

    from grutui.core.paths import SHIPPED_NAME

    for name in ("modadd-grokking", "blog-seed37", "mine"):
        make_session(tmp_path / name, tiny_config(epochs=1))
    for name in ("modadd-grokking", "blog-seed37"):
        (tmp_path / name / SHIPPED_NAME).write_text("shipped\n")
    now = time.time()
    os.utime(tmp_path / "modadd-grokking" / H5_NAME, (now + 10, now + 10))  # newest file
    assert [p.name for p in find_sessions(tmp_path)] == ["mine", "blog-seed37", "modadd-grokking"]
