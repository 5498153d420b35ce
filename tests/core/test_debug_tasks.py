"""The debugger's trace for every task: the gate maths against torch.nn.GRU on the
task's own model input, the read-out as the task's output, and its parser's errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch

from grutui.core.config import TrainConfig
from grutui.core.debug import read_sequence, trace_sequence, trace_text, trace_typed
from grutui.core.errors import SequenceError
from grutui.core.gru import GATES, GRUWeights
from grutui.core.sequence import parse_sequence
from grutui.core.session import Session
from grutui.core.tasks import AddingTask, FlipFlopTask, ModAddTask, Typed
from grutui.core.tasks.registry import TaskError
from tests.helpers import random_params, random_task_session

TOL = 1e-6
TASKS = {
    "modadd": (TrainConfig(task=ModAddTask(p=7), hidden=5), "3 6"),
    "flipflop": (TrainConfig(task=FlipFlopTask(bits=3), hidden=4), "+1 0 0; 0 -1 0; 0 0 0; 0 0 1"),
}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tasks")
    return {name: random_task_session(root / name, cfg) for name, (cfg, _) in TASKS.items()}


def _torch(params: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hidden states (T, H) and read-out (O,) of torch's GRU and Linear on ``x`` (1, T, D)."""
    w = GRUWeights.from_params(params)
    gru = torch.nn.GRU(w.input_size, w.hidden_size, batch_first=True)
    lin = torch.nn.Linear(w.hidden_size, w.w_out.shape[0])
    with torch.no_grad():
        for name, value in (
            ("weight_ih_l0", w.w_ih),
            ("weight_hh_l0", w.w_hh),
            ("bias_ih_l0", w.b_ih),
            ("bias_hh_l0", w.b_hh),
        ):
            getattr(gru, name).copy_(torch.from_numpy(value))
        lin.weight.copy_(torch.from_numpy(w.w_out))
        lin.bias.copy_(torch.from_numpy(w.b_out))
        out, _ = gru(torch.from_numpy(x))
        y = lin(out[:, -1])
    return out[0].numpy(), y[0].numpy()


@pytest.mark.parametrize("name", list(TASKS))
def test_the_trace_equals_torch_on_the_tasks_input(name: str, sessions: dict[str, Path]) -> None:
    _, text = TASKS[name]
    with Session(sessions[name]) as s:
        task, params = s.config.task, s.weights(1)
    st = trace_text(params, task, text)
    h, y = _torch(params, st.seq.typed.x)
    np.testing.assert_allclose(st.trace.h[0], h, atol=TOL, rtol=0)
    np.testing.assert_allclose(st.outputs, y, atol=TOL, rtol=0)
    if name == "modadd":
        assert st.classification and len(st) == 2
        p = torch.softmax(torch.from_numpy(y).double(), 0).numpy()
        np.testing.assert_allclose(st.probabilities, p, atol=TOL, rtol=0)
        assert st.predicted == int(np.argmax(y))
        top = st.top()
        assert [c for c, _ in top] == list(np.argsort(-p)[:3])
        assert top[0][1] >= top[1][1] >= top[2][1]
        assert st.expected == (3 + 6) % 7
    else:
        assert not st.classification and len(st) == 4
        np.testing.assert_allclose(st.scaled, y, atol=TOL, rtol=0)  # scale 1
        assert st.expected_all == (1.0, -1.0, 1.0)  # each channel's last pulse


def test_a_one_hot_input_term_is_the_column_it_selects(sessions: dict[str, Path]) -> None:
    with Session(sessions["modadd"]) as s:
        task, params = s.config.task, s.weights(2)
    st = trace_text(params, task, "3 6")
    w = GRUWeights.from_params(params)
    for t, token in enumerate((3, 6)):
        assert st.token_columns(t) == [token]
        assert st.input_term_label(t) == f"W_i[:,token={token}]+b_i"
        for g in GATES:
            blocks = w.gate(g)
            column = blocks["W_i"][:, token] + blocks["b_i"]
            np.testing.assert_array_equal(st.trace.gate(g).input[0, t], column)
    assert st.inputs_text(0) == "token=3" and st.model_input_text(0) == "[one-hot 3/7]"
    assert st.step_label(1) == "6"


def test_a_flip_flop_step_shows_each_channels_raw_value(sessions: dict[str, Path]) -> None:
    with Session(sessions["flipflop"]) as s:
        task, params = s.config.task, s.weights(0)
    st = trace_text(params, task, "+1 0 0; 0 -1 0")
    assert st.inputs_text(1) == "in1=0 in2=-1 in3=0"
    assert st.step_label(0) == "1 0 0"
    assert st.input_term_label(0) == "W_i·x+b_i" and st.token_columns(0) == []
    # a step label is the task's syntax: reading the labels back gives the same sequence
    again = read_sequence(task, "; ".join(st.step_label(t) for t in range(len(st))))
    np.testing.assert_array_equal(again.typed.values, st.values)


@pytest.mark.parametrize("name", list(TASKS))
def test_json_of_another_task(name: str, sessions: dict[str, Path]) -> None:
    _, text = TASKS[name]
    with Session(sessions[name]) as s:
        task, params = s.config.task, s.weights(1)
    st = trace_text(params, task, text)
    d = st.to_json()
    assert len(d["steps"]) == len(st) and d["hidden_size"] == (5 if name == "modadd" else 4)
    step = d["steps"][1]
    assert set(step) == {"t", "inputs", "x", "h_prev", "r", "z", "n", "h"}
    assert set(step["inputs"]) == {f.name for f in task.features()}
    assert len(step["x"]) == st.x.shape[1]
    np.testing.assert_allclose(step["z"]["act"], st.trace.z.act[0, 1])
    if name == "modadd":
        assert d["sequence"] == [[3], [6]] and step["inputs"] == {"token": 6}
        assert d["predicted"] == st.predicted and d["expected"] == 2
        assert sum(d["probabilities"]) == pytest.approx(1.0)
    else:
        assert d["expected"] == [1.0, -1.0, 1.0] and len(d["output_scaled"]) == 3


def test_the_adding_problem_reads_as_before() -> None:
    params = {k: v[0] for k, v in random_params(np.random.default_rng(1), 3).items()}
    text = "12:0 37:1 1.5:1"
    old = trace_sequence(params, parse_sequence(text), 100)
    new = trace_text(params, AddingTask(), text)
    assert new.adding and new.steps == old.steps == parse_sequence(text)
    assert new.to_json() == old.to_json()
    assert new.input_term_label(0) == "W_i·x+b_i"
    assert new.inputs_text(2) == "1.5, 1" and new.model_input_text(2) == "[0.0150, 1]"


@pytest.mark.parametrize(
    ("task", "text", "column", "needle"),
    [
        (ModAddTask(p=97), "3 200", 2, "outside the vocabulary 0..96"),
        (ModAddTask(p=97), "3 x", 2, "not a whole number"),
        (ModAddTask(p=97), "3", 1, "second number"),
        (FlipFlopTask(bits=3), "+1 0; 0 0 0", 4, "3 values"),
        (FlipFlopTask(bits=3), "+1 0 2", 5, r"expected \+1, -1 or 0"),
        (AddingTask(), "12:0 37:2", 8, "flag must be 0 or 1"),
    ],
)
def test_the_tasks_parser_names_the_column(
    task: object, text: str, column: int, needle: str
) -> None:
    with pytest.raises(SequenceError, match=needle) as err:
        read_sequence(task, text)  # type: ignore[arg-type]
    assert err.value.column == column


@dataclass(frozen=True)
class _Broken(FlipFlopTask):
    name: ClassVar[str] = "broken"
    how: str = "raise"

    def parse(self, text: str) -> Typed:
        if self.how == "raise":
            raise RuntimeError("oops")
        values = np.zeros((2, 2), np.float32)  # two columns for three features
        return Typed(values, values[None], 0.0)


@pytest.mark.parametrize(("how", "needle"), [("raise", "RuntimeError: oops"), ("shape", "values")])
def test_a_task_whose_parser_breaks_is_named(how: str, needle: str) -> None:
    with pytest.raises(TaskError, match=needle) as err:
        read_sequence(_Broken(how=how), "+1 0 0")
    assert "_Broken" in str(err.value) and "\n" not in str(err.value)


def test_weights_of_another_input_size_are_refused() -> None:
    params = {k: v[0] for k, v in random_params(np.random.default_rng(1), 3).items()}  # D = 2
    task = ModAddTask(p=7)
    with pytest.raises(TaskError, match="input has 7 units, the weights 2"):
        trace_typed(params, task, read_sequence(task, "1 2"))
