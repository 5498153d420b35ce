"""Replay: a session's epochs and recorded events on one time axis (no UI here).

Every epoch row has ``wall_time`` (seconds of training, continuous across resumes) and
every event a unix time ``t``. The ``clock`` event the writer logs at the first epoch
of each process ties the two: epoch ``e`` appeared at ``t_clock - wall_clock +
wall_time[e]`` (sessions without it — older or imported — use the first event's time).
Times then become *session seconds* from the first moment, with every idle stretch
longer than ``max_gap`` (5 s) shortened to ``max_gap``: the days between training a
run and browsing it later, or a kill and its resume, do not stall a replay.

A player asks ``timeline.state_at(T)`` what is visible at session time ``T``: the last
epoch row that had appeared, and the UI state the recorded actions had set (cursor,
pane, sequence, debugger step, member, bookmarks, each pane's view choices).
``ReplayClock`` turns real time into ``T`` at a speed, with pause/play, faster/slower,
seeks and stepping to the next event.
The default speed is ``auto``: ``max(1, duration / 45 s)``, so a run of any length
(3000 blog epochs included) replays in at most about 45 s, and a short one in real time.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grutui.core.recording import USER_ACTIONS, Bookmark, apply_bookmark
from grutui.core.runview import RunView

MAX_GAP = 5.0  # idle stretches longer than this (seconds) are shortened to it
TARGET_SECONDS = 45.0  # the auto speed replays a whole session in about this long
MIN_SPEED, MAX_SPEED = 1e-3, 1e7


@dataclass(frozen=True)
class TimelineEvent:
    time: float  # session seconds
    t: float  # unix time as recorded
    kind: str
    epoch: int | None
    data: dict[str, Any]  # the other fields of the event

    @property
    def is_action(self) -> bool:
        return self.kind in USER_ACTIONS


@dataclass(frozen=True)
class ReplayState:
    """What a player shows at session time ``time``."""

    time: float
    row: int  # index of the last visible epoch row; -1 before the first epoch
    epoch: int | None  # its epoch number
    cursor: int | None = None  # the user's epoch cursor (None: not recorded yet)
    pane: str | None = None
    sequence: str | None = None
    step: int | None = None
    member: int | None = None
    bookmarks: dict[int, Bookmark] = field(default_factory=dict)
    # each pane's view choices, as its last ``view`` event recorded them (pane name → state)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_event: TimelineEvent | None = None
    last_action: TimelineEvent | None = None


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


class Timeline:
    """Epoch rows and events of one session on a compressed time axis."""

    def __init__(
        self,
        epochs: Sequence[int] | np.ndarray,
        wall_time: Sequence[float] | np.ndarray,
        events: Iterable[dict[str, Any]],
        *,
        max_gap: float = MAX_GAP,
    ) -> None:
        self.max_gap = max_gap
        self.epochs = np.asarray(epochs, np.int64)
        wall = np.asarray(wall_time, np.float64)
        raw = [ev for ev in events if isinstance(ev, dict) and _num(ev.get("t")) is not None]
        clocks = [
            (int(ev["epoch"]), float(ev["t"]) - float(ev["wall_time"]))
            for ev in raw
            if ev.get("kind") == "clock"
            and isinstance(ev.get("epoch"), int)
            and _num(ev.get("wall_time")) is not None
        ]
        shown = [ev for ev in raw if ev.get("kind") != "clock"]
        # unix time at which each epoch row appeared
        if clocks:
            anchors = np.empty(len(self.epochs))
            for i, e in enumerate(self.epochs):
                usable = [a for ce, a in clocks if ce <= e]  # file order: last one wins
                anchors[i] = usable[-1] if usable else clocks[0][1]
        else:
            start = [float(ev["t"]) for ev in shown if ev.get("kind") == "start"]
            first = start[0] if start else (float(shown[0]["t"]) if shown else 0.0)
            anchors = np.full(len(self.epochs), first)
        row_unix = anchors + wall
        # epochs appear in order even if clocks disagree slightly across a resume
        row_unix = np.maximum.accumulate(row_unix) if len(row_unix) else row_unix
        shown.sort(key=lambda ev: float(ev["t"]))
        ev_unix = np.array([float(ev["t"]) for ev in shown], np.float64)
        self._to_session = self._compressor(np.concatenate([row_unix, ev_unix]))
        self.row_times = self._to_session(row_unix)
        times = self._to_session(ev_unix)
        self.events: list[TimelineEvent] = [
            TimelineEvent(
                float(s),
                float(ev["t"]),
                str(ev.get("kind")),
                ev["epoch"] if isinstance(ev.get("epoch"), int) else None,
                {k: v for k, v in ev.items() if k not in ("t", "kind", "epoch")},
            )
            for s, ev in zip(times, shown, strict=True)
        ]
        self.event_times = [e.time for e in self.events]
        ends = [self.row_times[-1] if len(self.row_times) else 0.0]
        ends += [self.event_times[-1]] if self.events else []
        self.duration = float(max(ends))
        self._states = self._fold()

    @classmethod
    def from_session(cls, session: RunView, *, max_gap: float = MAX_GAP) -> Timeline:
        """From a ``Session`` or a ``RunData``: its epoch rows and all its events."""
        m = session.metrics
        return cls(m.epoch, m.wall_time, session.events(), max_gap=max_gap)

    def _compressor(self, moments: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        if not len(moments):
            return lambda u: np.zeros(len(u))
        xs = np.unique(moments)
        steps = np.minimum(np.diff(xs), self.max_gap)
        ss = np.concatenate([[0.0], np.cumsum(steps)])

        def to_session(u: np.ndarray) -> np.ndarray:
            j = np.clip(np.searchsorted(xs, u, side="right") - 1, 0, len(xs) - 1)
            return np.asarray(ss[j] + np.clip(u - xs[j], 0.0, self.max_gap), np.float64)

        return to_session

    def _fold(self) -> list[dict[str, Any]]:
        """The UI state after each event (shared dicts where nothing changed)."""
        cur: dict[str, Any] = {
            "cursor": None,
            "pane": None,
            "sequence": None,
            "step": None,
            "member": None,
            "bookmarks": {},
            "views": {},
            "last_action": None,
        }
        out = []
        for ev in self.events:
            if ev.is_action:
                cur = dict(cur)
                cur["last_action"] = ev
                d = ev.data
                if ev.kind == "cursor" and ev.epoch is not None:
                    cur["cursor"] = ev.epoch
                elif ev.kind == "pane":
                    cur["pane"] = d.get("pane")
                elif ev.kind == "sequence":
                    cur["sequence"] = d.get("text")
                    cur["step"] = None
                elif ev.kind == "step" and isinstance(d.get("step"), int):
                    cur["step"] = d["step"]
                elif ev.kind == "member" and isinstance(d.get("member"), int):
                    cur["member"] = d["member"]
                elif ev.kind == "bookmark" and ev.epoch is not None:
                    marks = dict(cur["bookmarks"])
                    apply_bookmark(marks, ev.epoch, d, ev.t)
                    cur["bookmarks"] = marks
                elif (
                    ev.kind == "view"
                    and isinstance(d.get("pane"), str)
                    and isinstance(d.get("state"), dict)
                ):
                    cur["views"] = {**cur["views"], d["pane"]: d["state"]}
            out.append(cur)
        return out

    # -- queries -----------------------------------------------------------------------
    @property
    def default_speed(self) -> float:
        """``auto``: a whole replay in about ``TARGET_SECONDS``, never slower than real."""
        return max(1.0, self.duration / TARGET_SECONDS)

    def clamp(self, t: float) -> float:
        return min(max(float(t), 0.0), self.duration)

    def row_at(self, t: float) -> int:
        """Index of the last epoch row visible at ``t`` (-1: none yet)."""
        return int(np.searchsorted(self.row_times, t, side="right")) - 1

    def row_time(self, row: int) -> float:
        """When epoch row ``row`` appears."""
        return float(self.row_times[row])

    def state_at(self, t: float) -> ReplayState:
        t = self.clamp(t)
        row = self.row_at(t)
        n = bisect.bisect_right(self.event_times, t)
        st = self._states[n - 1] if n else None
        return ReplayState(
            time=t,
            row=row,
            epoch=int(self.epochs[row]) if row >= 0 else None,
            cursor=st["cursor"] if st else None,
            pane=st["pane"] if st else None,
            sequence=st["sequence"] if st else None,
            step=st["step"] if st else None,
            member=st["member"] if st else None,
            bookmarks=st["bookmarks"] if st else {},
            views=st["views"] if st else {},
            last_event=self.events[n - 1] if n else None,
            last_action=st["last_action"] if st else None,
        )

    def events_between(self, t0: float, t1: float) -> list[TimelineEvent]:
        """Events with ``t0 < time <= t1`` (what happened during one player tick)."""
        i = bisect.bisect_right(self.event_times, t0)
        j = bisect.bisect_right(self.event_times, t1)
        return self.events[i:j]

    def next_event_after(
        self, t: float, kinds: Iterable[str] | None = None
    ) -> TimelineEvent | None:
        wanted = set(kinds) if kinds is not None else None
        for ev in self.events[bisect.bisect_right(self.event_times, t) :]:
            if wanted is None or ev.kind in wanted:
                return ev
        return None

    def prev_event_before(
        self, t: float, kinds: Iterable[str] | None = None
    ) -> TimelineEvent | None:
        wanted = set(kinds) if kinds is not None else None
        for ev in reversed(self.events[: bisect.bisect_left(self.event_times, t)]):
            if wanted is None or ev.kind in wanted:
                return ev
        return None


class ReplayClock:
    """Real time → session time at a speed; pause/play, faster/slower, seeks, steps.

    Pure arithmetic on an injectable ``clock`` (``time.monotonic``): the UI polls
    ``state()`` from a timer. Reaching the end pauses."""

    def __init__(
        self,
        timeline: Timeline,
        speed: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        playing: bool = True,
    ) -> None:
        self.timeline = timeline
        self._clock = clock
        self.speed = self._valid(speed if speed is not None else timeline.default_speed)
        self._pos = 0.0
        self._since: float | None = clock() if playing else None

    @staticmethod
    def _valid(speed: float) -> float:
        if not speed > 0 or not np.isfinite(speed):
            raise ValueError(f"speed must be a positive number, got {speed!r}")
        return min(max(float(speed), MIN_SPEED), MAX_SPEED)

    @property
    def playing(self) -> bool:
        self.position()  # may pause at the end
        return self._since is not None

    def position(self) -> float:
        if self._since is None:
            return self._pos
        now = self._clock()
        pos = self._pos + (now - self._since) * self.speed
        if pos >= self.timeline.duration:
            self._pos, self._since = self.timeline.duration, None
            return self._pos
        return pos

    def _rebase(self) -> None:
        pos = self.position()
        self._pos = pos
        if self._since is not None:
            self._since = self._clock()

    def play(self) -> None:
        if self._since is None:
            if self._pos >= self.timeline.duration:
                self._pos = 0.0  # play at the end starts over
            self._since = self._clock()

    def pause(self) -> None:
        self._pos = self.position()
        self._since = None

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def set_speed(self, speed: float) -> None:
        self._rebase()
        self.speed = self._valid(speed)

    def faster(self, factor: float = 2.0) -> None:
        self.set_speed(self.speed * factor)

    def slower(self, factor: float = 2.0) -> None:
        self.set_speed(self.speed / factor)

    def seek(self, t: float) -> None:
        self._pos = self.timeline.clamp(t)
        if self._since is not None:
            self._since = self._clock()

    def seek_start(self) -> None:
        self.seek(0.0)

    def seek_end(self) -> None:
        self.seek(self.timeline.duration)

    def step_next(self, kinds: Iterable[str] | None = None) -> TimelineEvent | None:
        """Jump to the next event (of ``kinds``); None (and no move) if there is none."""
        ev = self.timeline.next_event_after(self.position(), kinds)
        if ev is not None:
            self.seek(ev.time)
        return ev

    def step_prev(self, kinds: Iterable[str] | None = None) -> TimelineEvent | None:
        ev = self.timeline.prev_event_before(self.position(), kinds)
        if ev is not None:
            self.seek(ev.time)
        return ev

    def state(self) -> ReplayState:
        return self.timeline.state_at(self.position())
