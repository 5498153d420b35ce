"""The top line of every pane: pane tabs, the epoch cursor, member and run state."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal

from grutui.ui.widgets.textview import TextView


class CursorBar(Horizontal):
    """One line; the app rewrites it when the cursor, the pane or the run changes.

    The tabs and the cursor are two widgets: the terminal is sent a changed line from
    the left edge of its widget, so a cursor move re-sends the epoch, not the tabs."""

    DEFAULT_CSS = """
    CursorBar { height: 1; }
    CursorBar > #bar-tabs { width: auto; }
    CursorBar > #bar-state { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._tabs = TextView(id="bar-tabs")
        self._state = TextView(id="bar-state")

    def compose(self) -> ComposeResult:
        yield self._tabs
        yield self._state

    def render(self) -> Text:
        """The whole line as text (what the two parts show side by side)."""
        return Text.assemble(self._tabs.text, self._state.text)

    def show(
        self,
        tabs: list[tuple[str, str, bool]],
        epoch: int,
        last: int,
        member: int,
        members: int,
        status: str,
    ) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        rest = Text()
        if last < 0:
            rest.append("no epochs yet", style="italic")
        else:
            rest.append("epoch ", style="dim")
            rest.append(f"{epoch}", style="bold")
            rest.append(f"/{last}", style="dim")
        if members > 1:
            rest.append(f"  member {member}/{members - 1}")
        if status:
            rest.append(f"  {status}", style="italic")
        full = sum(len(f" {k} {title} ") for k, title, _ in tabs) + 2 + len(rest)
        # narrow terminal: the other panes by their key only, so the cursor and the run
        # state stay visible
        compact = full > self.size.width > 0
        for key, title, active in tabs:
            label = f" {key} {title} " if active or not compact else f" {key} "
            t.append(label, style="reverse bold" if active else "dim")
        state = Text("  ", no_wrap=True, overflow="ellipsis")
        state.append_text(rest)
        self._tabs.update(t)
        self._state.update(state)
