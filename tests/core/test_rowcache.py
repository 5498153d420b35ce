"""The analyses' row cache: rows appended as a run grows, reused only for the same
attributes and constants, and an unreadable file costs the cache, not the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from grutui.core.analysis.rowcache import cache_path, is_prefix, read_rows, write_rows
from grutui.core.session import Session
from tests.helpers import make_session

ATTRS = {"fingerprint": "abc", "stride": 2}
CELLS = {"cells": np.array([[1, 1], [2, 1]], np.int64)}


def rows(n: int) -> dict[str, np.ndarray]:
    return {"epoch": np.arange(n, dtype=np.int64) * 2, "value": np.arange(n * 3.0).reshape(n, 3)}


def test_rows_append_and_are_reused_only_as_made(tmp_path: Path) -> None:
    with Session(make_session(tmp_path / "s")) as s:
        path = cache_path(s)
        assert read_rows(path, "a/b", ATTRS, ("value",), CELLS) is None  # no file yet
        write_rows(s, "a/b", ATTRS, rows(2), 0, CELLS)
        write_rows(s, "a/b", ATTRS, rows(5), 2, CELLS)  # only rows 2..4 written
        got = read_rows(path, "a/b", ATTRS, ("value",), CELLS)
        assert got is not None
        np.testing.assert_array_equal(got["epoch"], rows(5)["epoch"])
        np.testing.assert_array_equal(got["value"], rows(5)["value"])
        assert read_rows(path, "a/b", {**ATTRS, "stride": 3}, ("value",), CELLS) is None
        other = {"cells": np.array([[1, 1]], np.int64)}
        assert read_rows(path, "a/b", ATTRS, ("value",), other) is None
        write_rows(s, "a/b", {**ATTRS, "fingerprint": "new"}, rows(1), 0, CELLS)  # afresh
        again = read_rows(path, "a/b", {**ATTRS, "fingerprint": "new"}, ("value",), CELLS)
        assert again is not None and len(again["epoch"]) == 1
        path.write_bytes(b"not hdf5")
        assert read_rows(path, "a/b", ATTRS, ("value",), CELLS) is None
        write_rows(s, "a/b", ATTRS, rows(2), 0, CELLS)  # unwritable: no error either


def test_a_prefix_of_the_epochs_wanted() -> None:
    wanted = np.array([0, 2, 4, 6])
    assert is_prefix(np.array([0, 2]), wanted) and is_prefix(np.zeros(0, int), wanted)
    assert not is_prefix(np.array([0, 4]), wanted)
    assert not is_prefix(np.array([0, 2, 4, 6, 8]), wanted)
