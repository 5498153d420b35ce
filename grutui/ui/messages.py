"""Messages from background workers to the UI thread (frozen snapshots, batched).

Workers never touch widgets: they post one of these (``post_message`` is thread-safe)
at most every ~100 ms and the app applies it on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from grutui.core.rundata import Chunk


class _DataMessage(Message):
    """Base of the worker messages (Textual initialises dataclass messages itself)."""


@dataclass
class TrainingStarted(_DataMessage):
    """The training worker opened its session and is about to run the first epoch."""

    device: str
    threads: int
    epochs: int


@dataclass
class TrainingBatch(_DataMessage):
    """Epoch records since the last batch (``EpochRecord`` tuples, oldest first)."""

    records: tuple[Any, ...]


@dataclass
class TrainingPaused(_DataMessage):
    paused: bool
    epoch: int | None


@dataclass
class TrainingFinished(_DataMessage):
    """How the run ended: ``finished``, ``diverged``, ``stopped`` or ``error``."""

    outcome: str
    epochs: int
    detail: str = ""


@dataclass
class SessionGrew(_DataMessage):
    """New rows a watcher read off a session another process is writing."""

    chunk: Chunk
