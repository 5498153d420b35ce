"""App-level state for the analysis panes (issue 6): transition markers that the cursor
can jump between from any pane, the strategy history that the generalization and
transitions panes share, export, and a "latest request wins" thread job.

Every analysis is ``grutui.core.analysis``'s, run on the app's ``RunData`` (memory)
in thread workers; results reach the UI thread through ``app.call_later``, which posts
a message (thread-safe and non-blocking, unlike ``call_from_thread``, so a worker
never waits on a UI thread that is joining it at exit).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from textual.binding import Binding, BindingType
from textual.worker import get_current_worker

from grutui.core.analysis.history import OODHistory, ood_history
from grutui.core.analysis.transitions import (
    DEFAULT_SIGMA,
    Transition,
    find_transitions,
    next_marker,
    previous_marker,
)
from grutui.core.errors import GrutuiError
from grutui.core.interop import export_csv
from grutui.core.paths import export_dir

if TYPE_CHECKING:
    from grutui.ui.app import GrutuiApp

# Global keys (added to the app's BINDINGS). `<`/`>` are free everywhere except while
# the Debug pane's input has focus (it takes typed characters); ctrl+s works there too.
ANALYSIS_BINDINGS: list[BindingType] = [
    Binding(
        "less_than_sign",
        "marker(-1)",
        "◀ mark",
        id="cursor.prev_marker",
        tooltip="Cursor to the previous transition marker",
        key_display="<",
    ),
    Binding(
        "greater_than_sign",
        "marker(1)",
        "mark ▶",
        id="cursor.next_marker",
        tooltip="Cursor to the next transition marker",
        key_display=">",
    ),
    Binding(
        "x,ctrl+s",
        "export",
        "Export",
        id="app.export",
        tooltip="Save the pane as SVG and the metrics as CSV (session directory)",
        key_display="x",
    ),
]

HISTORY_TARGET_ROWS = 500  # strategy history: stride so that about this many epochs run
PROGRESS_INTERVAL = 0.1  # seconds between progress updates posted to the UI

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class LatestJob(Generic[K, R]):
    """``compute(key)`` in one thread at a time for the most recently requested key.

    Requests that arrive while a computation runs replace each other, so key repeat
    never queues work: after the running one, only the latest is computed. ``done(key,
    result_or_exception)`` runs on the UI thread.
    """

    def __init__(
        self,
        app: GrutuiApp,
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


@dataclass(frozen=True)
class HistoryKey:
    member: int
    samples: int
    stride: int
    n_snapshots: int  # snapshots the history was computed over


class Analyses:
    """What the analysis panes share, owned by the app (one per app)."""

    def __init__(self, app: GrutuiApp) -> None:
        self.app = app
        self.sigma = DEFAULT_SIGMA
        self.markers: list[Transition] | None = None
        self.markers_member = -1
        self.markers_epochs = 0  # data.n_epochs the markers were found on
        self.markers_error: str | None = None
        self._pending_jump: int | None = None
        self._marker_job: LatestJob[tuple[int, float, int], list[Transition]] = LatestJob(
            app, "transitions", self._find, self._found
        )
        self.history: OODHistory | None = None
        self.history_key: HistoryKey | None = None
        self.history_progress: tuple[int, int] | None = None  # (done, total) while running
        self.history_error: str | None = None
        self._history_run = 0  # id of the computation whose results count

    # -- shared state ------------------------------------------------------------
    @property
    def use_cache(self) -> bool:
        """Cache in ``analysis.h5`` only for a session opened from disk: a run trained
        here has its file owned by the training worker and changes every epoch."""
        app = self.app
        return app.session_path is not None and app.new_run is None and not app.training

    def _changed(self) -> None:
        screen = self.app.visible_pane()
        hook = getattr(screen, "analysis_changed", None)
        if callable(hook):
            hook()

    # -- transition markers ---------------------------------------------------------
    def markers_for(self, member: int) -> list[Transition] | None:
        return self.markers if self.markers_member == member else None

    def find_markers(self, member: int) -> None:
        """(Re)compute the candidates for ``member`` in a worker."""
        d = self.app.data
        if d is None or not d.n_epochs:
            return
        self.markers_error = None
        self._marker_job.request((member, self.sigma, d.n_epochs))

    @property
    def finding(self) -> bool:
        return self._marker_job.busy

    def _find(self, key: tuple[int, float, int]) -> list[Transition]:
        member, sigma, _n = key
        d = self.app.data
        assert d is not None
        ood = self.history if self.history_key and self.history_key.member == member else None
        return find_transitions(d, member, sigma=sigma, ood=ood)

    def _found(self, key: tuple[int, float, int], res: list[Transition] | Exception) -> None:
        member, _sigma, n = key
        if isinstance(res, Exception):
            self.markers_error = f"{type(res).__name__}: {res}"
            self.app.notify(f"transitions failed: {self.markers_error}", severity="error")
            self._pending_jump = None
        else:
            self.markers, self.markers_member, self.markers_epochs = res, member, n
            if self._pending_jump is not None:
                direction, self._pending_jump = self._pending_jump, None
                self.jump(direction)
        self._changed()

    def jump(self, direction: int) -> None:
        """Cursor to the next (``direction`` > 0) or previous marker; finds the markers
        first when there are none for the shown member (the jump follows)."""
        app = self.app
        markers = self.markers_for(app.member)
        if markers is None:
            if app.data is None or not app.data.n_epochs:
                return
            self._pending_jump = direction
            if not self.finding:
                app.notify("finding transitions…", timeout=2)
            self.find_markers(app.member)
            return
        pick = next_marker if direction > 0 else previous_marker
        e = pick(markers, app.epoch)
        if e is None:
            where = "after" if direction > 0 else "before"
            app.notify(f"no transition marker {where} epoch {app.epoch}", timeout=2)
            return
        app.set_epoch(e, via="marker")

    # -- strategy history -------------------------------------------------------------
    def history_for(self, member: int, samples: int) -> OODHistory | None:
        k = self.history_key
        if k is None or k.member != member or k.samples != samples:
            return None
        return self.history

    def default_stride(self) -> int:
        d = self.app.data
        n = len(d.snapshot_epochs) if d is not None else 0
        return max(1, -(-n // HISTORY_TARGET_ROWS))

    def compute_history(self, member: int, samples: int, stride: int | None = None) -> None:
        """The OOD grid over epochs in a worker; progress in ``history_progress``.
        Starting another computation abandons the running one (it stops at its next
        epoch)."""
        d = self.app.data
        if d is None or not len(d.snapshot_epochs):
            return
        stride = stride or self.default_stride()
        self._history_run += 1
        run = self._history_run
        key = HistoryKey(member, samples, stride, len(d.snapshot_epochs))
        use_cache = self.use_cache
        self.history_error = None
        self.history_progress = (0, -(-key.n_snapshots // stride))
        app = self.app

        def body() -> None:
            with app.track_worker():
                worker = get_current_worker()
                last = 0.0

                def stop() -> bool:
                    return worker.is_cancelled or app.closing.is_set() or run != self._history_run

                def progress(done: int, total: int) -> None:
                    nonlocal last
                    now = time.monotonic()
                    if now - last >= PROGRESS_INTERVAL or done == total:
                        last = now
                        app.call_later(self._history_progress, run, done, total)

                try:
                    hist: OODHistory | Exception = ood_history(
                        d,
                        member,
                        samples,
                        stride=stride,
                        use_cache=use_cache,
                        should_stop=stop,
                        on_progress=progress,
                    )
                except Exception as exc:
                    hist = exc
                app.call_later(self._history_done, run, key, hist)

        app.run_worker(body, thread=True, group="ood-history", exit_on_error=False)
        self._changed()

    @property
    def history_running(self) -> bool:
        return self.history_progress is not None

    def _history_progress(self, run: int, done: int, total: int) -> None:
        if run == self._history_run and self.history_progress is not None:
            self.history_progress = (done, total)
            self._changed()

    def _history_done(self, run: int, key: HistoryKey, hist: OODHistory | Exception) -> None:
        if run != self._history_run:
            return
        self.history_progress = None
        if isinstance(hist, Exception):
            self.history_error = f"{type(hist).__name__}: {hist}"
            self.app.notify(f"strategy history failed: {self.history_error}", severity="error")
        else:
            self.history, self.history_key = hist, key
        self._changed()

    # -- export ---------------------------------------------------------------------------
    def export_dir(self) -> Path:
        """The session's store directory (``grutui.core.paths.export_dir``)."""
        d = self.app.data
        return export_dir(d.dir if d is not None else None)

    def export(self) -> tuple[Path, Path | None] | None:
        """The visible pane as SVG and the metrics as CSV; a notification says where."""
        app = self.app
        d = app.data
        where = self.export_dir()
        name = d.name if d is not None else "grutui"
        epoch = f"-e{app.epoch}" if app.epoch >= 0 else ""
        svg = where / f"{name}-{app.current_mode}{epoch}.svg"
        csv: Path | None = where / f"{name}-metrics.csv"
        try:
            app.save_screenshot(filename=svg.name, path=str(where))
            if d is not None and d.n_epochs and csv is not None:
                export_csv(d, csv)
            else:
                csv = None
        except (OSError, GrutuiError) as exc:
            app.notify(f"export failed: {exc}", severity="error", timeout=10)
            return None
        saved = f"{svg}" + (f" and {csv.name}" if csv is not None else "")
        app.notify(f"saved {saved}", title="Export", timeout=8)
        return svg, csv


def kind_label(kind: str) -> str:
    return {
        "loss_curvature": "loss curv.",
        "weight_velocity": "velocity",
        "sign_change": "sign flip",
        "ood_jump": "OOD jump",
    }.get(kind, kind)


def success_colour(v: float) -> str:
    """Red (0) → yellow → green (1); grey for NaN."""
    if math.isnan(v):
        return "rgb(90,90,90)"
    v = min(max(v, 0.0), 1.0)
    if v < 0.5:
        r, g = 200, int(60 + 280 * v)
    else:
        r, g = int(200 - 340 * (v - 0.5)), 200
    return f"rgb({r},{g},60)"


def error_colour(v: float) -> str:
    """Green (small relative error) → red (≥ 1, i.e. 100 %), log-ish in between."""
    if math.isnan(v):
        return "rgb(90,90,90)"
    if not math.isfinite(v):
        return "rgb(200,40,200)"
    t = min(max((math.log10(max(v, 1e-3)) + 3) / 3, 0.0), 1.0)  # 1e-3 → 0, 1 → 1
    return success_colour(1 - t)


def fmt_loss(v: Any) -> str:
    return "—" if v is None else f"{float(v):.3g}"
