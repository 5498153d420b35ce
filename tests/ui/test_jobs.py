"""The panes' background job (``LatestJob``): the latest request wins, a superseded
computation is told to stop and (``latest_only``) what it posts is dropped, progress is
throttled in the job, an exception comes back as the result, the app's closing stops
it. Driven by a fake app whose "UI thread" is the test; then the OOD strategy history,
which uses it, in the real app."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grutui.core.analysis.history import OODHistory, ood_history
from grutui.ui import analyses
from grutui.ui.app import GrutuiApp
from grutui.ui.jobs import LatestJob
from grutui.ui.panes.ood import OODPane
from tests.helpers import make_session, tiny_config, until

WAIT = 10.0  # seconds: a bound on waits for another thread, never a pause


class FakeWorker:
    is_cancelled = False


class FakeHost:
    """The app as a job sees it: workers are plain threads; what they post queues up
    until ``deliver`` runs it, as the UI thread would."""

    def __init__(self) -> None:
        self.closing = threading.Event()
        self.threads: list[threading.Thread] = []
        self.worker = FakeWorker()
        self.posted: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self.tracked = 0  # worker bodies running under track_worker
        self.tracked_total = 0
        self._lock = threading.Lock()

    @contextmanager
    def track_worker(self) -> Iterator[None]:
        with self._lock:
            self.tracked += 1
            self.tracked_total += 1
        try:
            yield
        finally:
            with self._lock:
                self.tracked -= 1

    def run_worker(self, work: Callable[[], None], *args: Any, **kwargs: Any) -> FakeWorker:
        t = threading.Thread(target=work, daemon=True)
        self.threads.append(t)
        t.start()
        return self.worker

    def call_later(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        with self._lock:
            self.posted.append((callback, args))
        return True

    def join(self) -> None:
        for t in self.threads:
            t.join(WAIT)
            assert not t.is_alive()

    def deliver(self) -> None:
        with self._lock:
            todo, self.posted = self.posted, []
        for callback, args in todo:
            callback(*args)


def job_on(
    host: FakeHost, compute: Callable[[str], str], **kwargs: Any
) -> tuple[LatestJob[str, str], list[tuple[str, object]], list[tuple[str, object]]]:
    done: list[tuple[str, object]] = []
    progress: list[tuple[str, object]] = []
    job: LatestJob[str, str] = LatestJob(
        host,
        "test",
        compute,
        lambda k, r: done.append((k, r)),
        progress=lambda k, p: progress.append((k, p)),
        **kwargs,
    )
    return job, done, progress


@dataclass
class Held:
    """A job whose compute holds key "a" until ``go``, noting should_stop before and
    after (``stops``) and reporting once."""

    job: LatestJob[str, str]
    done: list[tuple[str, object]]
    progress: list[tuple[str, object]]
    go: threading.Event
    stops: dict[str, list[bool]]


def holding_a(host: FakeHost, **kwargs: Any) -> Held:
    """Request "a" and return once its computation has started."""
    started, go = threading.Event(), threading.Event()
    stops: dict[str, list[bool]] = {}

    def compute(key: str) -> str:
        stops[key] = [job.should_stop()]
        job.report(f"{key} began")
        if key == "a":
            started.set()
            assert go.wait(WAIT)
        stops[key].append(job.should_stop())
        return key.upper()

    job, done, progress = job_on(host, compute, **kwargs)
    job.request("a")
    assert started.wait(WAIT)
    return Held(job, done, progress, go, stops)


@pytest.mark.parametrize("latest_only", [True, False])
def test_a_second_request_abandons_the_first(latest_only: bool) -> None:
    host = FakeHost()
    h = holding_a(host, latest_only=latest_only)
    h.job.request("b")
    h.job.request("c")  # replaces "b" before it starts: never computed
    h.go.set()
    host.join()
    host.deliver()
    assert h.stops == {"a": [False, True], "c": [False, False]}
    assert not h.job.busy
    assert len(host.threads) == 1  # one thread served the three requests
    if latest_only:  # the first's progress and partial result are dropped
        assert h.done == [("c", "C")]
        assert h.progress == [("c", "c began")]
    else:  # every finished result counts (a cache keeps it)
        assert h.done == [("a", "A"), ("c", "C")]
        assert h.progress == [("a", "a began"), ("c", "c began")]


def test_a_result_delivered_after_a_newer_request_is_dropped() -> None:
    """The first finished before the second request, but reaches the UI after it."""
    host = FakeHost()
    job, done, _progress = job_on(host, str.upper, latest_only=True)
    job.request("a")
    host.join()
    job.request("b")
    host.join()
    host.deliver()
    assert done == [("b", "B")]


def test_progress_is_throttled_per_computation() -> None:
    host = FakeHost()
    now = [0.0]
    times = [0.0, 0.05, 0.09, 0.1, 0.15, 0.25]

    def compute(key: str) -> str:
        for t in times:
            now[0] = t
            job.report(t)
        job.report("end", final=True)  # at once, though 0.25 was posted just now
        return key

    job, done, progress = job_on(host, compute, interval=0.1, clock=lambda: now[0])
    job.request("a")
    host.join()
    job.request("b")  # the clock stays at 0.25: a new computation posts its first at once
    host.join()
    host.deliver()
    posted = [p for _k, p in progress]
    assert posted == [0.0, 0.1, 0.25, "end"] * 2
    assert done == [("a", "a"), ("b", "b")]


def test_an_exception_comes_back_as_the_result_and_the_job_goes_on() -> None:
    host = FakeHost()

    def compute(key: str) -> str:
        if key == "bad":
            raise ValueError("no such thing")
        return key

    job, done, _progress = job_on(host, compute, latest_only=True)
    job.request("bad")
    host.join()
    host.deliver()
    job.request("good")
    host.join()
    host.deliver()
    (k, err), ok = done
    assert k == "bad" and isinstance(err, ValueError) and str(err) == "no such thing"
    assert ok == ("good", "good")


def test_closing_stops_the_computation_and_what_is_pending() -> None:
    host = FakeHost()
    h = holding_a(host, latest_only=True)
    assert host.tracked == 1  # the worker body runs under the app's track_worker
    h.job.request("b")
    host.closing.set()
    h.go.set()
    host.join()
    assert host.tracked == 0 and host.tracked_total == 1
    assert h.stops == {"a": [False, True]}  # "b" never started
    assert not h.job.busy
    host.deliver()
    assert h.done == []  # "a" was superseded by "b"


def test_a_cancelled_worker_stops_its_computation() -> None:
    host = FakeHost()
    h = holding_a(host)
    host.worker.is_cancelled = True
    h.go.set()
    host.join()
    assert h.stops == {"a": [False, True]}


def test_abandon_stops_the_computation_and_drops_its_result() -> None:
    host = FakeHost()
    h = holding_a(host, latest_only=True)
    h.job.abandon()
    h.go.set()
    host.join()
    host.deliver()
    assert h.stops == {"a": [False, True]}
    assert h.done == [] and h.progress == []
    h.job.request("b")  # the job serves later requests
    host.join()
    host.deliver()
    assert h.done == [("b", "B")]


# -- in the app: the OOD strategy history -----------------------------------------------


def _title(app: GrutuiApp) -> str:
    w = app.screen.query_one("#ood-title")
    return "\n".join(line.text for line in w.render_lines(w.region.reset_offset))


async def test_the_strategy_history_shows_its_progress_then_its_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker is held after its first epoch: the title counts, then the grid shows."""
    go = threading.Event()
    runs: list[int] = []

    def held(*args: Any, on_progress: Callable[[int, int], None], **kw: Any) -> OODHistory:
        runs.append(1)

        def progress(done: int, total: int) -> None:
            on_progress(done, total)
            if done == 1:
                assert go.wait(WAIT)

        return ood_history(*args, on_progress=progress, **kw)

    monkeypatch.setattr(analyses, "ood_history", held)
    path = make_session(tmp_path / "s", tiny_config(epochs=12))
    app = GrutuiApp(session=path, start_pane="ood")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, OODPane)
        screen.samples = 20
        await pilot.press("v")
        await until(pilot, lambda: app.analyses.history_progress == (1, 12))
        assert "computing 1/12…" in _title(app)
        go.set()
        await until(pilot, lambda: not app.analyses.history_running)
        assert "computing" not in _title(app)
        hist = app.analyses.history_for(0, 20)
        assert hist is not None and hist.complete and len(hist) == 12 and runs == [1]
        assert app.data is not None
        ref = ood_history(app.data, 0, 20, stride=hist.stride, use_cache=False)
        np.testing.assert_array_equal(hist.success, ref.success)
        assert "0..11, every snapshot" in _title(app)
