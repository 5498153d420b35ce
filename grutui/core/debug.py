"""A typed sequence run through the gate function: what ``grutui trace`` prints and
the debugger pane steps through (computed once; stepping is pure presentation).

Any task's sequence: its parser gives the raw feature values and the model input
(``Typed``), ``gru_trace`` every gate term, and the read-out is read as the task's
output (a class with its probabilities, or numbers against their expected values).
The adding problem's trace keeps the values exactly as typed (``steps``), so its text
and JSON are what they have always been.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from grutui.core.errors import ConfigError, SequenceError
from grutui.core.gru import GATES, GRUWeights, Trace, gru_trace
from grutui.core.sequence import Step, format_sequence, parse_sequence, to_arrays
from grutui.core.tasks import AddingTask, Feature, Output, Task, Typed
from grutui.core.tasks.registry import TaskError, describe, task_ref

# ``trace --json`` writes every term of every step: about 16 numbers per hidden unit per
# step, ~30 bytes each once indented, plus ~1 KB of keys per step (10,000 steps at
# hidden 64: 300 MB), and the model input (one number per input unit). Refused above:
TRACE_JSON_LIMIT = 64 * 2**20
_JSON_BYTES_PER_NUMBER = 32
_JSON_BYTES_PER_UNIT_STEP = 16 * _JSON_BYTES_PER_NUMBER
TOP_CLASSES = 3  # classes listed with their probabilities


def check_trace_json_size(steps: int, hidden: int, inputs: int = 0) -> int:
    """The estimated size of a JSON trace (``inputs``: the model's input units beyond
    the adding problem's two); ``ConfigError`` above ``TRACE_JSON_LIMIT``."""
    est = steps * (hidden * _JSON_BYTES_PER_UNIT_STEP + inputs * _JSON_BYTES_PER_NUMBER + 1000)
    if est > TRACE_JSON_LIMIT:
        raise ConfigError(
            f"a JSON trace of {steps} steps at hidden {hidden} would be about "
            f"{est / 2**20:.0f} MiB, over the {TRACE_JSON_LIMIT // 2**20} MiB limit: "
            "trace a shorter sequence, or drop --json (the text form is bounded per step)"
        )
    return est


@dataclass(frozen=True, eq=False)  # one reading is one object (its arrays have no ==)
class TypedSequence:
    """What the user typed, read by the task: ``text`` as typed, ``typed`` the task's
    reading, ``steps`` the adding problem's pairs exactly as typed (None for others)."""

    text: str
    typed: Typed
    steps: tuple[Step, ...] | None = None

    def __len__(self) -> int:
        return int(self.typed.values.shape[0])

    def labels(self, features: tuple[Feature, ...]) -> tuple[str, ...]:
        """Each step in a few characters: the adding problem's ``12:0``, else the raw
        values separated by spaces (what the task's syntax reads back)."""
        if self.steps is not None:
            return tuple(f"{s.value:g}:{s.flag}" for s in self.steps)
        return tuple(
            " ".join(f"{_raw(f, v):g}" for f, v in zip(features, row, strict=True))
            for row in self.typed.values
        )

    @property
    def canonical(self) -> str:
        """The text to record (the adding problem's pairs in one spelling)."""
        return format_sequence(list(self.steps)) if self.steps is not None else self.text.strip()


def adding_sequence(steps: list[Step], high: int) -> TypedSequence:
    """The adding problem's pairs as a ``TypedSequence`` (``AddingTask.parse``'s
    reading, keeping the typed values for the text and JSON)."""
    x, expected = to_arrays(steps, high)
    values = np.array([[s.value, s.flag] for s in steps], dtype=np.float32)
    return TypedSequence(format_sequence(steps), Typed(values, x, expected), tuple(steps))


def read_sequence(task: Task, text: str) -> TypedSequence:
    """``text`` read by ``task``'s parser. ``SequenceError`` (with its column) for what
    the user typed; ``TaskError`` naming the task when its parser breaks the interface
    (raises something else, or returns arrays of the wrong shapes)."""
    if isinstance(task, AddingTask):
        seq = adding_sequence(parse_sequence(text, task), task.high)
        return TypedSequence(text, seq.typed, seq.steps)
    features, out = describe(task)
    try:
        typed = task.parse(text)
    except (SequenceError, ConfigError):
        raise
    except Exception as exc:  # a third-party parser's failure is the task's fault
        raise TaskError(
            task_ref(task), f"parse({text!r}) failed: {type(exc).__name__}: {exc}"
        ) from None
    problem = _typed_problem(typed, features, out)
    if problem:
        raise TaskError(task_ref(task), f"parse({text!r}) {problem}")
    return TypedSequence(text, typed)


def _typed_problem(typed: Any, features: tuple[Feature, ...], out: Output) -> str | None:
    if not isinstance(typed, Typed):
        return "must return a Typed"
    values, x = np.shape(typed.values), np.shape(typed.x)
    d = sum(f.size for f in features)
    if len(values) != 2 or values[0] < 1 or values[1] != len(features):
        return f"values are {values}, expected (T, {len(features)}): one column a feature"
    if x != (1, values[0], d):
        return f"input is {x}, expected (1, {values[0]}, {d})"
    if out.kind == "regression" and out.dims > 1 and len(typed.expected_all) != out.dims:
        return f"expected_all has {len(typed.expected_all)} values, expected {out.dims}"
    return None


def default_text(task: Task) -> str:
    """The sequence the debugger starts with: the adding problem's four pairs (the
    demo's), else the task's own example."""
    return "12:0 37:1 12:0 21:1" if isinstance(task, AddingTask) else task.syntax()


def _raw(feature: Feature, v: float) -> float | int:
    """A raw feature value as JSON writes it: a token id as a whole number."""
    return int(v) if feature.kind == "token" else float(v)


@dataclass
class SequenceTrace:
    seq: TypedSequence
    features: tuple[Feature, ...]
    out: Output
    trace: Trace  # batch of one

    # -- the sequence -------------------------------------------------------------------
    @property
    def x(self) -> np.ndarray:
        """(T, D) model input."""
        x: np.ndarray = self.seq.typed.x[0]
        return x

    @property
    def values(self) -> np.ndarray:
        """(T, F) raw feature values."""
        return np.asarray(self.seq.typed.values)

    @property
    def steps(self) -> list[Step]:
        """The adding problem's pairs as typed (empty for another task)."""
        return list(self.seq.steps or ())

    @property
    def adding(self) -> bool:
        """Whether this is the adding problem's trace (its text and JSON keep their form)."""
        return self.seq.steps is not None

    def __len__(self) -> int:
        return len(self.seq)

    def step_label(self, t: int) -> str:
        return self.step_labels[t]

    @functools.cached_property
    def step_labels(self) -> tuple[str, ...]:
        """Every step's label (computed once: every key redraws them all)."""
        return self.seq.labels(self.features)

    @functools.cached_property
    def input_label_width(self) -> int:
        """The longest ``input_term_label`` over the steps (a column that stays put)."""
        return max(len(self.input_term_label(t)) for t in range(len(self)))

    def inputs_text(self, t: int) -> str:
        """Each feature's raw value at step ``t``: ``12, 0`` for the adding problem,
        else ``name=value`` pairs."""
        if self.seq.steps is not None:
            s = self.seq.steps[t]
            return f"{s.value:g}, {s.flag}"
        return " ".join(
            f"{f.name}={_raw(f, v):g}" for f, v in zip(self.features, self.values[t], strict=True)
        )

    def model_input_text(self, t: int) -> str:
        """What the network sees at step ``t``: scaled numbers, and a one-hot token as
        the column it selects."""
        parts: list[str] = []
        col = 0
        for f, v in zip(self.features, self.values[t], strict=True):
            if f.kind == "token":
                parts.append(f"one-hot {int(v)}/{f.vocab}")
            else:
                xv = float(self.x[t, col])
                parts.append(f"{xv:.4f}" if f.scale != 1 else f"{xv:g}")
            col += f.size
        return f"[{', '.join(parts)}]"

    def input_term_label(self, t: int) -> str:
        """The input term of every gate at step ``t``: ``W_i·x+b_i``, where a one-hot
        token's part is the weight column it selects (``W_i[:,token=3]``): multiplying
        by a one-hot is nothing but choosing that column."""
        cols = [
            f"W_i[:,{f.name}={int(v)}]"
            for f, v in zip(self.features, self.values[t], strict=True)
            if f.kind == "token"
        ]
        if any(f.kind != "token" for f in self.features):
            cols.append("W_i·x")
        return "+".join(cols) + "+b_i"

    def token_columns(self, t: int) -> list[int]:
        """The input columns step ``t``'s one-hot tokens select."""
        out, col = [], 0
        for f, v in zip(self.features, self.values[t], strict=True):
            if f.kind == "token":
                out.append(col + int(v))
            col += f.size
        return out

    # -- the read-out ---------------------------------------------------------------------
    @property
    def outputs(self) -> np.ndarray:
        """(O,) the network's read-out (model units; logits for classification)."""
        return np.asarray(self.trace.output[0], np.float64)

    @property
    def classification(self) -> bool:
        return self.out.kind == "classification"

    @property
    def probabilities(self) -> np.ndarray:
        """(C,) softmax of the logits."""
        z = self.outputs - self.outputs.max()
        e = np.exp(z)
        p: np.ndarray = e / e.sum()
        return p

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.outputs))

    def top(self, k: int = TOP_CLASSES) -> list[tuple[int, float]]:
        """The ``k`` most probable classes with their probabilities, most probable first."""
        p = self.probabilities
        order = np.argsort(-p, kind="stable")[:k]
        return [(int(c), float(p[c])) for c in order]

    @property
    def scaled(self) -> np.ndarray:
        """(O,) a regression's outputs in the task's units (× the output scale)."""
        s: np.ndarray = self.outputs * self.out.scale
        return s

    @property
    def expected_all(self) -> tuple[float, ...]:
        """Every expected output: the regression targets, or the one class."""
        t = self.seq.typed
        return tuple(t.expected_all) or (t.expected,)

    # the adding problem's names for its one output (its text and JSON use them)
    @property
    def high(self) -> int:
        return int(self.out.scale)

    @property
    def output(self) -> float:
        """The first read-out, model units (the adding problem's target / high)."""
        return float(self.trace.output[0, 0])

    @property
    def output_x_high(self) -> float:
        return self.output * self.high

    @property
    def expected(self) -> float:
        return float(self.seq.typed.expected)

    # -- JSON -----------------------------------------------------------------------------
    def step_terms(self, t: int) -> dict[str, Any]:
        """Every term of step ``t`` as lists over hidden units (JSON-ready)."""
        tr = self.trace
        out: dict[str, Any] = {"t": t}
        if self.seq.steps is not None:
            out["value"] = self.seq.steps[t].value
            out["flag"] = self.seq.steps[t].flag
        else:
            out["inputs"] = {
                f.name: _raw(f, v) for f, v in zip(self.features, self.values[t], strict=True)
            }
        out["x"] = self.x[t].tolist()
        out["h_prev"] = (tr.h0[0] if t == 0 else tr.h[0, t - 1]).tolist()
        for g in GATES:
            gt = tr.gate(g)
            d = {"input": gt.input[0, t].tolist(), "hidden": gt.hidden[0, t].tolist()}
            if g == "n":
                d["gated_hidden"] = tr.gated_hidden_n[0, t].tolist()
            d["pre"] = gt.pre[0, t].tolist()
            d["act"] = gt.act[0, t].tolist()
            out[g] = d
        out["h"] = tr.h[0, t].tolist()
        return out

    def to_json(self) -> dict[str, Any]:
        hidden = int(self.trace.h.shape[-1])
        steps = [self.step_terms(t) for t in range(len(self))]
        if self.seq.steps is not None:
            return {
                "sequence": [[s.value, s.flag] for s in self.seq.steps],
                "high": self.high,
                "hidden_size": hidden,
                "steps": steps,
                "output": self.output,
                "output_x_high": self.output_x_high,
                "expected": self.expected,
            }
        d: dict[str, Any] = {
            "features": [f.name for f in self.features],
            "sequence": [
                [_raw(f, v) for f, v in zip(self.features, row, strict=True)] for row in self.values
            ],
            "hidden_size": hidden,
            "steps": steps,
            "output": self.outputs.tolist(),
        }
        if self.classification:
            d["probabilities"] = self.probabilities.tolist()
            d["predicted"] = self.predicted
            d["expected"] = int(self.expected)
        else:
            d["scale"] = self.out.scale
            d["output_scaled"] = self.scaled.tolist()
            d["expected"] = list(self.expected_all)
        return d


def trace_typed(params: Mapping[str, np.ndarray], task: Task, seq: TypedSequence) -> SequenceTrace:
    """``seq`` through the gate function with the weights ``params`` of a ``task`` run."""
    features, out = describe(task)
    w = GRUWeights.from_params(params)
    if w.input_size != seq.typed.x.shape[-1]:
        raise TaskError(
            task_ref(task),
            f"its input has {seq.typed.x.shape[-1]} units, the weights {w.input_size}",
        )
    return SequenceTrace(seq, features, out, gru_trace(w, seq.typed.x))


def trace_text(params: Mapping[str, np.ndarray], task: Task, text: str) -> SequenceTrace:
    """``text`` read by ``task`` and traced: what ``grutui trace`` does."""
    return trace_typed(params, task, read_sequence(task, text))


def trace_sequence(params: Mapping[str, np.ndarray], steps: list[Step], high: int) -> SequenceTrace:
    """The adding problem's pairs traced (its values divided by ``high``)."""
    return trace_typed(params, AddingTask(high=high), adding_sequence(steps, high))
