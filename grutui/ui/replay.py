"""Replay mode: the run re-grown as it happened, and the user's actions played back.

``Replayer`` owns a ``ReplayClock`` (``grutui.core.replay``) over the whole session,
held in memory as ``full``. The app's ``data`` starts empty and a timer (``TICK`` s)
grows it to the rows visible at the clock's time through the app's live-growth path
(``GrutuiApp.grow``): the panes see a run that grows like a live one and need no replay
code. A seek backwards rebuilds ``data`` from the first row. Recorded actions (pane,
cursor, member, debugger sequence and step, bookmarks, a pane's view choices) are
applied as if the user did them; the app records nothing in replay mode, so they are
not logged twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.css.query import NoMatches

from grutui.core.numfmt import hms
from grutui.core.recording import USER_ACTIONS, Bookmark, Bookmarks
from grutui.core.replay import ReplayClock, ReplayState, Timeline
from grutui.core.rundata import RunData
from grutui.ui.panes.registry import pane_mode

if TYPE_CHECKING:
    from grutui.ui.app import GrutuiApp

TICK = 0.1  # seconds between replay frames (10 Hz: smooth enough, cheap)
# A timer frame is skipped until FRAME_SPACING × the last frame's own cost has passed:
# that work is about a third of a frame (the rest is rendering), so a pane that is
# slow to grow (Browse re-plots) gets fewer frames and keys stay responsive.
FRAME_SPACING = 8.0


def fmt_clock(seconds: float) -> str:
    return hms(int(max(seconds, 0.0)))


class Replayer:
    """Drives ``app`` from a recorded session (see the module docstring)."""

    def __init__(
        self,
        app: GrutuiApp,
        full: RunData,
        speed: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.full = full
        self.timeline = Timeline.from_session(full)
        self.clock = ReplayClock(self.timeline, speed, clock=clock)
        self._applied: dict[str, Any] = {}
        self._marks: dict[int, Bookmark] | None = None
        # per pane: its view choices before the replay first changed them (a seek back
        # to before the first recorded change shows them again)
        self._view_before: dict[str, dict[str, Any]] = {}
        self._next_frame = 0.0
        self._events_at = -1.0  # session time up to which data has its events
        self.status = ""

    @classmethod
    def open(
        cls,
        app: GrutuiApp,
        path: Path,
        speed: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Replayer:
        """Read the whole session into memory (its file is closed again at once)."""
        from grutui.core.session import Session

        with Session(path) as s:
            full = RunData.from_session(s)
        return cls(app, full, speed, clock)

    def start(self) -> None:
        """Give the app an empty twin of the run and show the first frame."""
        self.app.data = RunData.empty_like(self.full)
        self.app.epoch = -1
        self.tick()

    # -- one frame -----------------------------------------------------------------
    def on_timer(self) -> None:
        """The timer's frame, thinned when frames are expensive (``FRAME_SPACING``);
        keys draw at once through ``tick``."""
        start = time.perf_counter()
        if start < self._next_frame:
            return
        self.tick()
        self._next_frame = start + FRAME_SPACING * (time.perf_counter() - start)

    def tick(self) -> None:
        app = self.app
        d = app.data
        if d is None:
            return
        st = self.clock.state()
        self._show_status(st)  # first: the panes redrawn below show it
        target = st.row + 1
        if target < d.n_epochs or st.time < self._events_at:
            d = self._rebuild(target)
        news = self._events_until(st.time)
        if news:
            d.add_events(news)
        if target > d.n_epochs:
            n0 = d.n_epochs
            app.grow(lambda data: data.apply(self.full.rows(n0, target)))
        elif (pane := app.visible_pane()) is not None and any(
            e["kind"] not in USER_ACTIONS for e in news
        ):
            pane.data_grew(d)  # training events without new epochs (the finish)
        self._apply(st)

    def _rebuild(self, target: int) -> RunData:
        """Back in time: a fresh twin grown to ``target`` rows; actions re-applied."""
        app = self.app
        data = RunData.empty_like(self.full)
        data.apply(self.full.rows(0, target))
        app.data = data
        app.epoch = data.last_epoch
        self._applied.clear()
        self._events_at = -1.0
        screen = app.visible_pane()
        if screen is not None:
            screen.seen_epochs = -1
            screen.sync()
        return data

    def _events_until(self, t: float) -> list[dict[str, Any]]:
        """The session's events after the last call up to ``t``, as log entries."""
        evs = self.timeline.events_between(self._events_at, t)
        self._events_at = t
        return [{"t": e.t, "kind": e.kind, "epoch": e.epoch, **e.data} for e in evs]

    def _apply(self, st: ReplayState) -> None:
        """Apply the recorded UI state that differs from what was applied last."""
        app = self.app
        done = self._applied
        if st.pane is not None and st.pane != done.get("pane"):
            done["pane"] = st.pane
            mode = pane_mode(st.pane)  # a recording may use a pane's former name
            if mode is not None and mode != app.current_mode:
                app.switch_mode(app.available_pane(mode))
        if st.member is not None and st.member != done.get("member"):
            done["member"] = st.member
            if app.data is not None and 0 <= st.member < app.data.members:
                app.member = st.member
                app.show_cursor()
        if st.cursor is not None and st.cursor != done.get("cursor"):
            done["cursor"] = st.cursor
            app.set_epoch(st.cursor, via="replay")
        if st.bookmarks is not self._marks:
            self._marks = st.bookmarks
            app.bookmarks = Bookmarks(st.bookmarks)
        self._apply_debugger(st)
        self._apply_view(st)

    def _apply_debugger(self, st: ReplayState) -> None:
        from grutui.ui.panes.debug import DebugPane

        pane = self.app.visible_pane()
        if not isinstance(pane, DebugPane):
            return  # applied once the debugger is shown (a pane event comes first)
        done = self._applied
        try:
            if st.sequence is not None and st.sequence != done.get("sequence"):
                done["sequence"] = st.sequence
                if not pane.set_sequence(st.sequence):
                    return
            if st.step is not None and st.step != done.get("step"):
                done["step"] = st.step
                pane.action_step(st.step - pane.t)
        except NoMatches:  # not composed yet: the next frame applies it
            done.pop("sequence", None)
            done.pop("step", None)

    def _apply_view(self, st: ReplayState) -> None:
        """The visible pane's view choices as last recorded (a pane is shown before
        its choices apply: a ``pane`` event comes first)."""
        pane = self.app.visible_pane()
        if pane is None:
            return
        mode = pane.PANE_MODE
        state = next((v for name, v in st.views.items() if pane_mode(name) == mode), None)
        if state is None:
            state = self._view_before.get(mode)  # before the first change: as it was
            if state is None:
                return
        key = f"view:{mode}"
        if state == self._applied.get(key):
            return
        before = pane.view_state()
        try:
            pane.apply_view(state)
        except NoMatches:  # not composed yet: the next frame applies it
            return
        self._view_before.setdefault(mode, before)
        self._applied[key] = state

    def _show_status(self, st: ReplayState) -> None:
        c = self.clock
        state = "▶" if c.playing else "‖ paused"
        status = (
            f"replay {state} {fmt_clock(st.time)}/{fmt_clock(self.timeline.duration)}"
            f" ×{c.speed:.3g}"
        )
        if status != self.status:
            self.status = status
            app = self.app
            app.run_status = status
            screen = app.visible_pane()
            if screen is not None:
                app.update_cursor_bar(screen)

    # -- keys ------------------------------------------------------------------------
    def command(self, op: str) -> None:
        """``toggle``, ``faster``, ``slower``, ``start``, ``end``, ``next``, ``prev``."""
        c = self.clock
        if op == "toggle":
            c.toggle()
        elif op == "faster":
            c.faster()
        elif op == "slower":
            c.slower()
        elif op == "start":
            c.seek_start()
        elif op == "end":
            c.seek_end()
        elif op in ("next", "prev"):
            ev = c.step_next() if op == "next" else c.step_prev()
            if ev is None:
                self.app.notify(f"no {'later' if op == 'next' else 'earlier'} event", timeout=2)
            else:
                where = f" @ epoch {ev.epoch}" if ev.epoch is not None else ""
                self.app.notify(f"{ev.kind}{where}", timeout=2)
        self.tick()
