"""Timing helper shared by the bench scripts (run as ``python bench/NAME.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best(fn: Callable[[], object], repeats: int = 5, warm: bool = False) -> float:
    """The fastest of ``repeats`` calls, in seconds: the least disturbed by other work on
    a shared machine. ``warm``: one untimed call first (caches, lazy imports)."""
    if warm:
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)
