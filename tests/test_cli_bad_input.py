"""Bad input on the command line: one line ``grutui: error: ...``, exit status 2, and no
session directory left behind by a refused run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grutui.cli import main
from tests.helpers import refused

TINY = ["--epochs", "2", "--n-samples", "200", "--batch-size", "50", "--threads", "1"]


@pytest.mark.parametrize(
    "option, value, needle",
    [
        ("--seed", "-1", "seed must be an integer in [0, 4294967295]"),
        ("--seed", str(2**32), "seed must be"),
        ("--weight-decay", "nan", "weight_decay must be >= 0 and finite"),
        ("--weight-decay", "-1e-3", "weight_decay must be"),
        ("--lr", "inf", "lr must be positive and finite"),
        ("--lr", "nan", "lr must be positive"),
        ("--lr", "0", "lr must be positive"),
        ("--grad-clip", "nan", "grad_clip must be"),
        ("--grad-clip", "-inf", "grad_clip must be"),
        ("--plateau-factor", "nan", "plateau_factor must be in (0, 1)"),
        ("--plateau-factor", "1", "plateau_factor must be in (0, 1)"),
        ("--min-lr", "inf", "min_lr must be >= 0 and finite"),
        ("--min-lr", "-1", "min_lr must be"),
        ("--train-split", "nan", "train_split must be in (0, 1)"),
        ("--epochs", "0", "epochs must be a positive integer"),
        ("--batch-size", "-3", "batch_size must be a positive integer"),
        ("--hidden", "0", "hidden must be a positive integer"),
        ("--eval-every", "0", "eval_every must be a positive integer"),
        ("--snapshot-every", "-1", "snapshot_every must be a positive integer"),
        ("--plateau-patience", "-1", "plateau_patience must be an integer >= 0"),
        ("--threads", "-2", "threads must be an integer >= 0"),
        ("--n-samples", "1", "n_samples must be at least 2"),
        ("--high", "0", "high must be at least 1"),
        ("--seq-len", "-4", "length >= 4"),
    ],
)
def test_bad_training_values_are_refused_before_a_session_exists(
    option: str,
    value: str,
    needle: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # the default --out is ./sessions/...
    line = refused(["train", *TINY, f"{option}={value}"], capsys)
    assert needle in line
    assert list(tmp_path.iterdir()) == []  # no session directory, not even sessions/


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--max-flags", "20"], "--max-flags does not apply to the blog task"),
        (["--preset", "blog", "--min-len", "3"], "--min-len does not apply to the blog task"),
        (["--task", "general", "--seq-len", "9"], "--seq-len does not apply to the general task"),
        (["--preset", "general", "--seq-len", "9"], "--seq-len does not apply to the general"),
    ],
)
def test_an_option_of_the_other_task_isrefused(
    argv: list[str],
    needle: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert needle in refused(["train", *TINY, *argv], capsys)
    assert list(tmp_path.iterdir()) == []


def test_options_of_the_chosen_task_are_accepted() -> None:
    from grutui.core.tasks import foreign_fields

    assert foreign_fields("general", ["max_flags", "min_len", "high", "n_samples"]) == []
    assert foreign_fields("blog", ["seq_len", "delta", "high"]) == []
    assert foreign_fields("blog", ["max_flags", "seq_len"]) == ["max_flags"]


@pytest.mark.parametrize(
    "out, needle",
    [
        ("", "--out is empty"),
        ("   ", "--out is empty"),
        ("/dev/null", "/dev/null is not a directory"),
        ("{file}", "is not a directory"),
        ("{file}/sub", "is not a directory"),
        ("/proc/x", "cannot create a session in /proc/x"),
    ],
)
def test_out_where_no_session_can_be_made(
    out: str,
    needle: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    regular = tmp_path / "file"
    regular.write_text("not a directory\n")
    assert needle in refused(["train", *TINY, "--out", out.format(file=regular)], capsys)
    assert list(work.iterdir()) == []  # nothing trained into the working directory
    assert regular.read_text() == "not a directory\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_out_in_a_read_only_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert "is not writable" in refused(["train", *TINY, "--out", str(ro / "s")], capsys)
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_a_directory_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    """Below the up-front check (which cannot foresee every file system), the writer
    turns the failure into a ``SessionError``."""
    from grutui.core.config import TrainConfig
    from grutui.core.errors import SessionError
    from grutui.core.writer import SessionWriter

    with pytest.raises(SessionError, match="cannot create a session in /proc/grutui-x"):
        SessionWriter(Path("/proc/grutui-x"), TrainConfig())


@pytest.mark.parametrize("named", ["dir", "file", "other_name"])
def test_a_text_file_as_session_says_it_is_not_hdf5(
    named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "s"
    d.mkdir()
    (d / "session.h5").write_text("hello\n")
    (tmp_path / "notes.txt").write_text("hello\n")
    target = {"dir": d, "file": d / "session.h5", "other_name": tmp_path / "notes.txt"}[named]
    for command in (["info", str(target)], ["trace", str(target), "1:1"]):
        line = refused(command, capsys)
        assert "not HDF5 at all" in line and "not a grutui session file" in line, line
        assert "no session.h5" not in line


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["info", "--json"], ["info"], ["trace", "--json"]])
def test_a_closed_stdout_is_no_traceback(argv: list[str]) -> None:
    """``grutui info --json | head``: the reader is gone before grutui writes (the read
    end is closed before the process starts, so every write meets a closed pipe)."""
    import subprocess
    import sys

    demo = str(Path(__file__).resolve().parent.parent / "sessions" / "blog-seed37")
    args = [*argv[:1], demo, *(["12:0 37:1"] if argv[0] == "trace" else []), *argv[1:]]
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "grutui", *args],
            stdout=w,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(w)
    assert p.stderr == ""  # no traceback, not even "Exception ignored" at exit
    assert p.returncode == 141


@pytest.mark.parametrize(
    "sequence, needle",
    [
        ("1e30:1", "column 1: value '1e30' is outside the task's range 0..99"),
        ("12:0 -5:1", "column 6: value '-5' is outside the task's range"),
        ("99999999999999999999999999:1", "outside the task's range"),
    ],
)
def test_trace_refuses_values_outside_the_tasks_range(
    sequence: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = Path(__file__).resolve().parent.parent / "sessions" / "blog-seed37"
    assert needle in refused(["trace", str(demo), sequence], capsys)


def test_trace_json_size_is_checked_up_front() -> None:
    from grutui.core.debug import TRACE_JSON_LIMIT, check_trace_json_size
    from grutui.core.errors import ConfigError

    assert check_trace_json_size(1000, 64) <= TRACE_JSON_LIMIT
    with pytest.raises(ConfigError, match=r"about \d+ MiB, over the 64 MiB limit"):
        check_trace_json_size(10_000, 64)


def test_trace_json_estimate_bounds_the_real_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The estimate is an upper bound of what ``trace --json`` prints (so the limit
    holds), and not wildly above it (so it refuses only what is truly large)."""
    from grutui.core.debug import check_trace_json_size

    out = tmp_path / "h8"
    assert main(["train", *TINY, "--hidden", "8", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["trace", str(out), " ".join(["37:1"] * 50), "--json"]) == 0
    size = len(capsys.readouterr().out.encode())
    assert size <= check_trace_json_size(50, 8) <= 3 * size


@pytest.mark.parametrize(
    "argv",
    [["--seeds", "0-100000"], ["--seq-len", "100000"], ["--hidden", "100000"]],
)
def test_runs_too_large_for_the_memory_are_refused_up_front(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import grutui.core.resources as resources

    monkeypatch.setattr(resources, "available_memory", lambda: 16 * 2**30)
    monkeypatch.chdir(tmp_path)
    line = refused(["train", "--device", "cpu", *argv], capsys)
    assert "GiB of memory" in line and "over the 16.0 GiB available" in line, line
    assert list(tmp_path.iterdir()) == []


def test_memory_estimate_grows_with_what_the_run_holds() -> None:
    from grutui.core.config import TrainConfig
    from grutui.core.errors import ConfigError
    from grutui.core.resources import check_memory, run_bytes

    small = TrainConfig()
    assert run_bytes(small) < 64 * 2**20  # the blog's run: a few MB
    assert run_bytes(small.replace(seeds=tuple(range(64)))) > 32 * run_bytes(small)
    assert run_bytes(small.replace(hidden=64)) > run_bytes(small)
    # the blog generator is quadratic in the sequence length (1.7 GB measured at 100)
    assert 1.0 * 2**30 < run_bytes(small.replace(**{"task.seq_len": 100})) < 4 * 2**30
    check_memory(small, limit=2**30)
    with pytest.raises(ConfigError, match=r"needs about .* GiB of memory .* over the 512 MiB"):
        check_memory(small.replace(**{"task.seq_len": 100}), limit=2**29)


def test_a_session_too_large_for_the_disk_isrefused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import grutui.core.resources as resources
    from grutui.core.config import TrainConfig
    from grutui.core.errors import ConfigError

    cfg = TrainConfig(hidden=64, epochs=1000)
    assert 45 * 2**20 < resources.session_bytes(cfg) < 60 * 2**20  # 1001 snapshots × 50 KB
    with pytest.raises(ConfigError, match=r"about \d\d MiB on disk, over the 1 MiB free"):
        resources.check_disk(cfg, tmp_path / "s", free=2**20)
    real = resources.check_disk
    monkeypatch.setattr(resources, "check_disk", lambda c, o: real(c, o, free=2**20))
    out = tmp_path / "s"
    assert "on disk, over the" in refused(
        ["train", "--hidden", "64", "--epochs", "1000", "--out", str(out)], capsys
    )
    assert not out.exists()


@pytest.mark.parametrize("command", ["ood", "transitions"])
def test_ood_sample_size_has_a_limit(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    demo = Path(__file__).resolve().parent.parent / "sessions" / "blog-seed37"
    line = refused([command, str(demo), "--samples", "100000000"], capsys)
    assert "sample size per cell is limited to 10,000" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["info", "no\nsuch session"],
        ["train", "--out", "{file}\nx"],
        ["train", "--out", "{file}/a\nb"],
        ["trace", "{file}", "1:1\n2:3"],
        ["train", "--preset", "a\nb"],
    ],
)
def test_a_line_break_in_what_was_typed_keeps_the_error_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    regular = tmp_path / "file"
    regular.write_text("x\n")
    (tmp_path / "file\nx").write_text("x\n")
    refused([a.format(file=regular) for a in argv], capsys)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--seed=-1"], "seed must be"),
        (["--weight-decay", "nan"], "weight_decay must be"),
        (["--max-flags", "20"], "--max-flags does not apply to the blog task"),
        (["--out", "/dev/null"], "/dev/null is not a directory"),
    ],
)
def test_new_refuses_like_train_before_the_app_starts(
    argv: list[str],
    needle: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import grutui.ui.app

    def no_app(**_kw: object) -> int:
        raise AssertionError("the app started")

    monkeypatch.setattr(grutui.ui.app, "run_app", no_app)
    monkeypatch.chdir(tmp_path)
    assert needle in refused(["new", *argv], capsys)
    assert list(tmp_path.iterdir()) == []
