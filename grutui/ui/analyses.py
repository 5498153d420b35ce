"""What the analysis panes share, owned by the app: the transition markers that the
cursor can jump between from any pane (``<``/``>``), the strategy history (the OOD
grid over epochs) that the OOD and Transitions panes both use, and the directory their
exports go to (``export_dir``; writing them is ``grutui.ui.export``).

Every analysis is ``grutui.core.analysis``'s, run on the app's ``RunData`` (memory)
in thread workers (``grutui.ui.jobs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grutui.core.analysis.history import OODHistory, ood_history
from grutui.core.analysis.transitions import (
    DEFAULT_SIGMA,
    Transition,
    find_transitions,
    next_marker,
    previous_marker,
)
from grutui.core.paths import export_dir
from grutui.core.rundata import RunData
from grutui.ui.jobs import LatestJob

if TYPE_CHECKING:
    from grutui.ui.app import GrutuiApp

HISTORY_TARGET_ROWS = 500  # strategy history: stride so that about this many epochs run


def marker_key(markers: list[Transition] | None) -> tuple[Transition, ...] | None:
    """A cache key for what a figure drew of the markers (None: none found yet)."""
    return None if markers is None else tuple(markers)


@dataclass(frozen=True)
class HistoryKey:
    member: int
    samples: int
    stride: int
    n_snapshots: int  # snapshots the history was computed over


# the strategy history job's key: the run and whether to cache (as at the request), and
# the history wanted
HistoryJobKey = tuple[RunData, bool, HistoryKey]


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
        self._history_job: LatestJob[HistoryJobKey, OODHistory] = LatestJob(
            app,
            "ood-history",
            self._history,
            self._history_done,
            progress=self._history_progress,
            latest_only=True,
        )

    # -- shared state ------------------------------------------------------------
    @property
    def use_cache(self) -> bool:
        """Cache in ``analysis.h5`` only for a session opened from disk: a run trained
        here has its file owned by the training worker and changes every epoch."""
        app = self.app
        return app.session_path is not None and app.new_run is None and not app.training

    def _changed(self) -> None:
        screen = self.app.visible_pane()
        if screen is not None:
            screen.analysis_changed()

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
        key = HistoryKey(member, samples, stride, len(d.snapshot_epochs))
        self.history_error = None
        self.history_progress = (0, -(-key.n_snapshots // stride))
        self._history_job.request((d, self.use_cache, key))
        self._changed()

    @property
    def history_running(self) -> bool:
        return self.history_progress is not None

    def _history(self, job_key: HistoryJobKey) -> OODHistory:
        d, use_cache, key = job_key
        job = self._history_job

        def progress(done: int, total: int) -> None:
            job.report((done, total), final=done == total)

        return ood_history(
            d,
            key.member,
            key.samples,
            stride=key.stride,
            use_cache=use_cache,
            should_stop=job.should_stop,
            on_progress=progress,
        )

    def _history_progress(self, _key: HistoryJobKey, progress: tuple[int, int]) -> None:
        self.history_progress = progress
        self._changed()

    def _history_done(self, job_key: HistoryJobKey, hist: OODHistory | Exception) -> None:
        self.history_progress = None
        if isinstance(hist, Exception):
            self.history_error = f"{type(hist).__name__}: {hist}"
            self.app.notify(f"strategy history failed: {self.history_error}", severity="error")
        else:
            self.history, self.history_key = hist, job_key[2]
        self._changed()

    # -- export ---------------------------------------------------------------------------
    def export_dir(self) -> Path:
        """The session's store directory (``grutui.core.paths.export_dir``)."""
        d = self.app.data
        return export_dir(d.dir if d is not None else None)
