"""Bookmark dialogs: a short note for the cursor epoch, and the list to jump from.

The bookmarks themselves are ``grutui.core.recording.Bookmarks`` (persisted as
``bookmark`` events in the session's event log); these screens only ask and show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from grutui.core.recording import Bookmark
from grutui.ui.dialogs import Dialog

NOTE_MAX = 80  # characters: a note is a label, not a diary


class BookmarkNoteDialog(Dialog[str | None]):
    """Asks for the note of a bookmark at ``epoch`` (Enter saves, Esc cancels)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="bookmark.cancel", tooltip="Close")
    ]

    def __init__(self, epoch: int, note: str = "") -> None:
        super().__init__()
        self.epoch = epoch
        self._note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="bookmark-box", classes="dialog-box"):
            yield Label(f"Bookmark epoch {self.epoch}: a short note (Enter saves, Esc cancels)")
            yield Input(
                value=self._note, placeholder="note", max_length=NOTE_MAX, id="bookmark-note"
            )

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class BookmarkListDialog(Dialog[int | None]):
    """The bookmarks by epoch; Enter jumps to the highlighted one, ``d`` deletes it
    (through ``remove``, which returns whether it could)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,B", "cancel", "Close", id="bookmarks.close", tooltip="Close"),
        Binding("d,delete", "delete", "Delete", id="bookmarks.delete", tooltip="Delete"),
    ]

    def __init__(self, marks: list[Bookmark], remove: Callable[[int], bool] | None = None) -> None:
        super().__init__()
        self.marks = marks
        self._remove = remove

    def compose(self) -> ComposeResult:
        with Vertical(id="bookmarks-box", classes="dialog-box"):
            if self.marks:
                yield Label("Bookmarks (Enter jumps, d deletes, Esc closes)")
                yield OptionList(
                    *(Option(f"epoch {b.epoch:>6}  {b.note}", id=str(b.epoch)) for b in self.marks),
                    id="bookmarks-list",
                )
            else:
                yield Label("No bookmarks yet: b marks the cursor epoch (Esc closes)")

    def on_mount(self) -> None:
        if self.marks:
            listing = self.query_one(OptionList)
            listing.highlighted = 0
            listing.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_delete(self) -> None:
        if not self.marks or self._remove is None:
            return
        listing = self.query_one(OptionList)
        i = listing.highlighted
        if i is None or not self._remove(self.marks[i].epoch):
            return
        del self.marks[i]
        listing.remove_option_at_index(i)
        if not self.marks:
            self.dismiss(None)
