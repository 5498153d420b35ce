"""Recording what the user does in the app, and bookmarks, into the session's event log.

User actions are ordinary events in ``SESSION/events.jsonl`` (``{"t", "kind", "epoch",
...}``, ``epoch`` being the cursor epoch the action concerns), or, for a read-only
session (not writable, or tracked by git: ``grutui.core.paths``), in the
``events.jsonl`` of its directory under the per-user data dir:

=============  =====================================================================
kind           fields
=============  =====================================================================
``cursor``     ``epoch``: where the epoch cursor moved
``pane``       ``pane``: the pane switched to (e.g. ``"train"``, ``"browse"``)
``sequence``   ``text``: a sequence entered in the debugger, as typed
``step``       ``step``: the debugger's time step (0-based)
``member``     ``member``: the ensemble member shown
``bookmark``   ``op``: ``"add"`` or ``"remove"``; ``epoch``; ``note`` (add only)
``view``       ``pane``: the pane whose own keys changed what it shows; ``state``: all
               of that pane's view choices after the key, e.g. ``{"view":
               "degeneracy", "level": "weights"}`` (the pane's ``view_state``)
=============  =====================================================================

``ActionRecorder`` is what the UI calls on every action. A call costs a lock and a
list append; a background thread writes the buffer every ``flush_interval`` seconds
in one ``write``. Cursor moves are coalesced: at most one ``cursor`` event every
``cursor_interval`` seconds (holding an arrow key while scrubbing would otherwise log
hundreds a second), and the final position is always recorded, with the time it was
reached. So are a pane's view changes: a ``view`` event holds the pane's whole view,
so one younger than ``cursor_interval`` that is still buffered, with nothing after
it, is replaced by the next of the same pane (a held ↓ in Browse). Bookmarks are
written at once (they are the user's words). Recording never
raises into the UI: a failed write (read-only or full disk) turns recording off and is
kept in ``error``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grutui.core.events import EventLog, read_session_events
from grutui.core.paths import EVENTS_NAME, store_dir

USER_ACTIONS = ("cursor", "pane", "sequence", "step", "member", "bookmark", "view")


class ActionRecorder:
    """Thread-safe, buffered recorder of user actions (see the module docstring).

    Pass the session's existing ``EventLog`` (e.g. the live ``SessionWriter.events``)
    so one object owns the file, or a session directory to open its own log (safe too:
    appends are whole-line ``O_APPEND`` writes) in the session's store directory."""

    def __init__(
        self,
        target: EventLog | str | Path,
        *,
        cursor_interval: float = 0.05,
        flush_interval: float = 0.5,
        background: bool = True,
    ) -> None:
        self.error: OSError | None = None
        self.log: EventLog | None = None
        self._own_log = not isinstance(target, EventLog)
        if isinstance(target, EventLog):
            self.log = target
        else:
            try:
                self.log = EventLog(store_dir(Path(target), create=True) / EVENTS_NAME)
            except OSError as exc:  # nowhere to write: browse it, record nothing
                self.error = exc
        self.cursor_interval = cursor_interval
        self.flush_interval = flush_interval
        self._lock = threading.Lock()
        self._buf: list[dict[str, Any]] = []
        self._pending_cursor: dict[str, Any] | None = None
        self._last_cursor_t = -float("inf")
        self._last_cursor_epoch: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background and self.log is not None:
            self._thread = threading.Thread(target=self._run, name="grutui-recorder", daemon=True)
            self._thread.start()

    @property
    def enabled(self) -> bool:
        return self.log is not None and self.error is None

    # -- actions (cheap; called on the UI thread) --------------------------------------
    def cursor(self, epoch: int) -> None:
        ev = EventLog.make("cursor", int(epoch))
        now = ev["t"]
        with self._lock:
            if epoch == self._last_cursor_epoch:  # back where the log already has it
                self._pending_cursor = None
                return
            if now - self._last_cursor_t >= self.cursor_interval:
                self._pending_cursor = None
                self._emit_cursor(ev)
            else:
                self._pending_cursor = ev

    def pane(self, pane: str, epoch: int | None = None) -> None:
        self.record("pane", epoch, pane=pane)

    def sequence(self, text: str, epoch: int | None = None) -> None:
        self.record("sequence", epoch, text=text)

    def step(self, step: int, epoch: int | None = None) -> None:
        self.record("step", epoch, step=int(step))

    def member(self, member: int, epoch: int | None = None) -> None:
        self.record("member", epoch, member=int(member))

    def bookmark(self, op: str, epoch: int, note: str = "") -> None:
        """Record a bookmark change and write it at once."""
        if op not in ("add", "remove"):
            raise ValueError(f"bookmark op must be 'add' or 'remove', got {op!r}")
        data: dict[str, Any] = {"op": op}
        if op == "add":
            data["note"] = note
        self.record("bookmark", int(epoch), **data)
        self.flush()

    def record(self, kind: str, epoch: int | None = None, **fields: Any) -> None:
        """Any action; a pending cursor move is written first so order is kept."""
        ev = EventLog.make(kind, epoch, **fields)
        with self._lock:
            if self._pending_cursor is not None:
                self._emit_cursor(self._pending_cursor)
                self._pending_cursor = None
            last = self._buf[-1] if self._buf else None
            if (
                kind == "view"
                and last is not None
                and last["kind"] == "view"
                and last.get("pane") == fields.get("pane")
                and ev["t"] - last["t"] < self.cursor_interval
            ):
                self._buf[-1] = ev  # the whole view: the newer one says all the older did
                return
            self._buf.append(ev)

    def _emit_cursor(self, ev: dict[str, Any]) -> None:  # lock held
        self._buf.append(ev)
        self._last_cursor_t = ev["t"]
        self._last_cursor_epoch = ev["epoch"]

    # -- writing -----------------------------------------------------------------------
    def flush(self, *, final: bool = True) -> None:
        """Write what is buffered. ``final=False`` (the background tick) keeps a cursor
        move that is younger than ``cursor_interval`` for coalescing."""
        with self._lock:
            pc = self._pending_cursor
            if pc is not None and (final or time.time() - pc["t"] >= self.cursor_interval):
                self._emit_cursor(pc)
                self._pending_cursor = None
            buf, self._buf = self._buf, []
        if not buf or not self.enabled:
            return
        assert self.log is not None
        try:
            try:
                self.log.write_events(buf)
            except ValueError:  # the shared log was closed (training ended): own one
                self.log = EventLog(self.log.path)
                self._own_log = True
                self.log.write_events(buf)
        except OSError as exc:  # read-only, disk full
            self.error = exc

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            self.flush(final=False)

    def close(self) -> None:
        """Stop the background thread and write everything (the final cursor too)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.flush()
        if self._own_log and self.log is not None:
            self.log.close()

    def __enter__(self) -> ActionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- bookmarks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Bookmark:
    epoch: int
    note: str
    t: float  # when it was (last) set


def bookmarks_from(events: Iterable[dict[str, Any]]) -> dict[int, Bookmark]:
    """Bookmarks as of the end of ``events`` (``op`` add sets/replaces, remove deletes)."""
    out: dict[int, Bookmark] = {}
    for ev in events:
        if ev.get("kind") != "bookmark" or not isinstance(ev.get("epoch"), int):
            continue
        apply_bookmark(out, int(ev["epoch"]), ev, float(ev.get("t", 0.0)))
    return out


def apply_bookmark(marks: dict[int, Bookmark], epoch: int, data: dict[str, Any], t: float) -> None:
    """One ``bookmark`` event onto ``marks``: ``op`` add sets/replaces, remove deletes."""
    if data.get("op") == "remove":
        marks.pop(epoch, None)
    elif data.get("op") == "add":
        marks[epoch] = Bookmark(epoch, str(data.get("note", "")), t)


class Bookmarks:
    """The session's bookmarks: one note per epoch, persisted as ``bookmark`` events.

    ``Bookmarks.load(session_dir, recorder)`` reads them from the session's events
    (``read_session_events``); ``add`` and ``remove`` update memory and write through
    the recorder (at once)."""

    def __init__(self, marks: dict[int, Bookmark], recorder: ActionRecorder | None = None):
        self._marks = dict(marks)
        self.recorder = recorder

    @classmethod
    def load(cls, session_dir: str | Path, recorder: ActionRecorder | None = None) -> Bookmarks:
        return cls(bookmarks_from(read_session_events(Path(session_dir))), recorder)

    def add(self, epoch: int, note: str = "") -> Bookmark:
        note = " ".join(note.split())  # one line in the log and the list
        b = Bookmark(int(epoch), note, time.time())
        self._marks[b.epoch] = b
        if self.recorder is not None:
            self.recorder.bookmark("add", b.epoch, note)
        return b

    def remove(self, epoch: int) -> bool:
        if self._marks.pop(int(epoch), None) is None:
            return False
        if self.recorder is not None:
            self.recorder.bookmark("remove", int(epoch))
        return True

    def get(self, epoch: int) -> Bookmark | None:
        return self._marks.get(int(epoch))

    def items(self) -> list[Bookmark]:
        """Sorted by epoch."""
        return [self._marks[e] for e in sorted(self._marks)]

    def next_after(self, epoch: int) -> Bookmark | None:
        later = [e for e in self._marks if e > epoch]
        return self._marks[min(later)] if later else None

    def prev_before(self, epoch: int) -> Bookmark | None:
        earlier = [e for e in self._marks if e < epoch]
        return self._marks[max(earlier)] if earlier else None

    def __len__(self) -> int:
        return len(self._marks)

    def __contains__(self, epoch: object) -> bool:
        return epoch in self._marks
