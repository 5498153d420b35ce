"""The panes the app offers, in key order, and the names old recordings use for them.

Adding a pane: write a ``PaneScreen`` subclass (``grutui/ui/panes/base.py``) in
``panes/<mode>.py`` named ``<Mode>Pane`` with its ``PANE_MODE`` and ``PANE_TITLE``, and
append a ``PaneSpec`` for it here; the app gives it a mode, the next digit key and F-key, a tab in
the cursor bar, a help section and command-palette entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from grutui.ui.panes.base import PaneScreen
from grutui.ui.panes.browse import BrowsePane
from grutui.ui.panes.debug import DebugPane
from grutui.ui.panes.fourier import FourierPane
from grutui.ui.panes.ood import OODPane
from grutui.ui.panes.seeds import SeedsPane
from grutui.ui.panes.train import TrainPane
from grutui.ui.panes.transitions import TransitionsPane


@dataclass(frozen=True)
class PaneSpec:
    screen: type[PaneScreen]

    @property
    def mode(self) -> str:
        """Textual mode name, also the action argument: ``pane('browse')``."""
        return self.screen.PANE_MODE

    @property
    def title(self) -> str:
        return self.screen.PANE_TITLE


# Order = keys: the n-th pane gets digit n and F<n>.
PANES: list[PaneSpec] = [
    PaneSpec(TrainPane),
    PaneSpec(BrowsePane),
    PaneSpec(DebugPane),
    PaneSpec(OODPane),
    PaneSpec(TransitionsPane),
    PaneSpec(SeedsPane),
    PaneSpec(FourierPane),
]

# Mode names that recordings (``{"kind": "pane", "pane": ...}`` events) made before a
# pane was renamed still use.
PANE_ALIASES = {"compare": "seeds"}


def pane_mode(name: str) -> str | None:
    """The mode of a recorded pane name (an old name too); None for an unknown one."""
    mode = PANE_ALIASES.get(name, name)
    return mode if any(spec.mode == mode for spec in PANES) else None
