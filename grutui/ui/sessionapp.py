"""What the app does with a session beyond showing it: recording, bookmarks, replay.

``SessionApp`` is the base class of ``GrutuiApp``; it brings its keys (merged into the
app's bindings, so they show in the help and the command palette) and the actions
behind them. ``GrutuiApp.record`` hands every user action to ``record_action``.

Recording: an ``ActionRecorder`` (``grutui.core.recording``) appends the actions to the
session's ``events.jsonl`` in the background (a call is a lock and a list append;
cursor moves are coalesced), flushed on quit. Nothing is recorded in replay mode or
for a run held only in memory; a session that cannot be written (read-only directory,
full disk) is browsed with recording off and one notification.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import Input

from grutui.core.recording import ActionRecorder, Bookmarks
from grutui.ui.bookmarks import BookmarkListDialog, BookmarkNoteDialog

if TYPE_CHECKING:
    from grutui.ui.app import GrutuiApp
    from grutui.ui.replay import Replayer

# the app's record() kinds that the training worker already logs itself
WORKER_LOGGED = frozenset({"pause", "unpause", "pause_request", "stop_request"})


def _replay_key(key: str, op: str, title: str, tooltip: str, **kw: Any) -> Binding:
    return Binding(key, f"replay('{op}')", title, id=f"replay.{op}", tooltip=tooltip, **kw)


class SessionApp(App[None]):
    """Recording, bookmarks and replay for ``GrutuiApp`` (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # bookmark keys stay out of the footer (full at 80 columns); the help lists them
        Binding(
            "b",
            "bookmark",
            "Bookmark",
            id="bookmark.add",
            tooltip="Bookmark this epoch",
            show=False,
        ),
        Binding(
            "B",
            "bookmarks",
            "Bookmarks",
            id="bookmark.list",
            tooltip="List bookmarks, jump to one",
            show=False,
        ),
        # space wins over a pane's own space (Train: pause training) only in replay
        # mode, and never while typing (check_action)
        _replay_key("space", "toggle", "Play/pause", "Replay: play or pause", priority=True),
        _replay_key("plus,equals_sign", "faster", "Faster", "Replay: twice as fast"),
        _replay_key("minus", "slower", "Slower", "Replay: half as fast"),
        _replay_key("circumflex_accent", "start", "Start", "Replay: back to the start", show=False),
        _replay_key("dollar_sign", "end", "End", "Replay: jump to the end", show=False),
        _replay_key("e", "next", "Next event", "Replay: jump to the next event"),
        _replay_key("E", "prev", "Prev event", "Replay: back to the previous event", show=False),
    ]

    def __init__(self, *, ansi_color: bool = False) -> None:
        super().__init__(ansi_color=ansi_color)
        self.recorder: ActionRecorder | None = None
        self.bookmarks = Bookmarks({})
        self.replayer: Replayer | None = None
        self._recording_warned = False

    @property
    def _app(self) -> GrutuiApp:
        return cast("GrutuiApp", self)

    # -- recording ---------------------------------------------------------------------
    def start_recording(self, directory: Path) -> None:
        """Record this session's actions (and load its bookmarks) from now on."""
        if self.replayer is not None or self.recorder is not None:
            return
        rec = ActionRecorder(directory)
        if not rec.enabled:
            self._recording_off(rec.error)
            rec.close()
            self.bookmarks = Bookmarks.load(directory)
            return
        self.recorder = rec
        self.bookmarks = Bookmarks.load(directory, recorder=rec)

    def _recording_off(self, error: BaseException | None) -> None:
        if not self._recording_warned:
            self._recording_warned = True
            self.notify(
                f"not recording this session (it cannot be written: {error})",
                severity="warning",
                timeout=8,
            )

    def record_action(self, kind: str, fields: dict[str, Any]) -> None:
        """One user action from ``GrutuiApp.record`` → the recorder (cheap)."""
        rec = self.recorder
        if rec is None or kind in WORKER_LOGGED:
            return
        if rec.error is not None:  # a background write failed: stop, say so once
            self.recorder = None
            self.bookmarks.recorder = None
            self._recording_off(rec.error)
            return
        if kind == "cursor":  # coalesced while a key repeats
            rec.cursor(int(fields["epoch"]))
        else:  # the app's kinds and fields are the log's (``grutui.core.recording``)
            rec.record(
                kind, fields.get("epoch"), **{k: v for k, v in fields.items() if k != "epoch"}
            )

    def stop_recording(self) -> None:
        """Write everything still buffered (the final cursor position too)."""
        rec, self.recorder = self.recorder, None
        if rec is not None:
            rec.close()

    # -- bookmarks ---------------------------------------------------------------------
    def action_bookmark(self) -> None:
        app = self._app
        if app.epoch < 0:
            self.notify("no epochs recorded yet", severity="warning")
            return
        if self.replayer is not None:
            self.notify("replay is read-only: bookmarks cannot be added", severity="warning")
            return
        epoch = app.epoch
        old = self.bookmarks.get(epoch)

        def done(note: str | None) -> None:
            if note is None:
                return
            self.bookmarks.add(epoch, note)
            where = "" if self.recorder is not None else " (this session only: not saved)"
            self.notify(f"bookmarked epoch {epoch}{where}", timeout=3)

        self.push_screen(BookmarkNoteDialog(epoch, old.note if old else ""), done)

    def action_bookmarks(self) -> None:
        def done(epoch: int | None) -> None:
            if epoch is not None:
                self._app.set_epoch(epoch, via="bookmark")

        remove = self.bookmarks.remove if self.replayer is None else None  # replay: read-only
        self.push_screen(BookmarkListDialog(self.bookmarks.items(), remove), done)

    def bar_status(self) -> str:
        """The cursor bar's status: a bookmark's note when the cursor is on one, then
        the run's state (training, replay position, ...)."""
        app = self._app
        mark = self.bookmarks.get(app.epoch) if len(self.bookmarks) else None
        if mark is None:
            return app.run_status
        note = f"★ {mark.note}" if mark.note else "★"
        return f"{note}  {app.run_status}" if app.run_status else note

    # -- replay --------------------------------------------------------------------------
    def start_replay(
        self, path: Path, speed: float | None, clock: Callable[[], float] | None = None
    ) -> None:
        from grutui.ui.replay import TICK, Replayer

        self.replayer = Replayer.open(self._app, path, speed, clock or time.monotonic)
        self.replayer.start()
        self.set_interval(TICK, self.replayer.on_timer)

    def action_replay(self, op: str) -> None:
        if self.replayer is not None:
            self.replayer.command(op)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "replay":  # replay keys exist only in replay mode, never while typing
            return self.replayer is not None and not isinstance(self.focused, Input)
        return True
