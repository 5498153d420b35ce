"""Background computations for the panes: one thread per kind of job where the latest
request wins (``LatestJob``), and the results a pane keeps for scrubbing back
(``CachedResults``).

Results reach the UI thread through ``app.call_later``, which posts a message
(thread-safe and non-blocking, unlike ``call_from_thread``, so a worker never waits on
a UI thread that is joining it at exit).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager
from typing import Any, Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class WorkerHost(Protocol):
    """What a job needs from the app (``GrutuiApp`` provides it)."""

    @property
    def closing(self) -> threading.Event: ...

    def track_worker(self) -> AbstractContextManager[None]: ...

    def run_worker(self, work: Any, *args: Any, **kwargs: Any) -> Any: ...

    def call_later(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> bool: ...


class LatestJob(Generic[K, R]):
    """``compute(key)`` in one thread at a time for the most recently requested key.

    Requests that arrive while a computation runs replace each other, so key repeat
    never queues work: after the running one, only the latest is computed. ``done(key,
    result_or_exception)`` runs on the UI thread.
    """

    def __init__(
        self,
        app: WorkerHost,
        group: str,
        compute: Callable[[K], R],
        done: Callable[[K, R | Exception], None],
    ) -> None:
        self.app = app
        self.group = group
        self.compute = compute
        self.done = done
        self._lock = threading.Lock()
        self._want: K | None = None
        self._running = False

    @property
    def busy(self) -> bool:
        return self._running

    def request(self, key: K) -> None:
        with self._lock:
            self._want = key
            if self._running:
                return
            self._running = True
        self.app.run_worker(
            self._loop, thread=True, group=self.group, exit_on_error=False, name=self.group
        )

    def _loop(self) -> None:
        with self.app.track_worker():
            while True:
                with self._lock:
                    key = self._want
                    self._want = None
                    if key is None or self.app.closing.is_set():
                        self._running = False
                        return
                try:
                    res: R | Exception = self.compute(key)
                except Exception as exc:  # shown by the pane, the job goes on
                    res = exc
                self.app.call_later(self.done, key, res)


class CachedResults(Generic[K, R]):
    """What an analysis pane shows at the cursor: results by key (least recently used
    dropped beyond ``size``), the key wanted now and the result shown. A cached key shows
    at once; otherwise ``request`` computes it and the last result stays shown (the pane
    marks it stale) until ``store`` gets the wanted one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.results: OrderedDict[K, R] = OrderedDict()
        self.wanted: K | None = None
        self.shown: R | None = None
        self.error: str | None = None

    def want(self, key: K, request: Callable[[K], None]) -> None:
        self.wanted = key
        hit = self.results.get(key)
        if hit is None:
            request(key)
        else:
            self.results.move_to_end(key)
            self.shown = hit

    def store(self, key: K, res: R | Exception) -> None:
        if isinstance(res, Exception):
            self.error = f"{type(res).__name__}: {res}"
            return
        self.error = None
        self.results[key] = res
        if len(self.results) > self.size:
            self.results.popitem(last=False)
        if key == self.wanted:
            self.shown = res

    def clear(self) -> None:
        self.results.clear()
