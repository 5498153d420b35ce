"""The analyses' cache of per-snapshot rows: ``analysis.h5`` beside a session (so its
own ``session.h5`` keeps one writer), or in its store directory when the session is
read-only (``grutui.core.paths.store_dir``).

One group per analysis and parameter set; its attributes say what the rows depend on
(the session's ``fingerprint`` and the parameters), its datasets are the rows, appended
as a run grows::

    analysis.h5
      attrs: format="grutui-analysis", format_version
      <analysis>/<parameters>/
        attrs: fingerprint, the parameters, rows (how many rows are complete)
        epoch  int64 (R,)       the epochs computed: a prefix of the epochs wanted
        <name> (R, ...)         one dataset per result
        <constant> (...)        fixed arrays the rows depend on (the OOD grid's cells)

A group is reused only when every attribute and constant given matches; anything else
recomputes. A file that cannot be read or written (read-only directory, another process
holding it) costs the cache, never the result. Plain HDF5, no pickle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from grutui.core.paths import store_dir
from grutui.core.runview import RunView

ANALYSIS_NAME = "analysis.h5"
FORMAT = "grutui-analysis"
FORMAT_VERSION = 1


def cache_path(session: RunView) -> Path:
    return store_dir(session.dir) / ANALYSIS_NAME


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


def is_prefix(epochs: np.ndarray, wanted: np.ndarray) -> bool:
    """Whether ``epochs`` are the first epochs of ``wanted`` (rows still valid)."""
    r = len(epochs)
    return r <= len(wanted) and np.array_equal(epochs, wanted[:r])


def read_rows(
    path: Path,
    key: str,
    attrs: Mapping[str, Any],
    names: tuple[str, ...],
    constants: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray] | None:
    """The complete rows of group ``key`` (``epoch`` and ``names``), or None when the
    group is absent, unreadable or was made for other ``attrs`` or ``constants``."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            g = f.get(key)
            if not isinstance(g, h5py.Group):
                return None
            if any(g.attrs.get(k) != v for k, v in attrs.items()):
                return None
            for name, want in (constants or {}).items():
                if name not in g or not np.array_equal(g[name][()], want):
                    return None
            r = int(g.attrs.get("rows", 0))
            return {name: g[name][:r] for name in ("epoch", *names)}
    except (OSError, KeyError, ValueError):
        return None  # unreadable cache: recompute


def write_rows(
    session: RunView,
    key: str,
    attrs: Mapping[str, Any],
    rows: Mapping[str, np.ndarray],
    start: int,
    constants: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Store rows ``start:`` of ``rows`` (``epoch`` and the results, first axis the
    row); ``start`` 0 makes the group afresh with ``attrs`` and ``constants``."""
    try:  # a read-only session's store directory may not exist yet
        store_dir(session.dir, create=True)
    except OSError:
        return
    try:
        with h5py.File(cache_path(session), "a") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            if start == 0 and key in f:
                del f[key]
            g = f.require_group(key)
            if start == 0:
                g.attrs.update({**attrs, "rows": 0})
                for name, arr in (constants or {}).items():
                    g.create_dataset(name, data=arr)
                for name, arr in rows.items():
                    tail = arr.shape[1:]
                    chunk = (256,) if not tail else (64, *tail)
                    g.create_dataset(
                        name, (0, *tail), arr.dtype, maxshape=(None, *tail), chunks=chunk
                    )
            n = len(rows["epoch"])
            for name, arr in rows.items():
                g[name].resize(n, axis=0)
                g[name][start:n] = arr[start:n]
            g.attrs["rows"] = n  # last: rows past this are not trusted
    except OSError:
        pass  # read-only directory or a concurrent writer: no cache this time
