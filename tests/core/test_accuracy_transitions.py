"""Accuracy markers for classification runs: the epochs train and test accuracy first
reach 99 %, the grokking delay between them, in the core and the ``transitions`` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.analysis.transitions import (
    AccuracyGap,
    accuracy_gap,
    accuracy_transitions,
    find_transitions,
    input_columns,
    weight_labels,
)
from grutui.core.config import TrainConfig
from grutui.core.layout import param_shapes
from grutui.core.records import EpochRecord
from grutui.core.rundata import RunData
from grutui.core.tasks import FlipFlopTask, ModAddTask
from grutui.core.writer import SessionWriter
from tests.helpers import DEMO, tiny_config

EPOCHS = 40
TRAIN_AT, TEST_AT = 8, 30  # where the synthetic accuracies first reach 99 %


def _config(task: object = None) -> TrainConfig:
    task = task or ModAddTask(p=5, train_fraction=0.5)
    return tiny_config(epochs=EPOCHS, hidden=2, eval_every=1).replace(task=task)


def _records(cfg: TrainConfig) -> list[EpochRecord]:
    """Synthetic epochs: train accuracy climbs to 1 by ``TRAIN_AT``, test accuracy
    stays low, then climbs to 1 by ``TEST_AT`` (a memorise-then-generalise run)."""
    rng = np.random.default_rng(0)
    shapes = param_shapes(cfg.hidden, cfg.input_size, cfg.output_size)
    classify = cfg.task.output().kind == "classification"
    recs = []
    for e in range(EPOCHS):
        train = min(1.0, 0.2 + 0.8 * e / TRAIN_AT)
        test = 0.05 if e < TEST_AT - 10 else min(1.0, 0.05 + 0.95 * (e - TEST_AT + 10) / 10)
        recs.append(
            EpochRecord(
                epoch=e,
                train_loss=np.array([np.exp(-e / 5)]),
                test_loss=np.array([1.0]),
                lr=np.array([1e-3]),
                wall_time=float(e),
                weights={n: rng.normal(size=(1, *s)).astype(np.float32) for n, s in shapes.items()},
                train_acc=np.array([train]) if classify else None,
                test_acc=np.array([test]) if classify else None,
            )
        )
    return recs


def _session(path: Path, cfg: TrainConfig) -> Path:
    with SessionWriter(path, cfg) as w:
        for rec in _records(cfg):
            w.append(rec)
    return path


def test_the_first_epoch_each_accuracy_reaches_the_level() -> None:
    epochs = np.arange(5) + 10
    train = np.array([0.5, 0.995, 0.98, 1.0, 1.0])
    test = np.array([np.nan, 0.1, np.nan, 0.991, 0.2])
    found = accuracy_transitions(epochs, train, test)
    assert [(t.epoch, t.kind) for t in found] == [(11, "train_accuracy"), (13, "test_accuracy")]
    assert found[0].score == 0.995 and found[0].detail == "train accuracy reaches 99% (99.50%)"
    assert accuracy_transitions(epochs, np.full(5, np.nan), np.full(5, np.nan)) == []


def test_the_gap_and_its_description() -> None:
    cfg = _config()
    run = RunData(cfg)
    run.extend(_records(cfg))
    gap = accuracy_gap(run)
    assert gap == AccuracyGap(0.99, TRAIN_AT, TEST_AT) and gap.delay == TEST_AT - TRAIN_AT
    assert gap.describe() == (
        f"train accuracy reached 99% at epoch {TRAIN_AT}, test accuracy at epoch {TEST_AT}: "
        f"a grokking delay of {TEST_AT - TRAIN_AT} epochs"
    )
    assert gap.to_json() == {"level": 0.99, "train_epoch": 8, "test_epoch": 30, "delay": 22}
    memorised = AccuracyGap(0.99, 8, None)
    assert memorised.delay is None and memorised.describe().endswith("test accuracy not")
    kinds = [t.kind for t in find_transitions(run)]
    assert kinds.count("train_accuracy") == kinds.count("test_accuracy") == 1


def test_regression_runs_have_no_gap() -> None:
    cfg = _config(FlipFlopTask(bits=2))
    run = RunData(cfg)
    run.extend(_records(cfg))
    assert accuracy_gap(run) is None
    assert not {"train_accuracy", "test_accuracy"} & {t.kind for t in find_transitions(run)}


def test_weight_labels_name_the_tasks_input_units() -> None:
    task = ModAddTask(p=3)
    cols = input_columns(task.features())
    assert cols == ["token=0", "token=1", "token=2"]
    labels = weight_labels(param_shapes(2, 3, 3), cols)
    assert labels[:3] == ["W_ir[0,token=0]", "W_ir[0,token=1]", "W_ir[0,token=2]"]
    assert labels[3] == "W_ir[1,token=0]"
    assert labels[-4:] == ["w_out[2,1]", "b_out[0]", "b_out[1]", "b_out[2]"]
    assert input_columns(tiny_config().task.features()) == ["value", "flag"]


def test_cli_transitions_on_a_classification_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _session(tmp_path / "grok", _config())
    assert main(["transitions", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accuracy_gap"] == {"level": 0.99, "train_epoch": 8, "test_epoch": 30, "delay": 22}
    assert out["ood_epochs_evaluated"] == 0  # modular addition has no OOD axes
    found = {(t["epoch"], t["kind"]) for t in out["transitions"]}
    assert {(8, "train_accuracy"), (30, "test_accuracy")} <= found
    assert main(["transitions", str(path)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[1] == "train accuracy reached 99% at epoch 8, test accuracy at epoch 30: " + (
        "a grokking delay of 22 epochs"
    )
    assert any("train_accuracy" in line and line.split()[0] == "8" for line in text)


def test_cli_transitions_on_a_regression_task_without_axes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _session(tmp_path / "ff", _config(FlipFlopTask(bits=2)))
    assert main(["transitions", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "accuracy_gap" not in out and out["ood_epochs_evaluated"] == 0
    # the adding problem's output is as before: no accuracy line or key
    assert main(["transitions", str(DEMO), "--no-ood", "--json"]) == 0
    assert "accuracy_gap" not in json.loads(capsys.readouterr().out)
