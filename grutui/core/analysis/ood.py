"""Out-of-distribution generalisation grid: one epoch, and every epoch ("strategy").

The grid's axes are the task's (``Task.ood_axes``); the adding problem's are the blog's:
sequence length 1–8 × flag count 1–4, values 10–89, a fixed seeded sample per cell
(``tasks.ood_grid``), success = relative error below 10 %. A task without axes has no
grid (``ood_unavailable`` says why, for the pane and the CLI alike).
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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from grutui.core.errors import ConfigError
from grutui.core.gru import GRUWeights, gru_output
from grutui.core.numfmt import json_number
from grutui.core.runview import RunView
from grutui.core.tasks import AddingTask, OODGrid, Task, ood_grid, task_label

SUCCESS_THRESHOLD = 0.1  # the blog's: relative error < 10 %
DEFAULT_SAMPLES = 200
# the adding problem's axes: the grid's rows and columns as the pane and text show them
_ADDING_AXES = AddingTask().ood_axes()
LENGTHS = _ADDING_AXES.rows
FLAGS = _ADDING_AXES.cols


def ood_unavailable(task: Task) -> str | None:
    """Why ``task`` has no OOD grid (one line), or None when it has one."""
    try:
        axes = task.ood_axes()
    except Exception as exc:  # a third-party task's failure is its own
        return f"the {task_label(task)} task's ood_axes() failed: {type(exc).__name__}: {exc}"
    if axes is None:
        return f"the {task_label(task)} task has no generalisation axes"
    if not isinstance(task, AddingTask) or axes != _ADDING_AXES:
        # cells are drawn by the adding problem's generator; no other task says how
        return (
            f"the {task_label(task)} task's axes ({axes.row_name} × {axes.col_name}) have "
            "no sampler: the grid draws only the adding problem's sequences"
        )
    return None


@functools.lru_cache(maxsize=8)
def _grid(samples: int, seed: int, scale: int) -> tuple[OODGrid, np.ndarray]:
    lengths = range(LENGTHS[0], LENGTHS[-1] + 1)
    flags = range(FLAGS[0], FLAGS[-1] + 1)
    g = ood_grid(lengths, flags, n_per_cell=samples, seed=seed, scale=scale)
    x = g.data.model_input()
    x.setflags(write=False)
    return g, x


@dataclass(frozen=True)
class OODCell:
    length: int
    flags: int
    success_rate: float
    mean_rel_error: float  # inf when some prediction is not finite (diverged weights)
    samples: int
    in_distribution: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "flags": self.flags,
            "success_rate": self.success_rate,
            "mean_rel_error": json_number(self.mean_rel_error),
            "samples": self.samples,
            "in_distribution": self.in_distribution,
        }


@dataclass
class OODResult:
    """The grid at one epoch. Arrays are per cell, cells in ``cells`` order."""

    cells: list[tuple[int, int]]  # (length, flags), flags <= length
    success: np.ndarray  # (C,) fraction of samples with relative error < threshold
    mean_rel_error: np.ndarray  # (C,)
    in_distribution: np.ndarray  # (C,) bool
    samples: int
    epoch: int | None = None
    member: int = 0

    def cell(self, length: int, flags: int) -> OODCell:
        i = self.cells.index((length, flags))
        return OODCell(
            length,
            flags,
            float(self.success[i]),
            float(self.mean_rel_error[i]),
            self.samples,
            bool(self.in_distribution[i]),
        )

    def table(self, which: str = "success") -> np.ndarray:
        """(flags, lengths) matrix for a heat map, rows flags 1–4, columns lengths 1–8;
        NaN where flags > length (no such sequence). ``which``: success | error."""
        vals = {"success": self.success, "error": self.mean_rel_error}[which]
        out = np.full((len(FLAGS), len(LENGTHS)), np.nan)
        for (length, k), v in zip(self.cells, vals, strict=True):
            out[FLAGS.index(k), LENGTHS.index(length)] = v
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "member": self.member,
            "samples_per_cell": self.samples,
            "threshold": SUCCESS_THRESHOLD,
            "cells": [self.cell(length, k).to_json() for length, k in self.cells],
        }


class OODEvaluator:
    """Holds one seeded grid sample; ``evaluate(params)`` scores a set of weights."""

    def __init__(self, task: Task, samples: int = DEFAULT_SAMPLES, seed: int = 0) -> None:
        reason = ood_unavailable(task)
        if reason is not None or not isinstance(task, AddingTask):
            raise ConfigError(f"no out-of-distribution grid: {reason}")
        self.task = task
        self.samples = samples
        self.seed = seed
        self.grid, self.x = _grid(samples, seed, task.high)
        self.high = task.high
        self.cells = list(self.grid.cells)
        self.in_distribution = np.array([task.in_distribution(n, k) for n, k in self.cells])

    def relative_errors(self, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """|output×high − target| / max(|target|, 1) per sample (N,); inf if not finite."""
        w = GRUWeights.from_params(params)
        with np.errstate(all="ignore"):
            pred = gru_output(w, self.x, self.grid.data.lengths)[:, 0].astype(np.float64)
            y = self.grid.data.y.astype(np.float64)
            err = np.abs(pred * self.high - y) / np.maximum(np.abs(y), 1.0)
        return np.where(np.isfinite(err), err, np.inf)

    def evaluate(
        self, params: Mapping[str, np.ndarray], epoch: int | None = None, member: int = 0
    ) -> OODResult:
        err = self.relative_errors(params).reshape(len(self.cells), self.samples)
        success = (err < SUCCESS_THRESHOLD).mean(axis=1)
        mean = err.mean(axis=1)
        return OODResult(
            self.cells, success, mean, self.in_distribution, self.samples, epoch, member
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
    """A readable text grid: success rate (mean relative error), * = in distribution."""
    head = "flags\\len" + "".join(f"{n:>14} " for n in LENGTHS)
    lines = [
        f"success rate (mean relative error), {res.samples} samples per cell, "
        f"* = training distribution",
        head.rstrip(),
    ]
    for k in FLAGS:
        row = f"{k:>9}"
        for n in LENGTHS:
            if (n, k) not in res.cells:
                row += f"{'·':>14} "
                continue
            c = res.cell(n, k)
            err = "inf" if not math.isfinite(c.mean_rel_error) else f"{c.mean_rel_error:.2f}"
            mark = "*" if c.in_distribution else " "
            row += f"{c.success_rate:>7.2f} ({err:>4}){mark}"
        lines.append(row.rstrip())
    return "\n".join(lines)
