"""The top line of every pane: pane tabs, the epoch cursor, member and run state."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class CursorBar(Static):
    """One line; the app rewrites it when the cursor, the pane or the run changes."""

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
        t.append("  ")
        t.append_text(rest)
        self.update(t, layout=False)  # one line, always
