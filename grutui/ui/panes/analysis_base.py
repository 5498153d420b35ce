"""The skeleton of a pane that shows an analysis computed at the cursor in a thread.

A cursor move asks ``want(key)``: a result already computed shows at once; otherwise a
``LatestJob`` computes it (key repeat computes only the latest key) while the last
result stays shown, marked stale by the pane, until the wanted one arrives.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual.widgets import Static

from grutui.ui.jobs import CachedResults, LatestJob
from grutui.ui.panes.base import PaneScreen
from grutui.ui.widgets.text import set_text
from grutui.ui.widgets.textview import TextView

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class AnalysisPane(PaneScreen, Generic[K, R]):
    """Subclasses set ``JOB_GROUP`` (the worker group), ``MAX_RESULTS``, ``TITLE_ID``
    and ``BODY_ID`` (the title line and the body ``Static``), and implement ``compute``
    (in the worker thread) and ``draw`` (the result or the wait for it)."""

    AUTO_FOCUS = ""
    CSS_PATH = "../styles/analysis.tcss"
    JOB_GROUP: ClassVar[str] = "analysis"
    MAX_RESULTS: ClassVar[int] = 256  # results kept for instant display when scrubbing back
    TITLE_ID: ClassVar[str] = ""
    BODY_ID: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self.cache: CachedResults[K, R] = CachedResults(self.MAX_RESULTS)
        self.job: LatestJob[K, R] | None = None

    def on_mount(self) -> None:
        self.job = LatestJob(self.grutui, self.JOB_GROUP, self.compute, self._computed)

    def compute(self, key: K) -> R:
        """The result for ``key`` (runs in the job's thread)."""
        raise NotImplementedError

    def draw(self) -> None:
        """Show ``cache.shown`` (stale unless it is ``cache.wanted``'s) or the wait."""

    def want(self, key: K) -> None:
        """Show the result for ``key``, computing it first if it is not cached."""
        assert self.job is not None  # made on mount; the app shows mounted panes only
        self.cache.want(key, self.job.request)
        self.draw()

    def current(self) -> R | None:
        """The result shown (None before the first one arrives)."""
        return self.cache.shown

    def _computed(self, key: K, res: R | Exception) -> None:
        self.cache.store(key, res)
        if self.app.screen is self:
            self.draw()

    def _text_widget(self, id: str) -> Static | TextView:
        w = self.query_one(f"#{id}")
        assert isinstance(w, Static | TextView)
        return w

    def show_title(self, text: Text) -> None:
        set_text(self._text_widget(self.TITLE_ID), text)

    def no_result(self, why: str) -> None:
        """Nothing to compute at the cursor (no weights yet, before the first snapshot)."""
        self.show_title(Text(why, style="dim"))
        self._text_widget(self.BODY_ID).update("")
