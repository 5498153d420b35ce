"""Background computations for the panes: one thread per kind of job where the latest
request wins (``LatestJob``), and the results a pane keeps for scrubbing back
(``CachedResults``).

Results and progress reach the UI thread through ``app.call_later``, which posts a
message (thread-safe and non-blocking, unlike ``call_from_thread``, so a worker never
waits on a UI thread that is joining it at exit).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager
from typing import Any, Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

PROGRESS_INTERVAL = 0.1  # seconds between progress reports posted to the UI


class Cancellable(Protocol):
    """What a job reads of its worker (Textual's ``Worker``)."""

    @property
    def is_cancelled(self) -> bool: ...


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

    A long computation polls ``should_stop`` (true once a newer request, the app's
    closing or the worker's cancellation has made it pointless) and reports through
    ``report``: ``progress(key, value)`` runs on the UI thread, at most once per
    ``interval`` seconds. With ``latest_only``, what a superseded computation posts is
    dropped (it stopped early: its result is partial, its progress is not the one
    shown); otherwise every result is delivered (a cache keeps the keys scrubbed past).
    """

    def __init__(
        self,
        app: WorkerHost,
        group: str,
        compute: Callable[[K], R],
        done: Callable[[K, R | Exception], None],
        *,
        progress: Callable[[K, Any], None] | None = None,
        interval: float = PROGRESS_INTERVAL,
        latest_only: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.group = group
        self.compute = compute
        self.done = done
        self.progress = progress
        self.interval = interval
        self.latest_only = latest_only
        self.clock = clock
        self._lock = threading.Lock()
        self._want: K | None = None
        self._running = False
        self._worker: Cancellable | None = None
        self._requested = 0  # requests so far: the latest one's number
        # the running computation's, touched by the job's thread only
        self._number = 0
        self._key: K | None = None
        self._reported = -math.inf

    @property
    def busy(self) -> bool:
        return self._running

    def request(self, key: K) -> None:
        with self._lock:
            self._want = key
            self._requested += 1
            if self._running:
                return
            self._running = True
        self._worker = None  # until run_worker returns: a cancelled one must not count
        self._worker = self.app.run_worker(
            self._loop, thread=True, group=self.group, exit_on_error=False, name=self.group
        )

    def abandon(self) -> None:
        """No result of what was requested so far is wanted (another run is shown): the
        running computation stops at its next step and nothing pending starts."""
        with self._lock:
            self._want = None
            self._requested += 1

    def should_stop(self) -> bool:
        """For ``compute``, polled between its steps: whether to return what it has."""
        return self._requested != self._number or self._ending()

    def report(self, value: Any, *, final: bool = False) -> None:
        """For ``compute``: post ``value`` to ``progress`` unless the last post went less
        than ``interval`` ago (``final``: post it anyway, it says the work is done)."""
        now = self.clock()
        if self.progress is not None and (final or now - self._reported >= self.interval):
            self._reported = now
            self.app.call_later(self._deliver, self._number, self.progress, self._key, value)

    def _ending(self) -> bool:
        worker = self._worker
        return self.app.closing.is_set() or (worker is not None and worker.is_cancelled)

    def _loop(self) -> None:
        with self.app.track_worker():
            while True:
                with self._lock:
                    key = self._want
                    self._want = None
                    if key is None or self._ending():
                        self._running = False
                        return
                    self._number, self._key = self._requested, key
                self._reported = -math.inf
                try:
                    res: R | Exception = self.compute(key)
                except Exception as exc:  # shown by the pane, the job goes on
                    res = exc
                self.app.call_later(self._deliver, self._number, self.done, key, res)

    def _deliver(self, number: int, to: Callable[[K, Any], None], key: K, value: Any) -> None:
        # on the UI thread, where requests are made: no newer one can slip in between
        if not self.latest_only or number == self._requested:
            to(key, value)


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
