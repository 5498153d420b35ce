"""Modal screens: go to an epoch, and the key help generated from the bindings."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from grutui.core.errors import GrutuiError


class GotoDialog(ModalScreen[int | None]):
    """Asks for an epoch (a number, negative from the end, or ``last``), or with another
    ``prompt`` and ``resolve`` for another number (the member to show)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="goto.cancel", tooltip="Close")
    ]

    def __init__(
        self,
        resolve: Callable[[str], int],
        first: int,
        last: int,
        *,
        prompt: str = "",
        placeholder: str = "epoch",
    ) -> None:
        super().__init__()
        self._resolve = resolve
        self._prompt = prompt or f"Go to epoch ({first}..{last}, -N from end, last)"
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-box"):
            yield Label(self._prompt)
            yield Input(placeholder=self._placeholder, id="goto-input")
            yield Label("", id="goto-error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        try:
            epoch = self._resolve(text)
        except GrutuiError as exc:
            self.query_one("#goto-error", Label).update(str(exc))
            return
        self.dismiss(epoch)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key, grouped: global keys, then each pane's own."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close", tooltip="Close"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self._sections = sections

    def compose(self) -> ComposeResult:
        t = Text()
        for title, rows in self._sections:
            t.append(f"{title}\n", style="bold underline")
            for keys, desc in rows:
                t.append(f"  {keys:<22}", style="bold")
                t.append(f"{desc}\n")
            t.append("\n")
        t.append("Esc, ? or q closes this help", style="dim")
        with VerticalScroll(id="help-box"):
            yield Static(t, id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
