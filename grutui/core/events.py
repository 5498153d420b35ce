"""A session's event log: ``events.jsonl``, one JSON object per line.

Each event is ``{"t": unix time, "kind": ..., "epoch": ... | None, ...}``: the training
worker logs its own (``start``, ``clock``, ``finish``, ...), the app the user's actions
(``grutui.core.recording``). A read-only session's actions live in a second log in its
store directory (``grutui.core.paths``); ``read_session_events`` reads both.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from grutui.core.paths import EVENTS_NAME, store_dir


class EventLog:
    """Append-only JSON-lines log; a torn last line (killed writer) is skipped on read.

    Each event is one ``write`` of a whole line on an ``O_APPEND`` descriptor, under a
    lock: the training worker and the UI's action recorder (threads), or a trainer and
    an app watching it (processes), can append to the same file without interleaving.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:  # a line torn by a kill must not swallow the next event
            if path.stat().st_size:
                with path.open("rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    torn = fh.read(1) != b"\n"
                if torn:
                    self._write(b"\n")
        except OSError:
            pass

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:
                raise ValueError(f"event log {self.path} is closed")
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]

    @staticmethod
    def make(kind: str, epoch: int | None = None, **data: Any) -> dict[str, Any]:
        return {"t": time.time(), "kind": kind, "epoch": epoch, **data}

    def append(self, kind: str, epoch: int | None = None, **data: Any) -> dict[str, Any]:
        ev = self.make(kind, epoch, **data)
        self.write_events([ev])
        return ev

    def write_events(self, events: list[dict[str, Any]]) -> None:
        """Append ready-made events (each with ``t`` and ``kind``) in one write."""
        if events:
            text = "".join(json.dumps(ev, default=_jsonable) + "\n" for ev in events)
            self._write(text.encode("utf-8"))

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of one log file (none if it does not exist)."""
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a kill
        if isinstance(ev, dict) and "kind" in ev:
            events.append(ev)
    return events


def has_events(session_dir: Path) -> bool:
    """Whether the session has an event log (its own, or one in its store directory)."""
    logs = {session_dir / EVENTS_NAME, store_dir(session_dir) / EVENTS_NAME}
    return any(p.is_file() for p in logs)


def read_session_events(session_dir: Path) -> list[dict[str, Any]]:
    """All of a session's events: its own log, plus the user actions recorded in its
    store directory when it is read-only, merged in time order."""
    own = read_events(session_dir / EVENTS_NAME)
    side = store_dir(session_dir)
    if side == session_dir:
        return own
    extra = read_events(side / EVENTS_NAME)
    if not extra:
        return own
    return sorted(own + extra, key=_time)  # stable: each log keeps its own order


def _time(ev: dict[str, Any]) -> float:
    t = ev.get("t")
    return float(t) if isinstance(t, int | float) else 0.0
