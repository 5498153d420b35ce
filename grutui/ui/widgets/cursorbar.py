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
        for key, title, active in tabs:
            t.append(f" {key} {title} ", style="reverse bold" if active else "dim")
        t.append("  ")
        if last < 0:
            t.append("no epochs yet", style="italic")
        else:
            t.append("epoch ", style="dim")
            t.append(f"{epoch}", style="bold")
            t.append(f"/{last}", style="dim")
        if members > 1:
            t.append(f"  member {member}/{members - 1}")
        if status:
            t.append(f"  {status}", style="italic")
        self.update(t, layout=False)  # one line, always
