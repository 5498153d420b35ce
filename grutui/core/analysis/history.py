"""Strategy over epochs: the OOD grid at every snapshot (or every ``stride``-th one),
cached in ``analysis.h5`` beside the session (or in its store directory when the
session is read-only).

Cached by ``grutui.core.analysis.rowcache`` (format there) in the group
``ood/member{M}_n{N}_seed{S}_stride{K}``: attributes fingerprint, samples, seed,
stride, member, threshold; the constant ``cells`` (C, 2) (the task's (row, col)
values: (length, flags) for the adding problem); rows
``epoch``, ``success`` (R, C), ``mean_rel_error`` (R, C). A grown session only computes
the new rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grutui.core.analysis.ood import (
    ADDING_AXES,
    DEFAULT_SAMPLES,
    RELATIVE,
    SUCCESS_THRESHOLD,
    OODEvaluator,
    OODResult,
    Scoring,
    threshold_json,
)
from grutui.core.analysis.rowcache import (
    cache_path,
    fingerprint,
    is_prefix,
    read_rows,
    write_rows,
)
from grutui.core.errors import ConfigError
from grutui.core.numfmt import json_number
from grutui.core.runview import RunView
from grutui.core.tasks import OODAxes


@dataclass
class OODHistory:
    """The grid per evaluated epoch: ``success``/``mean_rel_error`` are (S, C); the
    error is the one ``scoring`` names."""

    epochs: np.ndarray  # (S,) evaluated epochs, ascending
    cells: list[tuple[int, int]]
    success: np.ndarray
    mean_rel_error: np.ndarray
    in_distribution: np.ndarray  # (C,)
    samples: int
    seed: int
    stride: int
    member: int = 0
    complete: bool = True  # False when stopped early
    computed: int = 0  # rows computed by this call (the rest came from the cache)
    axes: OODAxes = ADDING_AXES
    scoring: Scoring = RELATIVE

    def __len__(self) -> int:
        return len(self.epochs)

    def at(self, epoch: int) -> OODResult:
        """The grid at the latest evaluated epoch at or before ``epoch``."""
        i = int(np.searchsorted(self.epochs, epoch, side="right")) - 1
        if i < 0:
            raise IndexError(f"no evaluated epoch at or before {epoch}")
        return OODResult(
            self.cells,
            self.success[i],
            self.mean_rel_error[i],
            self.in_distribution,
            self.samples,
            int(self.epochs[i]),
            self.member,
            self.axes,
            self.scoring,
        )

    def labels(self) -> list[str]:
        """Each cell's tag and ``*`` where it is in the training distribution, padded to
        one width (``L4F2*``), what the strips are labelled by."""
        tags = [self.axes.tag(n, k) for n, k in self.cells]
        width = max(map(len, tags), default=0) + 1
        marks = ["*" if m else "" for m in self.in_distribution]
        return [f"{t}{m}".ljust(width) for t, m in zip(tags, marks, strict=True)]

    def series(self, row: int, col: int, which: str = "success") -> np.ndarray:
        """One cell over the evaluated epochs (S,)."""
        j = self.cells.index((row, col))
        arr = self.success if which == "success" else self.mean_rel_error
        return arr[:, j]

    def to_json(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "samples_per_cell": self.samples,
            "seed": self.seed,
            "stride": self.stride,
            **threshold_json(self.scoring),
            "complete": self.complete,
            "epochs": [int(e) for e in self.epochs],
            "cells": [
                {
                    self.axes.row_name: n,
                    self.axes.col_name: k,
                    "in_distribution": bool(self.in_distribution[j]),
                    "success_rate": [float(v) for v in self.success[:, j]],
                    self.scoring.key: [json_number(v) for v in self.mean_rel_error[:, j]],
                }
                for j, (n, k) in enumerate(self.cells)
            ],
        }


BARS = " ▁▂▃▄▅▆▇█"


def format_history(hist: OODHistory, width: int = 100) -> str:
    """One line per cell: its success rate over the evaluated epochs as a bar strip
    (at most ``width`` columns, later epochs sampled evenly when there are more)."""
    cols = np.unique(np.linspace(0, len(hist) - 1, min(width, len(hist))).round().astype(int))
    if not len(hist):
        return "no evaluated epochs"
    lines = [
        f"success rate per cell over epochs {hist.epochs[0]}..{hist.epochs[-1]} "
        f"({len(cols)} of {len(hist)} evaluated epochs shown; * = training distribution)"
    ]
    for j, label in enumerate(hist.labels()):
        vals = hist.success[cols, j]
        bar = "".join(BARS[int(v * (len(BARS) - 1) + 0.5)] for v in vals)
        lines.append(f"{label} |{bar}| {vals[-1]:.2f}")
    return "\n".join(lines)


def group_name(member: int, samples: int, seed: int, stride: int) -> str:
    return f"ood/member{member}_n{samples}_seed{seed}_stride{stride}"


def ood_history(
    session: RunView,
    member: int = 0,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    stride: int = 1,
    *,
    use_cache: bool = True,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> OODHistory:
    """The grid at snapshot rows 0, stride, 2·stride, … of ``session``.

    Rows are chosen by snapshot index, not by epoch, so the choice is stable as a live
    session grows. ``should_stop`` is polled between epochs (a stopped run returns,
    and caches, what it has: ``complete=False``); ``on_progress(done, total)`` reports.
    """
    if stride < 1:
        raise ConfigError(f"stride must be at least 1, got {stride}")
    session.check_member(member)
    wanted = np.asarray(session.snapshot_epochs[::stride], np.int64)
    ev = OODEvaluator(session.config.task, samples, seed)
    n_cells = len(ev.cells)
    key = group_name(member, samples, seed, stride)
    attrs: dict[str, Any] = {}
    cells = {"cells": np.asarray(ev.cells, np.int64)}
    cached = None
    if use_cache:
        attrs = {
            "fingerprint": fingerprint(session),
            "samples": samples,
            "seed": seed,
            "stride": stride,
            "member": member,
            "threshold": SUCCESS_THRESHOLD,
        }
        names = ("success", "mean_rel_error")
        cached = read_rows(cache_path(session), key, attrs, names, cells)
    ep0 = np.zeros(0, np.int64)
    su0 = np.zeros((0, n_cells))
    me0 = np.zeros((0, n_cells))
    if cached is not None and is_prefix(cached["epoch"], wanted):
        ep0, su0, me0 = cached["epoch"], cached["success"], cached["mean_rel_error"]
    todo = wanted[len(ep0) :]
    su = np.empty((len(todo), n_cells))
    me = np.empty((len(todo), n_cells))
    done = 0
    stop = should_stop or (lambda: False)
    for i, e in enumerate(todo):
        if stop():
            break
        res = ev.evaluate(session.weights(int(e), member), int(e), member)
        su[i], me[i] = res.success, res.mean_rel_error
        done = i + 1
        if on_progress is not None:
            on_progress(len(ep0) + done, len(wanted))
    hist = OODHistory(
        np.concatenate([ep0, todo[:done]]),
        ev.cells,
        np.concatenate([su0, su[:done]]),
        np.concatenate([me0, me[:done]]),
        ev.in_distribution,
        samples,
        seed,
        stride,
        member,
        complete=done == len(todo),
        computed=done,
        axes=ev.axes,
        scoring=ev.scoring,
    )
    if use_cache and done:
        rows = {
            "epoch": hist.epochs,
            "success": hist.success,
            "mean_rel_error": hist.mean_rel_error,
        }
        write_rows(session, key, attrs, rows, len(ep0), cells)
    return hist
