"""The built-in modular-addition task, its presets, and accuracy per epoch in records,
sessions and in-memory runs."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from grutui.cli import main
from grutui.core.config import TrainConfig, preset
from grutui.core.errors import ConfigError, SequenceError
from grutui.core.records import EpochRecord
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.core.tasks import ModAddTask, make_datasets, make_task, task_names
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.helpers import DEMO, make_session, tiny_config, tiny_modadd_config

TOL = 1e-5


def _cfg(**changes: object) -> TrainConfig:
    """A tiny grokking-style run: p = 7, AdamW, full batch; hidden 16, the preset's betas."""
    return tiny_modadd_config(**{"hidden": 16, "betas": (0.9, 0.98), **changes})


def test_the_data_is_every_pair_split_by_seed() -> None:
    task = ModAddTask(p=11, train_fraction=0.3)
    assert "modadd" in task_names() and make_task("modadd") == ModAddTask()
    train_set, test_set = make_datasets(task, 5)
    assert (len(train_set), len(test_set)) == (36, 85)  # int(0.3 · 121)
    assert train_set.x.shape == (36, 2, 1) and train_set.model_input().shape == (36, 2, 11)
    assert train_set.y.dtype == np.int64 and np.all(train_set.lengths == 2)
    pairs = np.concatenate([train_set.x, test_set.x])[..., 0].astype(int)
    assert len({tuple(p) for p in pairs}) == 121  # every pair once: the split is disjoint
    y = np.concatenate([train_set.y, test_set.y])
    np.testing.assert_array_equal(y, pairs.sum(1) % 11)
    again, _ = make_datasets(task, 5)
    np.testing.assert_array_equal(again.x, train_set.x)
    other, _ = make_datasets(task, 6)
    assert not np.array_equal(other.x, train_set.x)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="p must be an integer"):
        ModAddTask(p=1).validate()
    with pytest.raises(ConfigError, match="train_fraction must be in"):
        ModAddTask(train_fraction=1.0).validate()
    with pytest.raises(ConfigError, match="empty train or test set"):
        ModAddTask(p=2, train_fraction=0.1).validate()
    with pytest.raises(ConfigError, match="unknown task option"):
        ModAddTask.from_dict({"q": 3})


def test_the_debugger_syntax() -> None:
    task = ModAddTask(p=97)
    typed = task.parse("3 5")
    assert typed.expected == 8.0 and typed.x.shape == (1, 2, 97)
    assert typed.x[0, 0, 3] == 1 and typed.x[0, 1, 5] == 1 and typed.x.sum() == 2
    assert task.parse("90 10").expected == 3.0  # mod p
    for text, column in (("200 3", 0), ("3 200", 2), ("3", 1), ("3 x", 2), ("1 2 3", 4)):
        with pytest.raises(SequenceError) as exc:
            task.parse(text)
        assert exc.value.column == column, text
    with pytest.raises(SequenceError, match=r"outside the vocabulary 0\.\.96"):
        task.parse("3 200")


def test_the_presets() -> None:
    g, c = preset("grokking"), preset("circles")
    for cfg in (g, c):
        cfg.validate()
        assert cfg.optimizer == "adamw" and cfg.grad_clip is None and cfg.plateau_factor is None
        assert cfg.batch_size == cfg.task.data_shape().n_train  # full batch
    assert g.task == ModAddTask(p=97, train_fraction=0.4) and g.hidden == 64
    assert (g.lr, g.weight_decay, g.betas, g.init) == (3e-3, 1.0, (0.9, 0.98), "torch")
    assert c.task == ModAddTask(p=59, train_fraction=0.5) and c.weight_decay == 0.5
    assert TrainConfig.from_json(g.to_json()) == g


def _assert_same(ref: list[EpochRecord], got: list[EpochRecord]) -> None:
    assert len(ref) == len(got)
    for r, g in zip(ref, got, strict=True):
        np.testing.assert_allclose(g.train_loss, r.train_loss, rtol=TOL)
        assert r.test_loss is not None and g.test_loss is not None
        np.testing.assert_allclose(g.test_loss, r.test_loss, rtol=TOL)
        assert r.train_acc is not None and r.test_acc is not None
        np.testing.assert_array_equal(g.train_acc, r.train_acc)
        np.testing.assert_array_equal(g.test_acc, r.test_acc)
        for name, w in r.weights.items():
            np.testing.assert_allclose(g.weights[name], w, atol=TOL, rtol=0)


def test_a_step_is_equal_between_the_engines() -> None:
    cfg = _cfg(epochs=3)
    _assert_same(list(train(cfg.replace(engine="reference"))), list(train(cfg)))


def test_accuracy_is_recorded_at_eval_epochs_only() -> None:
    recs = list(train(_cfg(eval_every=2, epochs=3)))
    assert [r.train_acc is not None for r in recs] == [True, False, True]
    assert [r.test_acc is not None for r in recs] == [True, False, True]
    regression = list(train(tiny_config(epochs=1, eval_every=1)))
    assert regression[0].train_acc is None and regression[0].test_acc is None


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_a_tiny_run_memorises_its_training_pairs(engine: str) -> None:
    recs = list(train(_cfg(engine=engine, epochs=301, eval_every=50)))
    last = recs[-1]
    assert last.train_acc is not None and last.train_acc[0] == 1.0
    assert last.test_acc is not None and 0.0 <= last.test_acc[0] <= 1.0


def test_sessions_and_runs_in_memory_keep_accuracy(tmp_path: Path) -> None:
    cfg = _cfg(eval_every=2, epochs=5, seeds=(0, 1))
    recs = list(train(cfg))
    make_session(tmp_path / "s", cfg)
    with Session(tmp_path / "s") as s:
        m = s.metrics
        assert m.train_acc.shape == m.test_acc.shape == (5, 2)
        for i, r in enumerate(recs):
            if r.train_acc is None:
                assert np.isnan(m.train_acc[i]).all() and np.isnan(m.test_acc[i]).all()
            else:
                np.testing.assert_array_equal(m.train_acc[i], r.train_acc)
                np.testing.assert_array_equal(m.test_acc[i], r.test_acc)
        rd = RunData.from_session(s)
        np.testing.assert_array_equal(rd.metrics.test_acc, m.test_acc)
        replay = RunData.empty_like(rd)
        replay.apply(rd.rows(0, 3))
        np.testing.assert_array_equal(replay.metrics.train_acc, m.train_acc[:3])
    live = RunData(cfg, members=2)
    live.extend(recs)
    np.testing.assert_array_equal(live.metrics.train_acc, m.train_acc)


def test_regression_and_old_sessions_read_accuracy_as_nan(tmp_path: Path) -> None:
    make_session(tmp_path / "r", tiny_config(epochs=2))
    for path in (tmp_path / "r", DEMO):
        with Session(path) as s:
            m = s.metrics
            assert m.train_acc.shape == (s.n_epochs, s.members) and np.isnan(m.train_acc).all()
            assert np.isnan(m.test_acc).all()
    with h5py.File(tmp_path / "r" / "session.h5", "r") as f:
        assert "train_acc" not in f["metrics"]  # the regression file as it always was


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_a_resumed_run_keeps_its_accuracy(tmp_path: Path, engine: str) -> None:
    cfg = _cfg(engine=engine, epochs=6)
    full = list(train(cfg))
    d = tmp_path / "s"
    with SessionWriter(d, cfg) as w:
        for rec in train(cfg):
            w.append(rec)
            if rec.epoch == 2:
                break  # a stop: close() saves the state of the last complete epoch
    assert main(["resume", str(d)]) == 0
    with Session(d) as s:
        assert s.n_epochs == 6
        np.testing.assert_array_equal(s.metrics.train_acc[:, 0], [r.train_acc[0] for r in full])
        np.testing.assert_array_equal(s.metrics.test_acc[:, 0], [r.test_acc[0] for r in full])


def test_info_names_the_loss_and_shows_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_session(tmp_path / "s", _cfg(epochs=2))
    assert main(["info", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "(cross-entropy)" in out and "target/high" not in out
    assert "accuracy  train " in out and "(last evaluated epoch)" in out


@pytest.mark.parametrize("p", [2, 3, 5, 6, 97])
def test_the_example_parses_for_every_p(p: int) -> None:
    task = ModAddTask(p=p)
    typed = task.parse(task.syntax())
    assert typed.values.max() < p
