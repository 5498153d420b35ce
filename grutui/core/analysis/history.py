"""Strategy over epochs: the OOD grid at every snapshot (or every ``stride``-th one),
cached in ``analysis.h5`` beside the session (so its own ``session.h5`` keeps one
writer), or in its store directory when the session is read-only
(``grutui.core.paths.store_dir``).

Cache layout (plain HDF5, no pickle)::

    analysis.h5
      attrs: format="grutui-analysis", format_version
      ood/member{M}_n{N}_seed{S}_stride{K}/      one group per parameter set
        attrs: fingerprint (session identity), samples, seed, stride, member, threshold
        cells           int64   (C, 2)   (length, flags)
        epoch           int64   (R,)     evaluated epochs, a prefix of the wanted ones
        success         float64 (R, C)
        mean_rel_error  float64 (R, C)

A cached group is reused when its fingerprint matches and its epochs are a prefix of
the epochs wanted now; a grown session only computes the new rows. Anything else (a
session overwritten in place, another grid) recomputes. If the file cannot be written
(read-only directory, another process holding it) the result is still returned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from grutui.core.analysis.ood import (
    DEFAULT_SAMPLES,
    SUCCESS_THRESHOLD,
    OODEvaluator,
    OODResult,
)
from grutui.core.errors import ConfigError
from grutui.core.paths import store_dir
from grutui.core.runview import RunView

ANALYSIS_NAME = "analysis.h5"
FORMAT = "grutui-analysis"
FORMAT_VERSION = 1


@dataclass
class OODHistory:
    """The grid per evaluated epoch: ``success``/``mean_rel_error`` are (S, C)."""

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
        )

    def series(self, length: int, flags: int, which: str = "success") -> np.ndarray:
        """One cell over the evaluated epochs (S,)."""
        j = self.cells.index((length, flags))
        arr = self.success if which == "success" else self.mean_rel_error
        return arr[:, j]

    def to_json(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "samples_per_cell": self.samples,
            "seed": self.seed,
            "stride": self.stride,
            "threshold": SUCCESS_THRESHOLD,
            "complete": self.complete,
            "epochs": [int(e) for e in self.epochs],
            "cells": [
                {
                    "length": n,
                    "flags": k,
                    "in_distribution": bool(self.in_distribution[j]),
                    "success_rate": [float(v) for v in self.success[:, j]],
                    "mean_rel_error": [
                        float(v) if np.isfinite(v) else None for v in self.mean_rel_error[:, j]
                    ],
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
    for j, (n, k) in enumerate(hist.cells):
        vals = hist.success[cols, j]
        bar = "".join(BARS[int(v * (len(BARS) - 1) + 0.5)] for v in vals)
        mark = "*" if hist.in_distribution[j] else " "
        lines.append(f"L{n}F{k}{mark} |{bar}| {vals[-1]:.2f}")
    return "\n".join(lines)


def fingerprint(session: RunView) -> str:
    """Identity of a session's content: a session rewritten in place gets a new one."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(str(session.created).encode())
    h.update(str(session.config.to_json()).encode())
    if len(session.snapshot_epochs):
        w = session.weights(int(session.snapshot_epochs[0]), 0)
        for k in sorted(w):
            h.update(np.ascontiguousarray(w[k], np.float32).tobytes())
    return h.hexdigest()


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
    cache_path = store_dir(session.dir) / ANALYSIS_NAME
    key = group_name(member, samples, seed, stride)
    fp = fingerprint(session) if use_cache else ""
    cached = _read_cache(cache_path, key, fp, ev.cells) if use_cache else None
    ep0 = np.zeros(0, np.int64)
    su0 = np.zeros((0, n_cells))
    me0 = np.zeros((0, n_cells))
    if cached is not None:
        c_ep, c_su, c_me = cached
        r = len(c_ep)
        if r <= len(wanted) and np.array_equal(c_ep, wanted[:r]):
            ep0, su0, me0 = c_ep, c_su, c_me
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
    )
    if use_cache and done:
        try:  # a read-only session's store directory may not exist yet
            store_dir(session.dir, create=True)
        except OSError:
            return hist
        _write_cache(cache_path, key, fp, hist, len(ep0))
    return hist


def _read_cache(
    path: Path, key: str, fp: str, cells: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            g = f.get(key)
            if not isinstance(g, h5py.Group) or g.attrs.get("fingerprint") != fp:
                return None
            if g.attrs.get("threshold") != SUCCESS_THRESHOLD:
                return None
            if [tuple(int(v) for v in c) for c in g["cells"][:]] != cells:
                return None
            r = int(g.attrs.get("rows", 0))
            return g["epoch"][:r], g["success"][:r], g["mean_rel_error"][:r]
    except (OSError, KeyError):
        return None  # unreadable cache: recompute


def _write_cache(path: Path, key: str, fp: str, hist: OODHistory, start: int) -> None:
    """Append rows ``start:`` (or rewrite the group when ``start`` is 0)."""
    try:
        with h5py.File(path, "a") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            if start == 0 and key in f:
                del f[key]
            g = f.require_group(key)
            if start == 0:
                c = len(hist.cells)
                g.attrs.update(
                    {
                        "fingerprint": fp,
                        "samples": hist.samples,
                        "seed": hist.seed,
                        "stride": hist.stride,
                        "member": hist.member,
                        "threshold": SUCCESS_THRESHOLD,
                        "rows": 0,
                    }
                )
                g.create_dataset("cells", data=np.asarray(hist.cells, np.int64))
                g.create_dataset("epoch", (0,), np.int64, maxshape=(None,), chunks=(256,))
                for name in ("success", "mean_rel_error"):
                    g.create_dataset(name, (0, c), np.float64, maxshape=(None, c), chunks=(64, c))
            n = len(hist)
            for name, arr in (
                ("epoch", hist.epochs),
                ("success", hist.success),
                ("mean_rel_error", hist.mean_rel_error),
            ):
                g[name].resize(n, axis=0)
                g[name][start:n] = arr[start:n]
            g.attrs["rows"] = n  # last: rows past this are not trusted
    except OSError:
        pass  # read-only session directory or a concurrent writer: no cache this time
