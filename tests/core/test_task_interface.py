"""The task interface: the adding problem as its first implementation, a classification
task defined here trained by both engines alike, configs naming a task by reference."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pytest

from grutui.core.config import TrainConfig
from grutui.core.errors import ConfigError, SequenceError
from grutui.core.gru import GRUWeights, gru_output
from grutui.core.records import EpochRecord
from grutui.core.tasks import (
    AddingTask,
    DataShape,
    Feature,
    Output,
    SequenceData,
    Task,
    TaskError,
    Typed,
    encode,
    make_datasets,
    task_from_dict,
    task_names,
    task_ref,
    task_to_dict,
)
from grutui.core.tasks.modadd import ModAddTask
from grutui.core.train import train
from tests.helpers import tiny_config

TOL = 1e-5


@dataclass(frozen=True)
class LastBit:
    """Classification: the token at the last valid step (vocab 3, lengths 1..4), with a
    continuous channel beside it; D = 3 + 1, O = 3."""

    name = "lastbit"

    n_samples: int = 200
    max_len: int = 4

    def validate(self) -> None:
        if self.n_samples < 4:
            raise ConfigError("n_samples must be at least 4")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LastBit:
        return cls(**d)

    def features(self) -> tuple[Feature, ...]:
        return (Feature("tok", "token", vocab=3), Feature("level", scale=4.0))

    def output(self) -> Output:
        return Output("classification", classes=3)

    def data_shape(self) -> DataShape:
        return DataShape(self.n_samples // 2, self.n_samples - self.n_samples // 2, self.max_len)

    def datasets(self, seed: int) -> tuple[SequenceData, SequenceData]:
        rng = np.random.default_rng(seed)
        n, t = self.n_samples, self.max_len
        tok = rng.integers(0, 3, size=(n, t))
        level = rng.integers(0, 5, size=(n, t))
        lengths = rng.integers(1, t + 1, size=n)
        x = np.stack([tok, level], 2).astype(np.float32)
        y = tok[np.arange(n), lengths - 1].astype(np.int64)
        data = SequenceData(x, y, lengths.astype(np.int64), self.features())
        half = n // 2
        return data.subset(slice(0, half)), data.subset(slice(half, None))

    def syntax(self) -> str:
        return "0 2 1"

    def parse(self, text: str) -> Typed:
        raise SequenceError("not typed in these tests", 0)

    def ood_axes(self) -> None:
        return None


def _cls_config(**changes: Any) -> TrainConfig:
    base: dict[str, Any] = {"task": LastBit(), "hidden": 3, "lr": 1e-2, "batch_size": 32}
    base.update(changes)
    return tiny_config().replace(**base)


def _assert_same(ref: list[EpochRecord], got: list[EpochRecord], member: int = 0) -> None:
    assert len(got) == len(ref)
    for r, g in zip(ref, got, strict=True):
        np.testing.assert_allclose(g.train_loss[member], r.train_loss[0], rtol=TOL)
        assert (g.test_loss is None) == (r.test_loss is None)
        if r.test_loss is not None and g.test_loss is not None:
            np.testing.assert_allclose(g.test_loss[member], r.test_loss[0], rtol=TOL)
        for name, w in r.weights.items():
            np.testing.assert_allclose(g.weights[name][member], w[0], atol=TOL, rtol=0)


def test_the_adding_problem_implements_the_interface() -> None:
    task = AddingTask()
    assert isinstance(task, Task)
    assert [f.name for f in task.features()] == ["value", "flag"]
    assert task.output() == Output("regression", scale=100)
    assert TrainConfig().input_size == 2 and TrainConfig().output_size == 1
    assert task.data_shape() == DataShape(8000, 2000, 4)
    typed = task.parse("12:0 37:1")
    assert typed.expected == 37.0 and typed.x.shape == (1, 2, 2)
    np.testing.assert_array_equal(typed.x[0], encode(task.features(), typed.values))
    with pytest.raises(SequenceError) as exc:
        task.parse("12:0 200:1")
    assert exc.value.column == 5
    axes = task.ood_axes()
    assert (axes.rows, axes.cols) == (tuple(range(1, 9)), tuple(range(1, 5)))
    # the adding problem's data through the generic encoding equals its own
    train_set, _ = make_datasets(task, 37)
    np.testing.assert_array_equal(train_set.model_input(), encode(task.features(), train_set.x))


def test_old_configs_read_as_the_adding_problem_and_json_is_unchanged() -> None:
    old = {"task": {"flavour": "general", "high": 50}, "hidden": 2}
    cfg = TrainConfig.from_dict(old)
    assert cfg.task == AddingTask(flavour="general", high=50)
    assert "name" not in cfg.to_dict()["task"]  # the adding problem's JSON as it always was
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    assert task_names()[0] == "adding"


def test_a_task_named_by_reference_round_trips() -> None:
    cfg = _cls_config()
    d = cfg.to_dict()
    assert d["task"] == {"name": "tests.core.test_task_interface:LastBit", **asdict(LastBit())}
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    assert (cfg.input_size, cfg.output_size) == (4, 3)
    assert task_from_dict(task_to_dict(LastBit(n_samples=9))) == LastBit(n_samples=9)
    assert task_ref(LastBit()) == "tests.core.test_task_interface:LastBit"


def test_bad_task_references_name_the_task() -> None:
    with pytest.raises(TaskError, match=r"task 'nosuch': no such task \(choose from adding"):
        task_from_dict({"name": "nosuch"})
    with pytest.raises(TaskError, match=r"task 'tests\.core\.test_task_interface:Nope': module"):
        task_from_dict({"name": "tests.core.test_task_interface:Nope"})
    with pytest.raises(TaskError, match="cannot import no_such_module"):
        task_from_dict({"name": "no_such_module:Task"})
    with pytest.raises(ConfigError, match="unknown task option"):
        task_from_dict({"flavour": "blog", "colour": 3})


def test_output_metrics() -> None:
    out = Output("classification", classes=3)
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    m = out.metrics(logits, np.array([0, 1]))
    assert m["accuracy"] == 0.5 and m["loss"] > 0
    reg = Output("regression", scale=10.0).metrics(np.array([[0.5], [1.0]]), np.array([5.0, 12.0]))
    assert reg == {"loss": 2.0}


@pytest.mark.parametrize("hidden", [1, 3])
def test_a_classification_step_is_equal_between_the_engines(hidden: int) -> None:
    cfg = _cls_config(hidden=hidden, epochs=3, eval_every=1)
    ref = list(train(cfg.replace(engine="reference")))
    fast = list(train(cfg.replace(engine="fast")))
    _assert_same(ref, fast)
    assert ref[0].weights["gru.weight_ih_l0"].shape == (1, 3 * hidden, 4)
    assert ref[0].weights["linear.weight"].shape == (1, 3, hidden)


def test_an_ensemble_member_equals_its_single_run_on_a_classification_task() -> None:
    cfg = _cls_config(epochs=2)
    ens = list(train(cfg.replace(seeds=(4, 9, 11), engine="fast")))
    for k, seed in enumerate((4, 9, 11)):
        single = list(train(cfg.replace(seed=seed, seeds=(), engine="reference")))
        _assert_same(single, ens, member=k)


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_a_short_classification_run_learns(engine: str) -> None:
    cfg = _cls_config(engine=engine, epochs=40, eval_every=39, hidden=8, plateau_factor=None)
    recs = list(train(cfg))
    first, last = recs[0], recs[-1]
    assert last.train_loss[0] < 0.5 * first.train_loss[0]
    assert last.test_loss is not None and np.isfinite(last.test_loss[0])
    _, test = make_datasets(cfg.task, cfg.seed)
    params = {n: w[0] for n, w in last.weights.items()}
    out = gru_output(GRUWeights.from_params(params), test.model_input(), test.lengths)
    m = cfg.task.output().metrics(out, test.y)
    assert m["accuracy"] > 0.6  # chance is 1/3
    np.testing.assert_allclose(m["loss"], last.test_loss[0], rtol=1e-4)


def test_the_fast_engine_trains_the_adding_problem_as_before() -> None:
    """The adding problem through the generic path: the reference equals the fast engine
    (the unchanged equality tests say the same for every adding config)."""
    cfg = tiny_config(epochs=2)
    _assert_same(list(train(cfg.replace(engine="reference"))), list(train(cfg)))


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_adamw_and_betas_are_equal_between_the_engines(optimizer: str) -> None:
    """What grokking needs (AdamW, betas (0.9, 0.98), full batch): both engines alike."""
    cfg = _cls_config(
        epochs=3,
        eval_every=1,
        optimizer=optimizer,
        betas=(0.9, 0.98),
        weight_decay=0.5,
        batch_size=100,  # the whole training set
        grad_clip=None,
    )
    _assert_same(list(train(cfg.replace(engine="reference"))), list(train(cfg)))
    assert TrainConfig.from_json(cfg.to_json()) == cfg


def test_bad_optimizer_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="optimizer must be 'adam' or 'adamw'"):
        TrainConfig(optimizer="sgd").validate()
    with pytest.raises(ConfigError, match="betas must be two numbers in"):
        TrainConfig(betas=(0.9, 1.0)).validate()


def test_graphed_epochs_of_a_classification_task_with_adamw_on_the_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CUDA-graph path (capture replaced by a plain call) with cross-entropy, O > 1
    and AdamW's decay: the same numbers as eager epochs."""
    from types import SimpleNamespace

    from grutui.core import fast

    cfg = _cls_config(engine="fast", epochs=4, seeds=(1, 2), optimizer="adamw", weight_decay=0.3)
    eager = list(train(cfg))
    monkeypatch.setattr(fast, "CUDA_GRAPHS", True)
    monkeypatch.setattr(fast.EpochGraph, "_build", lambda self: SimpleNamespace(replay=self._body))
    graphed = list(train(cfg))
    for a, b in zip(eager, graphed, strict=True):
        np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=TOL)
        for name, w in a.weights.items():
            np.testing.assert_allclose(w, b.weights[name], atol=TOL, rtol=0)


def test_the_interface_expresses_modular_addition_with_adamw_full_batch() -> None:
    cfg = tiny_config().replace(
        task=ModAddTask(p=5, train_fraction=0.6),
        hidden=8,
        optimizer="adamw",
        lr=3e-3,
        weight_decay=1.0,
        betas=(0.9, 0.98),
        batch_size=15,  # 60 % of 25 pairs: full batch
        grad_clip=None,
        plateau_factor=None,
        epochs=3,
        eval_every=1,
    )
    assert (cfg.input_size, cfg.output_size) == (5, 5)
    _assert_same(list(train(cfg.replace(engine="reference"))), list(train(cfg)))
