"""Messages from background workers to the UI thread (frozen data, batched).

Workers never touch widgets: they post one of these (``post_message`` is thread-safe)
and the app applies it on the UI thread. A run trained in the app posts nothing: the
app pulls its driver's snapshots on a timer (``GrutuiApp.pull_training``).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from grutui.core.rundata import Chunk, RunData


@dataclass
class SessionGrew(Message):
    """New rows a watcher read off a session another process is writing."""

    chunk: Chunk


@dataclass
class SessionOpened(Message):
    """The session a watcher waited for has recorded its first epoch: its data, which
    the UI thread owns from now on."""

    data: RunData


@dataclass
class WatchStatus(Message):
    """What the watcher knows of the session's writer: ``live`` while a run writes it;
    ``note`` says what the app is waiting for, or why it stopped waiting."""

    live: bool
    note: str = ""
    problem: bool = False
