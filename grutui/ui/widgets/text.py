"""Cheap updates for text widgets scrubbing rewrites on every key."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from rich.text import Text
from textual.widgets import Static

# the shape of the text each widget shows (its lines' lengths), kept beside the widget
_shapes: WeakKeyDictionary[Static, tuple[int, ...]] = WeakKeyDictionary()


def set_text(widget: Static, text: Text | str) -> None:
    """Update ``widget``; ask for a layout pass (a whole-screen reflow) only when the
    text's shape — its lines and their lengths — changed, else just repaint it."""
    plain = text.plain if isinstance(text, Text) else text
    shape = tuple(len(line) for line in plain.split("\n"))
    old = _shapes.get(widget)
    _shapes[widget] = shape
    widget.update(text, layout=shape != old)
