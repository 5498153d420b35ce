"""Headless CLI: train → info → trace, JSON shapes, and one-line errors with status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from grutui.cli import main
from grutui.core.debug import trace_sequence
from grutui.core.sequence import parse_sequence
from grutui.core.session import Session
from tests.helpers import child_env

TINY = [
    "--epochs",
    "3",
    "--n-samples",
    "200",
    "--batch-size",
    "50",
    "--eval-every",
    "1",
    "--threads",
    "1",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", *TINY, "--hidden", "3", "--out", str(out)]) == 0
    return out


def test_train_writes_a_session(trained: Path) -> None:
    with Session(trained) as s:
        assert s.n_epochs == 3 and s.config.hidden == 3
        assert s.config.task.n_samples == 200
        kinds = [e["kind"] for e in s.events()]
        assert kinds[0] == "start" and kinds[-1] == "finish"


def test_info_text_and_json(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(trained)]) == 0
    text = capsys.readouterr().out
    assert "hidden=3" in text and "3 epochs (0..2)" in text
    assert main(["info", str(trained), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["epochs_recorded"] == 3 and info["last_epoch"] == 2
    assert info["config"]["hidden"] == 3
    with Session(trained) as s:
        assert info["final"][0]["train_loss"] == s.metrics.train_loss[-1, 0]


def test_trace_json_matches_the_gate_function(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = "12:0 37:1 12:0 21:1"
    assert main(["trace", str(trained), seq, "--epoch", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["epoch"] == 1 and out["hidden_size"] == 3 and out["expected"] == 58
    assert [s["t"] for s in out["steps"]] == [0, 1, 2, 3]
    step = out["steps"][2]
    assert set(step) == {"t", "value", "flag", "x", "h_prev", "r", "z", "n", "h"}
    assert set(step["n"]) == {"input", "hidden", "gated_hidden", "pre", "act"}
    with Session(trained) as s:
        ref = trace_sequence(s.weights(1), parse_sequence(seq), s.high)
    np.testing.assert_allclose(step["z"]["act"], ref.trace.z.act[0, 2])
    np.testing.assert_allclose(out["steps"][-1]["h"], ref.trace.h[0, -1])
    assert out["output_x_high"] == pytest.approx(ref.output * 100)


def test_trace_text_shows_every_gate(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", str(trained), "12,0 37,1", "--epoch", "last"]) == 0
    text = capsys.readouterr().out
    for needle in (
        "t=0",
        "t=1",
        "r: input",
        "z: input",
        "n: input",
        "r⊙hidden",
        "h = ",
        "output × 100",
        "expected 37",
    ):
        assert needle in text


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["info", "/no/such/session"], "no session at"),
        (["trace", "{s}", "12:0 37:x"], "flag must be 0 or 1"),
        (["trace", "{s}", "12:0 37:1", "--epoch", "99"], "out of range"),
        (["trace", "{s}", "", "--epoch", "0"], "empty sequence"),
        (["train", "--hidden", "0", "--out", "{tmp}/x"], "hidden must be a positive integer"),
        (["train", "--lr", "-1", "--out", "{tmp}/x"], "lr must be positive"),
        (["train", "--preset", "nope", "--out", "{tmp}/x"], "unknown preset"),
        (["train", "--device", "tpu", "--out", "{tmp}/x"], "device must be"),
        (
            ["train", "--task", "general", "--min-len", "5", "--max-len", "2", "--out", "{tmp}/x"],
            "min_len",
        ),
        (["train", "--hidden", "many"], "invalid int value"),
        (["train", "--flush-interval", "-1", "--out", "{tmp}/x"], "--flush-interval must be"),
        (["train", *TINY, "--out", "{s}"], "already exists"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    argv: list[str], needle: str, trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.format(s=trained, tmp=tmp_path) for a in argv]
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert len(err.strip().splitlines()) == 1, err


def _run(argv: list[str]) -> int | str | None:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse exits by itself on malformed values
        return exc.code


@pytest.mark.slow
def test_no_traceback_from_a_real_process(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    with h5py.File(bad / "session.h5", "w") as f:
        f["x"] = [1]
    for argv in (["info", str(bad)], ["trace", str(bad), "1:1"], ["open", str(tmp_path / "nope")]):
        p = subprocess.run(
            [sys.executable, "-m", "grutui", *argv], capture_output=True, text=True, timeout=60
        )
        assert p.returncode == 2
        assert "Traceback" not in p.stderr and p.stderr.startswith("grutui: error:")


@pytest.mark.parametrize(
    ("env", "want"),
    [
        ({}, "1"),  # the analyses' small matrices: one thread
        ({"OPENBLAS_NUM_THREADS": "3"}, "3"),  # the user's choice stands
        ({"OMP_NUM_THREADS": "4"}, None),  # OpenBLAS follows it: left alone
    ],
)
def test_openblas_gets_one_thread_unless_the_user_chose(
    env: dict[str, str], want: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grutui import cli

    for var in cli.BLAS_THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    cli.one_blas_thread()
    assert os.environ.get("OPENBLAS_NUM_THREADS") == want


def test_the_cli_imports_no_numpy_before_main_runs() -> None:
    # OpenBLAS reads its thread count when numpy loads it: main() must come first
    code = "import sys, grutui.cli; print(sorted({'numpy', 'scipy', 'torch'} & set(sys.modules)))"
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=True
    )
    assert p.stdout.strip() == "[]"
