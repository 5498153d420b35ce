"""Text that repaints only what changed: the bytes a key costs over SSH.

Textual repaints a refreshed widget's whole region and writes every cell of it to the
terminal. Scrubbing an epoch changes a few numbers in a table or one column of a plot,
so a widget that names only its changed cells (``Widget.refresh(*regions)``) sends a
fraction of the bytes. ``changed_regions`` finds those cells between two renders;
``TextView`` is a ``Static``-like text widget built on it.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

Cells = list[tuple[str, Style | None]]


def _cells(strip: Strip) -> Cells | None:
    """One (character, style) per cell; None when a wide character makes characters and
    cells differ (the caller then repaints the whole line)."""
    out: Cells = []
    for seg in strip:
        text, style = seg.text, seg.style
        if cell_len(text) != len(text):
            return None
        out.extend((ch, style) for ch in text)
    return out


def changed_span(old: Strip, new: Strip) -> tuple[int, int] | None:
    """The cells ``[start, end)`` that differ between two renders of one line, or None."""
    if old == new:
        return None
    a, b = _cells(old), _cells(new)
    if a is None or b is None:
        return 0, max(old.cell_length, new.cell_length)
    # cells are places on the screen: compare them place by place (a text diff would
    # match a shifted tail, which the terminal still shows at its old place)
    n = min(len(a), len(b))
    start = 0
    while start < n and a[start] == b[start]:
        start += 1
    end = max(len(a), len(b))
    if end == n:  # as long as each other: equal tails need no repaint
        while end > start and a[end - 1] == b[end - 1]:
            end -= 1
    return (start, end) if end > start else None


def changed_spans(old: list[Strip], new: list[Strip], width: int) -> list[tuple[int, int, int]]:
    """(line, start, end) for every line whose cells differ between two renders; a line
    present in only one of them is changed whole."""
    spans = []
    for y in range(max(len(old), len(new))):
        if y >= len(old) or y >= len(new):
            spans.append((y, 0, width))
        elif (span := changed_span(old[y], new[y])) is not None:
            spans.append((y, *span))
    return spans


def changed_regions(old: list[Strip], new: list[Strip], width: int) -> list[Region]:
    """Regions to repaint for what differs between two renders: one per changed line,
    from the line's start to its last changed cell (the terminal is sent a line from
    its widget's left edge anyway; Textual's own widgets refresh whole-line regions)."""
    return [Region(0, y, end, 1) for y, _start, end in changed_spans(old, new, width)]


class TextView(Widget):
    """Rich text, like a ``Static``, whose ``update`` repaints only the changed cells
    (and lays the screen out again only when the text's size changed)."""

    DEFAULT_CSS = """
    TextView {
        height: auto;
    }
    """

    def __init__(
        self,
        text: Text | str = "",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._text = text if isinstance(text, Text) else Text(text)
        self._strips: list[Strip] = []
        self._key: tuple[int, Style] | None = None  # (width, base style) of _strips
        self.repainted = 0  # cells that changed in updates (tests, benches)

    @property
    def text(self) -> Text:
        return self._text

    def update(self, text: Text | str) -> None:
        text = text if isinstance(text, Text) else Text(text)
        if text == self._text and text.no_wrap == self._text.no_wrap:
            return
        old_width = self._measure_width(self._text)
        self._text = text
        width = self.size.width
        if self._key != self._render_key() or width <= 0:
            self._key = None
            self.refresh(layout=True)
            return
        old = self._strips
        self._strips = self._lines(text, width)
        if len(old) != len(self._strips) or self._measure_width(text) != old_width:
            self.refresh(layout=True)  # its size may change
            return
        spans = changed_spans(old, self._strips, width)
        self.repainted += sum(end - start for _y, start, end in spans)
        if spans:
            self.refresh(*(Region(0, y, end, 1) for y, _start, end in spans))

    # -- rendering -------------------------------------------------------------------
    def _render_key(self) -> tuple[int, Style]:
        return self.size.width, self.rich_style

    def _lines(self, text: Text, width: int) -> list[Strip]:
        console = self.app.console
        options = console.options.update_width(max(1, width))
        lines = console.render_lines(text, options, style=self.rich_style, pad=False)
        # spans of one style as one segment: one style code each over the wire
        return [Strip(line).simplify() for line in lines]

    @staticmethod
    def _measure_width(text: Text) -> int:
        return max((cell_len(s) for s in text.plain.split("\n")), default=0)

    def render(self) -> Text:
        """The text (for callers that want a renderable; the screen uses render_line)."""
        return self._text

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self._measure_width(self._text)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self._text.no_wrap:
            return self._text.plain.count("\n") + 1
        return len(self._lines(self._text, width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        key = self._render_key()
        if self._key != key:
            self._strips = self._lines(self._text, width)
            self._key = key
        if y >= len(self._strips):
            return Strip.blank(width, self.rich_style)
        return self._strips[y].extend_cell_length(width, self.rich_style)
