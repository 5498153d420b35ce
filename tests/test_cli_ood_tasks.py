"""``grutui ood`` on an installed task: one with axes and a sampler gets its grid
(classification cells: accuracy and cross-entropy), one with axes but no sampler is
refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.analysis.ood import OODEvaluator
from grutui.core.session import Session
from tests.helpers import refused

TINY = ["--epochs", "3", "--batch-size", "32", "--threads", "1", "--device", "cpu"]


@pytest.fixture(autouse=True)
def installed(plugin_tasks: None) -> None:
    """Every test here sees the plugin package installed."""


def _train(path: Path, task: str) -> Path:
    assert main(["train", "--task", f"gt_plugin_tasks:{task}", "--out", str(path), *TINY]) == 0
    return path


def test_a_task_with_a_sampler_gets_a_grid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _train(tmp_path / "s", "FirstTokenGrid")
    capsys.readouterr()
    assert main(["ood", str(path), "--samples", "20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "success rate (mean cross-entropy), 20 samples per cell" in lines[1]
    assert lines[2].split() == ["noise\\len", "1", "2", "3", "4", "5", "6"]
    assert [line.split()[:2] for line in lines[3:]] == [["0", "·"], ["10", "·"], ["40", "·"]]
    assert lines[4].count("*") == 3  # noise 10 at lengths 2..4: the training distribution
    assert main(["ood", str(path), "--samples", "20", "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert "threshold" not in js and len(js["cells"]) == 15  # lengths 2..6 × 3 noises
    first = js["cells"][0]
    assert (first["length"], first["noise"], first["samples"]) == (2, 0, 20)
    assert set(first) == {
        "length",
        "noise",
        "success_rate",
        "mean_cross_entropy",
        "samples",
        "in_distribution",
    }
    with Session(path) as s:
        ref = OODEvaluator(s.config.task, 20).evaluate(s.weights(s.last_epoch))
    np.testing.assert_array_equal([c["success_rate"] for c in js["cells"]], ref.success)
    assert main(["ood", str(path), "--samples", "20", "--history"]) == 0
    out = capsys.readouterr().out
    assert "\nL2N0*  |" in out and "\nL5N40  |" in out and "\nL6N0   |" in out


def test_a_task_with_axes_but_no_sampler_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _train(tmp_path / "s", "AxesOnly")
    capsys.readouterr()
    line = refused(["ood", str(path)], capsys)
    assert "the axesonly task's axes (length × noise) have no sampler" in line
