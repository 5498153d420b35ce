"""Cheap updates for text widgets scrubbing rewrites on every key."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from rich.text import Text
from textual.widgets import Static

from grutui.ui.widgets.textview import TextView

# the text each widget shows and its shape (its lines' lengths), kept beside the widget
_shown: WeakKeyDictionary[Static, tuple[Text | str, tuple[int, ...]]] = WeakKeyDictionary()


def set_text(widget: Static | TextView, text: Text | str) -> None:
    """Update ``widget``; nothing when its text is unchanged (a repaint is the whole
    widget's bytes to the terminal); a layout pass (a whole-screen reflow) only when the
    text's shape — its lines and their lengths — changed. A ``TextView`` repaints only
    the cells that changed."""
    if isinstance(widget, TextView):
        widget.update(text)
        return
    plain = text.plain if isinstance(text, Text) else text
    shape = tuple(len(line) for line in plain.split("\n"))
    old = _shown.get(widget)
    if old is not None and old[1] == shape and _same(old[0], text):
        return
    _shown[widget] = (text.copy() if isinstance(text, Text) else text, shape)
    widget.update(text, layout=old is None or shape != old[1])


def _same(a: Text | str, b: Text | str) -> bool:
    if isinstance(a, Text) and isinstance(b, Text):
        return a == b and a.no_wrap == b.no_wrap and a.overflow == b.overflow
    return a == b
