"""The built-in N-bit flip-flop: a regression of N outputs, on both engines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grutui.core.config import TrainConfig, preset
from grutui.core.errors import ConfigError, SequenceError
from grutui.core.gru import GRUWeights, gru_output
from grutui.core.records import EpochRecord
from grutui.core.session import Session
from grutui.core.tasks import FlipFlopTask, Output, make_datasets, make_task
from grutui.core.tasks.flipflop import last_pulse
from grutui.core.train import train
from tests.helpers import make_session, tiny_config

TOL = 1e-5


def _cfg(**changes: object) -> TrainConfig:
    base: dict[str, object] = {
        "task": FlipFlopTask(bits=2, seq_len=6, pulse_prob=0.3, n_samples=96),
        "hidden": 4,
        "lr": 1e-2,
        "batch_size": 16,
        "epochs": 3,
        "eval_every": 1,
        "seed": 3,
    }
    base.update(changes)
    return tiny_config().replace(**base)


def test_the_data() -> None:
    task = FlipFlopTask(bits=3, seq_len=20, pulse_prob=0.1, n_samples=50, train_split=0.6)
    assert make_task("flipflop") == FlipFlopTask()
    train_set, test_set = make_datasets(task, 1)
    assert train_set.x.shape == (30, 20, 3) and test_set.x.shape == (20, 20, 3)
    assert train_set.y.shape == (30, 3) and train_set.model_input().shape == (30, 20, 3)
    assert set(np.unique(train_set.x)) <= {-1.0, 0.0, 1.0}
    for x, y in zip(train_set.x, train_set.y, strict=True):  # each channel's last pulse
        for c in range(3):
            pulses = x[:, c][x[:, c] != 0]
            assert y[c] == (pulses[-1] if len(pulses) else 0.0)
    again, _ = make_datasets(task, 1)
    np.testing.assert_array_equal(again.x, train_set.x)
    assert not np.array_equal(make_datasets(task, 2)[0].x, train_set.x)
    with pytest.raises(ConfigError, match="pulse_prob must be in"):
        FlipFlopTask(pulse_prob=0.0).validate()
    with pytest.raises(ConfigError, match="bits must be an integer"):
        FlipFlopTask(bits=0).validate()


def test_the_debugger_syntax() -> None:
    task = FlipFlopTask(bits=3)
    typed = task.parse("+1 0 -1; 0 1 0; -1 0 0")
    assert typed.x.shape == (1, 3, 3) and typed.expected_all == (-1.0, 1.0, -1.0)
    assert typed.expected == -1.0
    assert task.parse(task.syntax()).expected_all == (1.0, 0.0, 0.0)
    for text, column in (("+1 0", 4), ("+1 0 2", 5), ("+1 0 -1 1", 8), ("", 0)):
        with pytest.raises(SequenceError) as exc:
            task.parse(text)
        assert exc.value.column == column, text
    np.testing.assert_array_equal(last_pulse(np.zeros((1, 4, 2))), [[0.0, 0.0]])


def test_multi_output_metrics_are_the_mean_over_outputs() -> None:
    out = Output("regression", dims=2, scale=2.0)
    assert out.size == 2 and out.target_shape == (2,)
    m = out.metrics(np.array([[0.5, 0.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [2.0, 0.0]]))
    assert m == {"loss": 1.25}  # errors 0, -1, 0, 2 → (0 + 1 + 0 + 4) / 4


def _assert_same(ref: list[EpochRecord], got: list[EpochRecord], member: int = 0) -> None:
    assert len(ref) == len(got)
    for r, g in zip(ref, got, strict=True):
        np.testing.assert_allclose(g.train_loss[member], r.train_loss[0], rtol=TOL)
        assert r.test_loss is not None and g.test_loss is not None
        np.testing.assert_allclose(g.test_loss[member], r.test_loss[0], rtol=TOL)
        assert r.train_acc is None and g.train_acc is None  # regression: no accuracy
        for name, w in r.weights.items():
            np.testing.assert_allclose(g.weights[name][member], w[0], atol=TOL, rtol=0)


def test_a_step_is_equal_between_the_engines() -> None:
    cfg = _cfg()
    ref = list(train(cfg.replace(engine="reference")))
    _assert_same(ref, list(train(cfg)))
    assert ref[0].weights["linear.weight"].shape == (1, 2, 4)


def test_an_ensemble_member_equals_its_single_run() -> None:
    cfg = _cfg(epochs=2)
    ens = list(train(cfg.replace(seeds=(3, 8))))
    _assert_same(list(train(cfg.replace(seed=8, engine="reference"))), ens, member=1)


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_a_short_run_learns(engine: str) -> None:
    cfg = _cfg(engine=engine, epochs=60, eval_every=59, hidden=8, plateau_factor=None)
    recs = list(train(cfg))
    assert recs[-1].train_loss[0] < 0.5 * recs[0].train_loss[0]
    _, test = make_datasets(cfg.task, cfg.seed)
    params = {n: w[0] for n, w in recs[-1].weights.items()}
    out = gru_output(GRUWeights.from_params(params), test.model_input(), test.lengths)
    loss = cfg.task.output().metrics(out, test.y)["loss"]
    assert recs[-1].test_loss is not None
    np.testing.assert_allclose(loss, recs[-1].test_loss[0], rtol=1e-4)


def test_the_preset_and_a_session(tmp_path: Path) -> None:
    cfg = preset("flipflop")
    cfg.validate()
    assert cfg.task == FlipFlopTask(bits=3) and (cfg.input_size, cfg.output_size) == (3, 3)
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    make_session(tmp_path / "s", _cfg())
    with Session(tmp_path / "s") as s:
        assert s.config.task == _cfg().task
        assert s.weights(2)["linear.weight"].shape == (2, 4)
        assert np.isnan(s.metrics.train_acc).all()
