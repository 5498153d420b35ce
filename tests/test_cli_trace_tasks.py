"""``grutui trace`` and ``grutui ood`` on sessions of tasks other than the adding problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.config import TrainConfig
from grutui.core.debug import trace_text
from grutui.core.session import Session
from grutui.core.tasks import FlipFlopTask, ModAddTask
from tests.helpers import random_task_session, refused


@pytest.fixture(scope="module")
def modadd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = TrainConfig(task=ModAddTask(p=11), hidden=3)
    return random_task_session(tmp_path_factory.mktemp("m") / "modadd", cfg)


@pytest.fixture(scope="module")
def flipflop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = TrainConfig(task=FlipFlopTask(bits=2), hidden=3)
    return random_task_session(tmp_path_factory.mktemp("f") / "flipflop", cfg)


def test_trace_a_modadd_sequence(modadd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", str(modadd), "4 9", "--epoch", "1"]) == 0
    text = capsys.readouterr().out
    with Session(modadd) as s:
        st = trace_text(s.weights(1), s.config.task, "4 9")
    assert "epoch 1  modadd" in text
    assert "t=0  x=(token=4)" in text and "t=1  x=(token=9)" in text
    assert "input terms: W_i[:,token=9]+b_i" in text
    top = ", ".join(f"{c} {p:.4f}" for c, p in st.top())
    assert f"predicted {st.predicted}   expected 2   top 3: {top}" in text


def test_trace_json_of_a_flipflop_sequence(
    flipflop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = "+1 -1; 0 0; -1 0"
    assert main(["trace", str(flipflop), seq, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "flipflop" and out["features"] == ["in1", "in2"]
    assert out["sequence"] == [[1.0, -1.0], [0.0, 0.0], [-1.0, 0.0]]
    assert out["steps"][2]["inputs"] == {"in1": -1.0, "in2": 0.0}
    assert out["expected"] == [-1.0, -1.0]
    with Session(flipflop) as s:
        st = trace_text(s.weights(s.last_epoch), s.config.task, seq)
    np.testing.assert_allclose(out["output_scaled"], st.scaled)
    np.testing.assert_allclose(out["steps"][1]["n"]["act"], st.trace.n.act[0, 1])


def test_trace_text_of_several_outputs(flipflop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", str(flipflop), "+1 0; 0 -1"]) == 0
    text = capsys.readouterr().out
    assert "t=1  x=(in1=0 in2=-1)" in text
    assert "output 1 = " in text and "expected 1" in text
    assert "output 2 = " in text and "expected -1" in text
    assert "input terms" not in text  # no one-hot input


@pytest.mark.parametrize(
    ("which", "sequence", "needle"),
    [
        ("modadd", "4 200", "column 3: 200 is outside the vocabulary 0..10"),
        ("modadd", "4 x", "column 3: 'x' is not a whole number"),
        ("modadd", "12:0 37:1", "column 1"),
        ("flipflop", "+1 0; 0", "column 8: a step has 2 values"),
        ("flipflop", "+1 2", "column 4: expected +1, -1 or 0"),
    ],
)
def test_trace_refuses_what_the_task_cannot_read(
    which: str,
    sequence: str,
    needle: str,
    modadd: Path,
    flipflop: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = modadd if which == "modadd" else flipflop
    assert needle in refused(["trace", str(path), sequence], capsys)


def test_ood_refuses_a_task_without_axes(
    modadd: Path, flipflop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path, name in ((modadd, "modadd"), (flipflop, "flipflop")):
        line = refused(["ood", str(path)], capsys)
        assert f"the {name} task has no generalisation axes" in line
        assert "has no generalisation axes" in refused(["ood", str(path), "--history"], capsys)


def test_transitions_of_a_task_without_axes_skip_the_ood_grid(
    modadd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transitions", str(modadd), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ood_epochs_evaluated"] == 0
