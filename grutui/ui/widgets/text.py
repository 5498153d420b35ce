"""Cheap updates for text widgets scrubbing rewrites on every key."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def set_text(widget: Static, text: Text | str) -> None:
    """Update ``widget``; ask for a layout pass (a whole-screen reflow) only when the
    text's shape — its lines and their lengths — changed, else just repaint it."""
    plain = text.plain if isinstance(text, Text) else text
    shape = tuple(len(line) for line in plain.split("\n"))
    old = getattr(widget, "_grutui_shape", None)
    widget._grutui_shape = shape  # type: ignore[attr-defined]
    widget.update(text, layout=shape != old)


def fmt_hms(seconds: int) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on (elapsed, ETA and replay clocks)."""
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
