"""Modal screens: go to an epoch, and the key help generated from the bindings; the
base every dialog of ours shares, and the command palette with the same guard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult, ScreenStackError
from textual.await_complete import AwaitComplete
from textual.binding import Binding, BindingType
from textual.command import CommandList, CommandPalette
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, OptionList, Static

from grutui.core.errors import GrutuiError

R = TypeVar("R")
Choice = Input.Submitted | Button.Pressed | OptionList.OptionSelected  # what closes a palette


class DismissOnce:
    """A screen that closes itself at most once. Keys typed faster than a screen
    closes (Enter twice) reach it again after its first ``dismiss``: a second one would
    pop the screen underneath (the pane, the last on the stack: ``ScreenStackError``)
    and run the result callback twice."""

    dismissed = False  # set by the first dismissal

    def may_dismiss(self) -> bool:
        """Whether this dismissal is the first, with this screen on top; marks it."""
        assert isinstance(self, Screen)
        try:
            on_top = self.app.screen is self
        except ScreenStackError:  # the app is closing
            on_top = False
        if self.dismissed or not on_top:
            return False
        self.dismissed = True
        return True


class Dialog(DismissOnce, ModalScreen[R]):
    """The base of every dialog of ours (see ``DismissOnce``)."""

    def dismiss(self, result: R | None = None) -> AwaitComplete:
        if not self.may_dismiss():
            return AwaitComplete()  # nothing to wait for
        return super().dismiss(result)


class Palette(DismissOnce, CommandPalette):
    """Textual's command palette, guarded: a second Enter while it closes would also
    run the chosen command again; a page key while its list has hits but no height
    yet (the instant it appears, or a terminal too short for it), or while a new
    search refills it, fails in Textual's page move (a ``KeyError``), so then the
    key moves a line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "pagedown",
            "page(1)",
            "Next page",
            show=False,
            id="palette.page_down",
            tooltip="Next page of commands",
        ),
        Binding(
            "pageup",
            "page(-1)",
            "Previous page",
            show=False,
            id="palette.page_up",
            tooltip="Previous page of commands",
        ),
    ]

    def action_page(self, direction: int) -> None:
        hits = self.query_one(CommandList)
        refilling = (hits.highlighted or 0) >= hits.option_count  # a new search's hits
        if refilling or not hits.scrollable_content_region:  # no lines to page through
            hits.action_cursor_down() if direction > 0 else hits.action_cursor_up()
        elif direction > 0:
            hits.action_page_down()
        else:
            hits.action_page_up()

    def dismiss(self, result: Any = None) -> AwaitComplete:
        if not self.may_dismiss():
            return AwaitComplete()
        return super().dismiss(result)

    @on(Input.Submitted)
    @on(Input.Changed)
    @on(Button.Pressed)
    @on(OptionList.OptionSelected)
    def drop_late(self, event: Choice | Input.Changed) -> None:
        # a subclass's handler runs first: the palette's own must not see a late one
        # (a key typed after Enter would start a search in a palette whose list is gone)
        if self.dismissed:
            event.prevent_default()
            event.stop()


class GotoDialog(Dialog[int | None]):
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


class HelpScreen(Dialog[None]):
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
