"""Out-of-distribution generalisation grid: one epoch, and every epoch ("strategy").

The grid's axes are the task's (``Task.ood_axes``) and so are its cells: the task's
``ood_cell`` draws each from its own seeded stream (``tasks.ood_cells``). The adding
problem's are the blog's: sequence length 1–8 × flag count 1–4, values 10–89. Cells
are scored through the task's output: a regression by relative error (success =
below 10 %, the blog's), a classification by the predicted class (success) and
cross-entropy (error). A task without axes, or with axes but no sampler, has no grid
(``ood_unavailable`` says why, for the pane and the CLI alike).
All cells go through one ``gru_output`` call (the one gate function), so a cursor move
costs one batched forward pass. Stacking several epochs' weights into one call was
measured and does not help on CPU (the work per epoch is already vectorised over
~5,000 sequences: 50 epochs stacked took 3.0 ms per epoch against 2.4 ms one at a time
at hidden 1), so the history is a loop over epochs with a cache on disk (history.py).
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from grutui.core.errors import ConfigError
from grutui.core.gru import GRUWeights, gru_output
from grutui.core.numfmt import json_number
from grutui.core.runview import RunView
from grutui.core.tasks import (
    AddingTask,
    OODAxes,
    OODSampler,
    Output,
    Task,
    ood_cells,
    task_label,
)

SUCCESS_THRESHOLD = 0.1  # the blog's: relative error < 10 %
DEFAULT_SAMPLES = 200
# the adding problem's axes: a result's unless it says otherwise (the grid's first)
ADDING_AXES = AddingTask().ood_axes()
LENGTHS = ADDING_AXES.rows
FLAGS = ADDING_AXES.cols


def ood_unavailable(task: Task) -> str | None:
    """Why ``task`` has no OOD grid (one line), or None when it has one."""
    label = task_label(task)
    try:
        axes = task.ood_axes()
    except Exception as exc:  # a third-party task's failure is its own
        return f"the {label} task's ood_axes() failed: {type(exc).__name__}: {exc}"
    if axes is None:
        return f"the {label} task has no generalisation axes"
    if not isinstance(axes, OODAxes):
        return f"the {label} task's ood_axes() must return OODAxes or None"
    problem = axes.problem()
    if problem is not None:
        return f"the {label} task's ood_axes(): {problem}"
    if not isinstance(task, OODSampler):
        return (
            f"the {label} task's axes ({axes.row_name} × {axes.col_name}) have no sampler: "
            "it does not implement ood_cell()"
        )
    return None


@dataclass(frozen=True)
class Scoring:
    """How a cell's sequences are scored, from the task's output kind."""

    error: str  # the error metric, in words
    short: str  # the same, short
    rule: str  # what success means
    key: str  # the error's JSON key
    threshold: float | None  # the relative error below which a sequence succeeds

    @staticmethod
    def of(output: Output) -> Scoring:
        return CLASSES if output.kind == "classification" else RELATIVE


RELATIVE = Scoring(
    "mean relative error",
    "mean rel. error",
    f"relative error < {SUCCESS_THRESHOLD:.0%}",
    "mean_rel_error",
    SUCCESS_THRESHOLD,
)
CLASSES = Scoring(
    "mean cross-entropy", "mean cross-entropy", "the right class", "mean_cross_entropy", None
)


def sample_scores(output: Output, out: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sequence: the error (inf where not finite) and whether it succeeded, for
    model outputs ``out`` (N, O) against targets ``y``. A regression's error is the
    relative error ``|out × scale − y| / max(|y|, 1)``, its largest over the outputs;
    a classification's is the cross-entropy, success the arg-max being the class."""
    with np.errstate(all="ignore"):
        pred = np.asarray(out).astype(np.float64)
        if output.kind == "classification":
            z = pred - pred.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            labels = np.asarray(y, np.int64)
            err = -logp[np.arange(len(labels)), labels]
            ok = pred.argmax(axis=1) == labels
        else:
            target = np.asarray(y).astype(np.float64).reshape(len(pred), -1)
            rel = np.abs(pred * output.scale - target) / np.maximum(np.abs(target), 1.0)
            err = rel.max(axis=1)
            ok = err < SUCCESS_THRESHOLD
    finite = np.isfinite(err)
    return np.where(finite, err, np.inf), ok & finite


@dataclass(frozen=True)
class SampledGrid:
    """A task's grid sample as the network sees it: every cell's sequences stacked,
    cell c at rows ``[c*n, (c+1)*n)``, zero-padded to the longest (read-only)."""

    axes: OODAxes
    cells: list[tuple[int, int]]  # (row, col) per existing cell, row-major
    x: np.ndarray  # (C·n, T, D) float32 model input
    y: np.ndarray  # the targets, as the task's data give them
    lengths: np.ndarray  # (C·n,) int64
    in_distribution: np.ndarray  # (C,) bool


def _sample_grid(task: Task, samples: int, seed: int) -> SampledGrid:
    """``task``'s grid (which must have one: ``ood_unavailable``), ``samples`` per cell."""
    axes = task.ood_axes()
    assert axes is not None and isinstance(task, OODSampler)
    drawn = ood_cells(task, axes, samples, seed)
    inputs = [np.asarray(s.data.model_input(), np.float32) for _, s in drawn]
    t_max = max(x.shape[1] for x in inputs)
    x = np.zeros((len(inputs) * samples, t_max, inputs[0].shape[2]), np.float32)
    for c, block in enumerate(inputs):
        x[c * samples : (c + 1) * samples, : block.shape[1]] = block
    y = np.concatenate([np.asarray(s.data.y) for _, s in drawn])
    lengths = np.concatenate([np.asarray(s.data.lengths, np.int64) for _, s in drawn])
    ind = np.array([bool(s.in_distribution) for _, s in drawn])
    for a in (x, y, lengths, ind):
        a.setflags(write=False)
    return SampledGrid(axes, [c for c, _ in drawn], x, y, lengths, ind)


@functools.lru_cache(maxsize=8)
def _cached_grid(task: Hashable, samples: int, seed: int) -> SampledGrid:
    return _sample_grid(cast(Task, task), samples, seed)


def _grid(task: Task, samples: int, seed: int) -> SampledGrid:
    """The grid, drawn once per (task, samples, seed) where the task is hashable (a
    frozen dataclass): every pane, history and comparison shares it."""
    try:
        hash(task)
    except TypeError:
        return _sample_grid(task, samples, seed)
    return _cached_grid(cast(Hashable, task), samples, seed)


@dataclass(frozen=True)
class OODCell:
    row: int  # the row axis' value (the adding problem's length)
    col: int  # the column axis' value (its flag count)
    success_rate: float
    mean_rel_error: float  # the error metric (``Scoring``); inf when not finite
    samples: int
    in_distribution: bool


@dataclass
class OODResult:
    """The grid at one epoch. Arrays are per cell, cells in ``cells`` order."""

    cells: list[tuple[int, int]]  # (row, col) values; the cells that exist
    success: np.ndarray  # (C,) fraction of samples that succeed (``Scoring.rule``)
    mean_rel_error: np.ndarray  # (C,) the mean error (``Scoring.error``)
    in_distribution: np.ndarray  # (C,) bool
    samples: int
    epoch: int | None = None
    member: int = 0
    axes: OODAxes = ADDING_AXES
    scoring: Scoring = RELATIVE

    def cell(self, row: int, col: int) -> OODCell:
        i = self.cells.index((row, col))
        return OODCell(
            row,
            col,
            float(self.success[i]),
            float(self.mean_rel_error[i]),
            self.samples,
            bool(self.in_distribution[i]),
        )

    def table(self, which: str = "success") -> np.ndarray:
        """(cols, rows) matrix for a heat map: one line per column-axis value (the
        adding problem's flags), one column per row-axis value (its lengths); NaN where
        the cell does not exist. ``which``: success | error."""
        vals = {"success": self.success, "error": self.mean_rel_error}[which]
        rows, cols = self.axes.rows, self.axes.cols
        out = np.full((len(cols), len(rows)), np.nan)
        for (a, b), v in zip(self.cells, vals, strict=True):
            out[cols.index(b), rows.index(a)] = v
        return out

    def cell_json(self, row: int, col: int) -> dict[str, Any]:
        c = self.cell(row, col)
        return {
            self.axes.row_name: c.row,
            self.axes.col_name: c.col,
            "success_rate": c.success_rate,
            self.scoring.key: json_number(c.mean_rel_error),
            "samples": c.samples,
            "in_distribution": c.in_distribution,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "member": self.member,
            "samples_per_cell": self.samples,
            **threshold_json(self.scoring),
            "cells": [self.cell_json(a, b) for a, b in self.cells],
        }


def threshold_json(scoring: Scoring) -> dict[str, float]:
    """The success threshold, where success has one (a regression's relative error)."""
    return {} if scoring.threshold is None else {"threshold": scoring.threshold}


class OODEvaluator:
    """Holds one seeded grid sample; ``evaluate(params)`` scores a set of weights."""

    def __init__(self, task: Task, samples: int = DEFAULT_SAMPLES, seed: int = 0) -> None:
        reason = ood_unavailable(task)
        if reason is not None:
            raise ConfigError(f"no out-of-distribution grid: {reason}")
        self.task = task
        self.samples = samples
        self.seed = seed
        self.grid = _grid(task, samples, seed)
        self.axes = self.grid.axes
        self.cells = list(self.grid.cells)
        self.in_distribution = self.grid.in_distribution
        self.output = task.output()
        self.scoring = Scoring.of(self.output)

    def scores(self, params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Every sequence's error and success (``sample_scores``), (N,) each."""
        w = GRUWeights.from_params(params)
        with np.errstate(all="ignore"):
            out = gru_output(w, self.grid.x, self.grid.lengths)
        return sample_scores(self.output, out, self.grid.y)

    def evaluate(
        self, params: Mapping[str, np.ndarray], epoch: int | None = None, member: int = 0
    ) -> OODResult:
        err, ok = self.scores(params)
        shape = (len(self.cells), self.samples)
        return OODResult(
            self.cells,
            ok.reshape(shape).mean(axis=1),
            err.reshape(shape).mean(axis=1),
            self.in_distribution,
            self.samples,
            epoch,
            member,
            self.axes,
            self.scoring,
        )


def ood_at(
    session: RunView,
    epoch: int | str = "last",
    member: int = 0,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> OODResult:
    """The grid for ``session`` at ``epoch``: the latest snapshot at or before it, whose
    epoch the result carries (so a sparse session never mislabels its weights)."""
    e = snapshot_epoch(session, epoch)
    ev = OODEvaluator(session.config.task, samples, seed)
    return ev.evaluate(session.weights(e, member), epoch=e, member=member)


class OODView:
    """The grid for a cursor: ``at(epoch)`` keyed by the snapshot actually used, so
    scrubbing between snapshots or back over visited ones costs nothing. Keeps the
    ``max_cached`` most recent results (one result is ~26 floats × 3)."""

    def __init__(
        self, session: RunView, samples: int = DEFAULT_SAMPLES, seed: int = 0, max_cached: int = 512
    ) -> None:
        self.session = session
        self.evaluator = OODEvaluator(session.config.task, samples, seed)
        self.max_cached = max_cached
        self._cache: OrderedDict[tuple[int, int], OODResult] = OrderedDict()

    def at(self, epoch: int | str, member: int = 0) -> OODResult:
        e = snapshot_epoch(self.session, epoch)
        key = (e, member)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        res = self.evaluator.evaluate(self.session.weights(e, member), e, member)
        self._cache[key] = res
        if len(self._cache) > self.max_cached:
            self._cache.popitem(last=False)
        return res


def snapshot_epoch(session: RunView, epoch: int | str) -> int:
    """The epoch of the snapshot ``session.weights(epoch)`` returns."""
    e = session.resolve_epoch(epoch)
    return int(session.snapshot_epochs[session.snapshot_index(e)])


def format_grid(res: OODResult) -> str:
    """A readable text grid: success rate (mean error), * = in distribution."""
    corner = res.axes.corner("\\")
    head = corner + "".join(f"{n:>14} " for n in res.axes.rows)
    lines = [
        f"success rate ({res.scoring.error}), {res.samples} samples per cell, "
        f"* = training distribution",
        head.rstrip(),
    ]
    for k in res.axes.cols:
        row = f"{k:>{len(corner)}}"
        for n in res.axes.rows:
            if (n, k) not in res.cells:
                row += f"{'·':>14} "
                continue
            c = res.cell(n, k)
            err = "inf" if not math.isfinite(c.mean_rel_error) else f"{c.mean_rel_error:.2f}"
            mark = "*" if c.in_distribution else " "
            row += f"{c.success_rate:>7.2f} ({err:>4}){mark}"
        lines.append(row.rstrip())
    return "\n".join(lines)
