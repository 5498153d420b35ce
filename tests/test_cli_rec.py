"""CLI: resume/replay argument checks, bad sessions, divergence and disk-full handling."""

from __future__ import annotations

import errno
import json
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import grutui.core.buffered as buffered
import grutui.core.writer as writer_mod
from grutui.cli import main
from grutui.core.h5format import FORMAT_VERSION
from grutui.core.paths import H5_NAME
from grutui.core.session import Session
from grutui.core.state import STATE_NAME, load_state
from grutui.core.writer import SessionWriter
from tests.helpers import REPO

TINY = ["--n-samples", "200", "--batch-size", "50", "--eval-every", "1", "--threads", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rec") / "run"
    assert main(["train", *TINY, "--epochs", "4", "--out", str(out)]) == 0
    return out


def _bad_sessions(root: Path, good: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[Path, str]] = {"missing": (root / "nope", "no session at")}
    for name in ("empty", "truncated", "foreign", "newer"):
        (root / name).mkdir()
    (root / "empty" / H5_NAME).write_bytes(b"")
    data = (good / H5_NAME).read_bytes()
    (root / "truncated" / H5_NAME).write_bytes(data[: len(data) // 2])
    with h5py.File(root / "foreign" / H5_NAME, "w") as f:
        f["x"] = [1]
    with h5py.File(root / "newer" / H5_NAME, "w") as f:
        f.attrs["format"] = "grutui-session"
        f.attrs["format_version"] = FORMAT_VERSION + 1
    cases["empty"] = (root / "empty", "not a readable HDF5")
    cases["truncated"] = (root / "truncated", "not a readable HDF5")
    cases["foreign"] = (root / "foreign", "not a grutui session")
    cases["newer"] = (root / "newer", "newer grutui")
    return cases


@pytest.mark.parametrize("command", ["info", "resume", "replay", "open"])
def test_bad_sessions_are_one_line_status_2(
    command: str, run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, (path, needle) in _bad_sessions(tmp_path, run).items():
        assert main([command, str(path)]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("grutui: error:") and needle in err, (name, err)
        assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_bad_sessions_from_a_real_process(run: Path, tmp_path: Path) -> None:
    for name, (path, _) in _bad_sessions(tmp_path, run).items():
        p = subprocess.run(
            [sys.executable, "-m", "grutui", "resume", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert p.returncode == 2 and "Traceback" not in p.stderr, (name, p.stderr)


@pytest.fixture
def fake_app(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stands in for grutui.ui.app (built separately) and records how it was called."""
    calls: dict[str, Any] = {}

    def run_app(**kw: Any) -> int:
        calls.update(kw)
        return 0

    mod = types.ModuleType("grutui.ui.app")
    mod.run_app = run_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "grutui.ui.app", mod)
    return calls


def test_replay_passes_session_and_speed_to_the_app(run: Path, fake_app: dict[str, Any]) -> None:
    assert main(["replay", str(run), "--speed", "8"]) == 0
    assert fake_app == {"session": run, "replay": 8.0}
    assert main(["replay", str(run)]) == 0
    assert fake_app["replay"] >= 1.0  # auto


@pytest.mark.parametrize("speed", ["0", "-2", "fast", "nan", "inf"])
def test_replay_rejects_bad_speeds(
    speed: str, run: Path, fake_app: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(run), "--speed", speed]) == 2
    assert "--speed must be a positive number" in capsys.readouterr().err
    assert fake_app == {}


def test_divergence_stops_is_recorded_and_shown_by_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "div"
    argv = ["train", *TINY, "--epochs", "40", "--lr", "1e30", "--grad-clip", "0"]
    assert main([*argv, "--plateau-factor", "0", "--out", str(out)]) == 1
    assert "diverged" in capsys.readouterr().err
    with Session(out) as s:
        kinds = [e["kind"] for e in s.events()]
        assert "diverged" in kinds and s.n_epochs < 40
        last = s.last_epoch
        assert not np.isfinite(s.metrics.train_loss[-1, 0])
        for e in range(last):  # the weights before the divergence are kept, finite
            assert all(np.isfinite(v).all() for v in s.weights(e).values())
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"diverged at epoch {last}" in text
    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["diverged"]["epoch"] == last


@pytest.mark.slow
def test_disk_full_stops_training_and_keeps_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = SessionWriter._extend
    calls = {"n": 0}

    def failing(ds: h5py.Dataset, rows: Any) -> None:
        calls["n"] += 1
        if calls["n"] > 6 * 13:  # about six epochs in (13 datasets a row)
            raise OSError(errno.ENOSPC, "No space left on device")
        real(ds, rows)

    monkeypatch.setattr(SessionWriter, "_extend", staticmethod(failing))
    out = tmp_path / "full"
    assert main(["train", *TINY, "--epochs", "30", "--flush-interval", "0", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "the disk is full" in err and "Traceback" not in err
    monkeypatch.undo()
    with Session(out) as s:
        n = s.n_epochs
        assert 4 <= n < 30 and s.metrics.epoch.tolist() == list(range(n))
        assert all(np.isfinite(v).all() for v in s.weights(n - 1).values())
        stop = [e for e in s.events() if e["kind"] == "stop"]
    assert stop and stop[-1]["reason"] == "disk_full" and "No space" in stop[-1]["error"]
    # space freed: the run continues from its saved state
    assert (out / STATE_NAME).is_file()
    assert main(["resume", str(out)]) == 0
    with Session(out) as s:
        assert s.n_epochs == 30


@pytest.mark.slow
def test_a_nearly_full_disk_stops_training_before_hdf5_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a write failing inside HDF5 can leave a file shorter than its superblock says;
    # the writer checks the free space and stops while the session is whole
    checks = {"n": 0}

    def free(path: Path) -> int:
        checks["n"] += 1
        return 10 * 2**30 if checks["n"] <= 5 else 2**20

    monkeypatch.setattr(writer_mod, "free_bytes", free)
    monkeypatch.setattr(SessionWriter, "space_check_interval", 0.0)
    out = tmp_path / "full"
    assert main(["train", *TINY, "--epochs", "30", "--flush-interval", "0", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "disk is nearly full" in err and "1.0 MiB left" in err
    monkeypatch.undo()
    with Session(out) as s:
        assert s.n_epochs == 5 and s.snapshot_epochs.tolist() == [0, 1, 2, 3, 4]
        stop = [e for e in s.events() if e["kind"] == "stop"][-1]
    assert stop["reason"] == "disk_full" and stop["epoch"] == 4
    assert main(["info", str(out)]) == 0
    assert "stopped   disk_full after epoch 4" in capsys.readouterr().out
    assert load_state(out).epoch == 4  # nothing lost: the state of the last epoch is saved
    assert main(["resume", str(out)]) == 0
    with Session(out) as s:
        assert s.n_epochs == 30


def test_opening_never_executes_code() -> None:
    # nothing that can run code from a file: no pickle, no eval/exec, torch.load only
    # with weights_only=True
    risky = re.compile(
        r"\bimport (c?pickle|marshal|shelve|dill|joblib)\b|\bfrom (c?pickle|marshal|shelve)\b"
        r"|\bpickle\.(loads?|Unpickler)\b|(?<![\w.])(eval|exec|compile)\("
    )
    bad: list[str] = []
    for py in (REPO / "grutui").rglob("*.py"):
        for i, line in enumerate(py.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if risky.search(code):
                bad.append(f"{py}:{i}: {line.strip()}")
            if re.search(r"torch\.load\((?!.*weights_only=True)", code):
                bad.append(f"{py}:{i}: {line.strip()}")
            if "allow_pickle=True" in code:
                bad.append(f"{py}:{i}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_a_failed_block_write_still_closes_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the buffered writer drops a block whose write failed, so close() reaches the file
    from grutui.core.config import preset
    from grutui.core.train import train

    cfg = preset("blog").replace(epochs=4, **{"task.n_samples": 200}, batch_size=50)
    recs = list(train(cfg))
    sw = SessionWriter(tmp_path / "s", cfg)
    bw = buffered.BufferedWriter(sw, interval=1e9)
    bw.append(recs[0])  # the first record is written at once
    bw.append(recs[1])

    def full(*a: Any, **k: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sw, "append_many", full)
    with pytest.raises(OSError):
        bw.flush()
    bw.close()  # nothing left to retry: closes without raising
    assert not sw._f.id.valid
    monkeypatch.undo()
    with Session(tmp_path / "s") as s:
        assert s.n_epochs == 1
