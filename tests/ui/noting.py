"""An app that keeps the message of every notification it shows (Textual has no public
list of them)."""

from __future__ import annotations

from typing import Any

from grutui.ui.app import GrutuiApp


class Noting(GrutuiApp):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.notes: list[str] = []

    def notify(self, message: str, **kw: Any) -> None:  # type: ignore[override]
        self.notes.append(message)
        super().notify(message, **kw)
