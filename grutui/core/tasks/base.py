"""The task interface: what a task gives the engines, the debugger and the analyses.

A task is a frozen dataclass whose fields are its options (the task config: defaults,
``validate``, a JSON round trip through ``to_dict``/``from_dict``) and whose methods
describe the problem: the input features (their one-hot or scaled encoding gives the
input size D), the output (regression with a scale, or classification over C classes:
the output size O and the loss), the data from a seed, the text users type into the
debugger, and optionally the axes of an out-of-distribution grid. ``TrainConfig.task``
holds one; the registry (``grutui.core.tasks.registry``) finds a task class by name.

No torch here: the browse side (sessions, the debugger) reads tasks too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal, Protocol, Self, cast, runtime_checkable

import numpy as np

from grutui.core.errors import ConfigError


@dataclass(frozen=True)
class Feature:
    """One named input channel per time step.

    ``continuous``: the model sees ``value / scale`` (one input unit).
    ``token``: an integer in ``[0, vocab)``, seen one-hot (``vocab`` input units).
    """

    name: str
    kind: Literal["continuous", "token"] = "continuous"
    vocab: int = 0
    scale: float = 1.0

    @property
    def size(self) -> int:
        """Input units this feature takes."""
        return self.vocab if self.kind == "token" else 1


def input_size(features: tuple[Feature, ...]) -> int:
    """D: the model's input units for ``features``."""
    return sum(f.size for f in features)


@dataclass(frozen=True)
class Output:
    """What the network predicts from its last step.

    ``regression``: ``dims`` numbers (targets (N,) for one, (N, dims) for several); the
    model is trained on ``target / scale`` with MSE (the mean over samples and outputs),
    test losses are reported in raw units (outputs × scale). ``classification``: logits
    over ``classes`` classes, cross-entropy, accuracy as the metric.
    """

    kind: Literal["regression", "classification"] = "regression"
    classes: int = 0
    scale: float = 1.0
    dims: int = 1

    @property
    def size(self) -> int:
        """O: the model's output units."""
        return self.classes if self.kind == "classification" else self.dims

    @property
    def target_shape(self) -> tuple[int, ...]:
        """One sample's target: () for a class or one number, (dims,) for several."""
        return (self.dims,) if self.kind == "regression" and self.dims > 1 else ()

    @property
    def loss(self) -> Literal["mse", "cross_entropy"]:
        return "cross_entropy" if self.kind == "classification" else "mse"

    def metrics(self, outputs: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """The task's metrics for model outputs (N, O) against targets (N,): the loss
        as the engines report it on test data, and accuracy for classification."""
        out = np.asarray(outputs, np.float64)
        if self.kind == "classification":
            z = out - out.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            labels = np.asarray(y, np.int64)
            rows = np.arange(len(labels))
            return {
                "loss": float(-logp[rows, labels].mean()),
                "accuracy": float((out.argmax(axis=1) == labels).mean()),
            }
        target = np.asarray(y, np.float64).reshape(len(out), -1)
        err = out * self.scale - target
        return {"loss": float(np.mean(err**2))}


@runtime_checkable
class TaskData(Protocol):
    """A data set as the engines read it: ``x`` (N, T, F) the raw values of the F
    features per step, right-padded; ``lengths`` (N,) int64, each sequence read at step
    ``length - 1``; ``y`` (N,) the raw regression target (float32) or the class
    (int64), (N, dims) for a regression of several outputs; ``model_input()`` (N, T, D)
    float32, what the network sees."""

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int: ...

    def model_input(self) -> np.ndarray: ...


@dataclass
class SequenceData:
    """The plain ``TaskData``: raw per-feature values ``x`` (N, T, F), one column per
    input feature (token ids as numbers), encoded on demand by ``features``."""

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray
    features: tuple[Feature, ...]

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def model_input(self) -> np.ndarray:
        return encode(self.features, self.x)

    def subset(self, sl: slice) -> SequenceData:
        return SequenceData(self.x[sl], self.y[sl], self.lengths[sl], self.features)


def encode(features: tuple[Feature, ...], x: np.ndarray) -> np.ndarray:
    """Raw feature values (..., F) → model input (..., D) float32: continuous features
    divided by their scale (as float32, as torch divides), tokens one-hot."""
    x = np.asarray(x, np.float32)
    if x.shape[-1] != len(features):
        raise ValueError(f"{x.shape[-1]} feature columns for {len(features)} features")
    cols: list[np.ndarray] = []
    for i, f in enumerate(features):
        v = x[..., i]
        if f.kind == "token":
            ids = v.astype(np.int64)
            cols.append((ids[..., None] == np.arange(f.vocab)).astype(np.float32))
        else:
            cols.append((v / np.float32(f.scale))[..., None] if f.scale != 1 else v[..., None])
    return np.concatenate(cols, axis=-1).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Typed:
    """A sequence typed into the debugger: raw feature values (T, F), the model input
    (1, T, D) and the expected output (raw regression target or class; for a regression
    of several outputs the first, and all of them in ``expected_all``)."""

    values: np.ndarray
    x: np.ndarray
    expected: float
    expected_all: tuple[float, ...] = ()


@dataclass(frozen=True)
class OODAxes:
    """Two generalisation axes of the out-of-distribution grid: cell (a, b) for ``a`` in
    ``rows`` and ``b`` in ``cols`` (the adding problem: sequence length × flag count).

    Values are non-negative integers: the grid seeds each cell's sample with them. The
    names key a cell in JSON (``{"length": 4, "flags": 2, ...}``); the text grid heads
    its columns with the row name's first three letters and tags a cell by the names'
    initials and values (``L4F2``)."""

    row_name: str
    col_name: str
    rows: tuple[int, ...]
    cols: tuple[int, ...]

    def tag(self, row: int, col: int) -> str:
        """A cell in a few characters: ``L4F2``."""
        return f"{self.row_name[:1].upper()}{row}{self.col_name[:1].upper()}{col}"

    def corner(self, sep: str) -> str:
        """The grid's corner label, column axis name, ``sep``, row axis abbreviated
        (``flags\\len``), padded to at least 9: the width of the grid's line labels."""
        return f"{self.col_name}{sep}{self.row_name[:3]}".ljust(9)

    def problem(self) -> str | None:
        """What makes these axes unusable (one line), or None."""
        if not (isinstance(self.row_name, str) and isinstance(self.col_name, str)):
            return "axis names must be strings"
        if not self.row_name or not self.col_name or self.row_name == self.col_name:
            return "axis names must be two different non-empty strings"
        for name, vals in ((self.row_name, self.rows), (self.col_name, self.cols)):
            if not isinstance(vals, tuple) or not vals:
                return f"axis {name!r} needs a non-empty tuple of values"
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in vals):
                return f"axis {name!r} values must be non-negative integers"
            if len(set(vals)) != len(vals):
                return f"axis {name!r} repeats a value"
        return None


@dataclass(frozen=True)
class OODSample:
    """One cell of the out-of-distribution grid: its sequences and whether the cell
    lies in the training distribution (the grid marks it ``*``)."""

    data: TaskData
    in_distribution: bool


@runtime_checkable
class OODSampler(Protocol):
    """What a task with ``ood_axes`` implements so the grid can draw its cells (the
    optional part of ``Task``)."""

    def ood_cell(self, row: int, col: int, n: int, rng: np.random.Generator) -> OODSample | None:
        """``n`` sequences of cell (``row``, ``col``), or None where no such sequence
        exists (the grid shows ``·``, e.g. more flags than steps).

        Draw from ``rng`` only: the grid gives each cell its own stream, seeded by the
        grid's seed and the cell's values, so a cell's sample depends neither on the
        grid's extent nor on the order cells are drawn in. ``data`` is checked as
        ``datasets()``' is (features, output, lengths) and must hold ``n`` sequences;
        cells may differ in length (the grid pads them)."""
        ...


# the grid's sequences and their forward pass are held in memory at once
MAX_OOD_SAMPLES = 10_000


@dataclass(frozen=True)
class DataShape:
    """Sizes known from the options alone, before any data is drawn: what memory
    estimates and the fast engine's padding need."""

    n_train: int
    n_test: int
    max_len: int


class DataclassOptions:
    """``to_dict`` / ``from_dict`` of a task that is a frozen dataclass of its options;
    an unknown option is refused (a typo in a stored or typed config must not pass)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(cast(Any, self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        unknown = set(d) - set(getattr(cls, "__dataclass_fields__", {}))
        if unknown:
            raise ConfigError(f"unknown task option(s): {', '.join(sorted(unknown))}")
        return cast(Any, cls)(**d)


@runtime_checkable
class Task(Protocol):
    """A training task; implementations are frozen dataclasses of their options.

    ``name`` is a short name for titles; the registry finds a task by its built-in
    name, its entry point in the ``grutui.tasks`` group, or ``package.module:Class``.

    The out-of-distribution grid is optional: a task whose ``ood_axes`` returns axes
    also implements ``ood_cell(row, col, n, rng) -> OODSample | None`` (``OODSampler``),
    which draws one cell; the grid scores every cell through ``output()`` (success
    rate and mean relative error for a regression, accuracy and mean cross-entropy for
    a classification). A task with axes but no ``ood_cell`` is refused in one line; a
    task without axes has no grid."""

    name: ClassVar[str]

    def validate(self) -> None:
        """Raise ``ConfigError`` for an option training cannot use."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The options as JSON-ready values (``from_dict`` reads them back)."""
        ...

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self: ...

    def features(self) -> tuple[Feature, ...]:
        """The input features, in input-column order (their sizes sum to D)."""
        ...

    def output(self) -> Output: ...

    def datasets(self, seed: int) -> tuple[TaskData, TaskData]:
        """Train and test data, a function of the options and ``seed`` only."""
        ...

    def data_shape(self) -> DataShape:
        """Train and test sizes and the longest sequence, from the options alone."""
        ...

    def syntax(self) -> str:
        """An example of what users type into the debugger (shown as a hint)."""
        ...

    def parse(self, text: str) -> Typed:
        """A typed sequence; ``SequenceError(message, column)`` points at a fault."""
        ...

    def ood_axes(self) -> OODAxes | None:
        """The out-of-distribution grid's axes, or None where the task has none (then
        it needs no ``ood_cell``)."""
        ...


__all__ = [
    "MAX_OOD_SAMPLES",
    "DataShape",
    "Feature",
    "OODAxes",
    "OODSample",
    "OODSampler",
    "Output",
    "SequenceData",
    "Task",
    "TaskData",
    "Typed",
    "encode",
    "input_size",
]
