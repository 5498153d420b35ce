"""Tasks by name: the built-in ones, those installed packages declare in the
``grutui.tasks`` entry-point group, and ``package.module:Class`` references.

A task that cannot be loaded or breaks the interface is a ``TaskError`` naming it: the
CLI prints it as one line and exits 2.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any, cast

import numpy as np

from grutui.core.errors import ConfigError
from grutui.core.tasks.base import (
    MAX_OOD_SAMPLES,
    Feature,
    OODAxes,
    OODSample,
    OODSampler,
    Output,
    Task,
    TaskData,
)

ENTRY_POINT_GROUP = "grutui.tasks"
# name → "module:Class"; the adding problem is the default (old sessions name no task)
BUILTIN: dict[str, str] = {
    "adding": "grutui.core.tasks.adding:AddingTask",
    "modadd": "grutui.core.tasks.modadd:ModAddTask",
    "flipflop": "grutui.core.tasks.flipflop:FlipFlopTask",
}
DEFAULT_TASK = "adding"
# what a task class must provide besides being a dataclass of its options
REQUIRED = (
    "validate",
    "to_dict",
    "from_dict",
    "features",
    "output",
    "datasets",
    "data_shape",
    "syntax",
    "parse",
    "ood_axes",
)


class TaskError(ConfigError):
    """A task that cannot be found, imported or used; the message names it."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"task {name!r}: {problem}")
        self.task_name = name


def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def task_names() -> list[str]:
    """Every task found by name: built-ins first, then installed ones (sorted)."""
    installed = sorted(n for n in _entry_points() if n not in BUILTIN)
    return [*BUILTIN, *installed]


def _import(name: str, ref: str) -> type[Any]:
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise TaskError(name, f"{ref!r} is not 'package.module:Class'")
    try:
        obj: Any = importlib.import_module(module)
    except Exception as exc:  # any failure of a third-party module is the task's fault
        raise TaskError(name, f"cannot import {module}: {type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise TaskError(name, f"module {module} has no {attr!r}")
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise TaskError(name, f"{ref} is not a class")
    return obj


def task_class(name: str) -> type[Task]:
    """The task class ``name`` refers to, checked against the interface."""
    if name in BUILTIN:
        ref = BUILTIN[name]
    elif ":" in name:
        ref = name
    else:
        ref = _entry_points().get(name, "")
        if not ref:
            raise TaskError(name, f"no such task (choose from {', '.join(task_names())})")
    cls = _import(name, ref)
    missing = [m for m in REQUIRED if not callable(getattr(cls, m, None))]
    if missing:
        raise TaskError(name, f"{cls.__qualname__} lacks {', '.join(missing)}")
    if not hasattr(cls, "__dataclass_fields__"):
        raise TaskError(name, f"{cls.__qualname__} is not a dataclass of its options")
    return cast(type[Task], cls)


def task_ref(task: Task) -> str:
    """The name that finds ``task``'s class again (what a session stores): its built-in
    or entry-point name, else ``module:Class``."""
    cls = type(task)
    ref = f"{cls.__module__}:{cls.__qualname__}"
    for name, value in BUILTIN.items():
        if value == ref:
            return name
    for name, value in _entry_points().items():
        if value.replace(" ", "") == ref:
            return name
    return ref


def task_label(task: Task) -> str:
    """A task in a few characters for titles: the adding problem's flavour (what the
    app and ``grutui info`` have always shown), else its name."""
    flavour = getattr(task, "flavour", None) if task_ref(task) == DEFAULT_TASK else None
    return str(flavour) if flavour else str(getattr(task, "name", task_ref(task)))


def make_task(name: str, options: dict[str, Any] | None = None) -> Task:
    """An instance of task ``name`` with ``options`` (defaults for the rest)."""
    cls = task_class(name)
    try:
        task = cls.from_dict(dict(options or {}))
    except ConfigError:
        raise
    except Exception as exc:
        raise TaskError(name, f"bad options: {type(exc).__name__}: {exc}") from None
    return task


def task_to_dict(task: Task) -> dict[str, Any]:
    """A task's JSON: its options, plus ``name`` for any task but the default (so the
    adding problem's JSON is what it always was)."""
    d = dict(task.to_dict())
    ref = task_ref(task)
    return d if ref == DEFAULT_TASK else {"name": ref, **d}


def task_from_dict(d: dict[str, Any]) -> Task:
    """Inverse of ``task_to_dict``; a dict without ``name`` is the adding problem."""
    d = dict(d)
    name = d.pop("name", DEFAULT_TASK)
    if not isinstance(name, str):
        raise ConfigError(f"task name must be a string, got {name!r}")
    return make_task(name, d)


def describe(task: Task) -> tuple[tuple[Feature, ...], Output]:
    """``task``'s features and output, checked: what the engines size the model by."""
    problem = _describe_problem(task)
    if isinstance(problem, str):
        raise TaskError(task_ref(task), problem)
    return problem


def _describe_problem(task: Task) -> tuple[tuple[Feature, ...], Output] | str:
    try:
        features, out = tuple(task.features()), task.output()
    except Exception as exc:
        return f"cannot describe itself: {type(exc).__name__}: {exc}"
    if not features or not all(isinstance(f, Feature) for f in features):
        return "features() must return a non-empty tuple of Feature"
    for f in features:
        if f.kind not in ("continuous", "token") or (f.kind == "token" and f.vocab < 1):
            return f"feature {f.name!r}: a token feature needs vocab >= 1"
        if f.kind == "continuous" and not (isinstance(f.scale, int | float) and f.scale > 0):
            return f"feature {f.name!r}: scale must be positive"
    if not isinstance(out, Output) or out.kind not in ("regression", "classification"):
        return "output() must return an Output (regression or classification)"
    if out.kind == "classification" and out.classes < 2:
        return "a classification output needs at least 2 classes"
    if out.kind == "regression" and not out.scale > 0:
        return "a regression output's scale must be positive"
    if out.kind == "regression" and not (isinstance(out.dims, int) and out.dims >= 1):
        return "a regression output's dims must be a positive integer"
    return features, out


def make_datasets(task: Task, seed: int) -> tuple[TaskData, TaskData]:
    """Train and test data of ``task`` for ``seed``, checked against what the task
    declares (feature width, output kind, lengths): a task breaking its own
    description fails here, in one line naming it, not deep inside an engine."""
    task.validate()
    features, out = describe(task)
    try:
        sets = task.datasets(seed)
    except ConfigError:
        raise
    except Exception as exc:
        raise TaskError(
            task_ref(task), f"datasets({seed}) failed: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(sets, tuple) or len(sets) != 2:
        raise TaskError(task_ref(task), "datasets() must return (train, test)")
    for what, ds in zip(("train", "test"), sets, strict=True):
        problem = _data_problem(ds, features, out)
        if problem:
            raise TaskError(task_ref(task), f"{what} {problem}")
    return sets[0], sets[1]


def _data_problem(ds: TaskData, features: tuple[Feature, ...], out: Output) -> str | None:
    """What is wrong with one data set, or None."""
    d = sum(f.size for f in features)
    try:
        x = ds.model_input()
        n = len(ds)
        y, lengths = np.asarray(ds.y), np.asarray(ds.lengths)
        raw = np.shape(ds.x)
    except Exception as exc:
        return f"data: {type(exc).__name__}: {exc}"
    if n < 1:
        return "data is empty"
    if len(raw) != 3 or raw[0] != n or raw[2] != len(features):
        return f"x is {raw}, expected ({n}, T, {len(features)}): one column a feature"
    if np.shape(x) != (n, raw[1], d):
        return f"input is {np.shape(x)}, expected ({n}, {raw[1]}, {d})"
    if y.shape != (n, *out.target_shape):
        return f"targets are {y.shape}, expected {(n, *out.target_shape)}"
    if lengths.shape != (n,) or lengths.min() < 1 or lengths.max() > raw[1]:
        return f"lengths must be ({n},) in [1, {raw[1]}]"
    if out.kind == "classification" and (
        not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= out.classes
    ):
        return f"classes must be integers in [0, {out.classes})"
    return None


def ood_cells(
    task: OODSampler, axes: OODAxes, n: int, seed: int
) -> list[tuple[tuple[int, int], OODSample]]:
    """Every cell of ``axes`` that exists, row-major, ``n`` sequences each from
    ``task.ood_cell`` (the grid's one sampling rule: cell (a, b) draws from
    ``default_rng([seed, a, b])``), each checked as ``make_datasets`` checks data."""
    if n < 1:
        raise ConfigError(f"sample size per cell must be at least 1, got {n}")
    if n > MAX_OOD_SAMPLES:
        raise ConfigError(
            f"sample size per cell is limited to {MAX_OOD_SAMPLES:,}, got {n:,} "
            "(the grid's sequences and their forward pass are held in memory at once)"
        )
    ref = task_ref(cast(Task, task))
    features, out = describe(cast(Task, task))
    cells: list[tuple[tuple[int, int], OODSample]] = []
    for a in axes.rows:
        for b in axes.cols:
            call = f"ood_cell({a}, {b})"
            try:
                got = task.ood_cell(a, b, n, np.random.default_rng([seed, a, b]))
            except ConfigError:
                raise
            except Exception as exc:
                raise TaskError(ref, f"{call} failed: {type(exc).__name__}: {exc}") from None
            if got is None:
                continue
            if not isinstance(got, OODSample):
                raise TaskError(ref, f"{call} must return an OODSample or None")
            problem = _data_problem(got.data, features, out)
            if problem is None and len(got.data) != n:
                problem = f"gave {len(got.data)} sequences, not {n}"
            if problem:
                raise TaskError(ref, f"{call} {problem}")
            cells.append(((a, b), got))
    if not cells:
        raise TaskError(ref, "ood_cell() gave no cell of the grid")
    return cells
