"""Messages from background workers to the UI thread (frozen data, batched).

Workers never touch widgets: they post one of these (``post_message`` is thread-safe)
and the app applies it on the UI thread. A run trained in the app posts nothing: the
app pulls its driver's snapshots on a timer (``GrutuiApp.pull_training``).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from grutui.core.rundata import Chunk


@dataclass
class SessionGrew(Message):
    """New rows a watcher read off a session another process is writing."""

    chunk: Chunk
