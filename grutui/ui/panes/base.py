"""The interface every pane implements; the app drives it from one epoch cursor."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from textual.screen import Screen

from grutui.core.config import TrainConfig
from grutui.core.rundata import RunData

if TYPE_CHECKING:
    from grutui.ui.app import GrutuiApp


REBUILD_EVERY = 2.0  # seconds between rebuilds of a figure while its run grows

T = TypeVar("T")


class PaneScreen(Screen[None]):
    """A pane: a Textual mode's base screen.

    The app calls ``show_epoch`` when the cursor (epoch or member) moves while the pane
    is visible, and when the pane becomes visible; ``data_grew`` when a live run
    appended epochs or its config changed (a resume; visible pane only; a hidden pane
    gets ``data_grew`` on becoming visible, before ``show_epoch``). Both must be
    quick: they run on every key repeat.
    ``analysis_changed`` when the shared analyses (``app.analyses``) moved.

    A pane whose own keys change what it shows (a view, a level, a selected row) says
    so in ``view_state`` and calls ``record_view`` after each such key; a replay gives
    the recorded state back to ``apply_view``.
    """

    PANE_MODE: ClassVar[str] = "pane"  # the Textual mode, named like the module and class
    PANE_TITLE: ClassVar[str] = "pane"  # its tab, help section and palette entries

    @classmethod
    def unavailable(cls, config: TrainConfig) -> str | None:
        """Why this pane does not apply to a run of ``config`` (one line), or None
        when it does. The app hides the tab of a pane that does not apply and says
        the reason when its key is pressed (a task without generalisation axes has no
        OOD grid)."""
        return None

    def __init__(self) -> None:
        super().__init__()
        self.seen_epochs = -1  # data.n_epochs at the last data_grew
        # per figure: the key (less the data size) it was last rebuilt for, and when
        self._built_at: dict[str, tuple[tuple[object, ...], float]] = {}
        self.seen_config: object = None  # data.config then (a resume may change it)

    @property
    def grutui(self) -> GrutuiApp:
        return cast("GrutuiApp", self.app)

    def show_epoch(self, data: RunData, epoch: int, member: int) -> None:
        """Show ``epoch`` (−1 when the run has no epoch yet) of ``member``."""

    def data_grew(self, data: RunData) -> None:
        """``data`` has more epochs than when last shown."""

    def rebuild_due(
        self, plot: str, key: tuple[object, ...], old: tuple[object, ...] | None
    ) -> bool:
        """Whether to rebuild figure ``plot`` for ``key`` (last shown for ``old``): at
        once for a new selection, but only every ``REBUILD_EVERY`` s when just the data
        grew (the key's last item) while the session is written: a live run would
        otherwise rebuild it at every pull and take CPU from training."""
        if old is None or key[:-1] != old[:-1] or not self.grutui.writing:
            return True
        now = time.monotonic()
        built_for, at = self._built_at.get(plot, ((), 0.0))
        if built_for != key[:-1] or now - at >= REBUILD_EVERY:
            self._built_at[plot] = (key[:-1], now)
            return True
        return False

    def view_state(self) -> dict[str, Any]:
        """This pane's view choices (JSON values), all of them: what a ``view`` event
        records and ``apply_view`` takes back. Empty: a pane without such keys."""
        return {}

    def apply_view(self, state: Mapping[str, Any]) -> None:
        """Show what a recorded ``view_state`` chose (a replay; the pane is mounted and
        visible). A field that is missing or not one this pane knows leaves that
        choice as it is: a log from another version must not break a replay."""

    def record_view(self) -> None:
        """Log the view choices after one of this pane's keys changed them."""
        app = self.grutui
        app.record("view", pane=self.PANE_MODE, state=self.view_state(), epoch=app.epoch)

    def analysis_changed(self) -> None:
        """The app's shared analyses moved (markers found, history progress or result)."""

    def sync(self) -> None:
        """Bring the pane up to date with the app's data and cursor."""
        app = self.grutui
        data = app.data
        if data is None:  # a session still being created: the bar says so
            app.update_cursor_bar(self)
            return
        if data.n_epochs != self.seen_epochs or data.config is not self.seen_config:
            self.seen_epochs = data.n_epochs
            self.seen_config = data.config
            self.data_grew(data)
        self.show_epoch(data, app.epoch, app.member)
        app.update_cursor_bar(self)

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self.sync)

    def on_resize(self) -> None:
        # widths changed: anything laid out by hand (rulers, grids) is redrawn
        self.call_after_refresh(self.sync)


def recorded(state: Mapping[str, Any], key: str, choices: Sequence[T], current: T) -> T:
    """The one of ``choices`` that ``state[key]`` is (of its type too: JSON has 1.0
    and true for 1), else ``current`` (``apply_view``)."""
    v = state.get(key)
    return next((c for c in choices if type(c) is type(v) and c == v), current)


def recorded_int(state: Mapping[str, Any], key: str, current: int) -> int:
    """``state[key]`` when it is an int (not a bool), else ``current``."""
    v = state.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else current
