"""Layout snapshots of every pane on the demo session, at 80×24 and 160×48.

Regenerate after an intended layout change with
``pytest tests/ui/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest

from grutui.core.rundata import RunData
from grutui.ui.app import GrutuiApp

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
@pytest.mark.parametrize(
    ("pane", "keys"),
    [
        ("train", ("home", "pagedown", "pagedown")),  # epoch 20
        ("browse", ("g", *"1234", "enter", "down")),  # epoch 1234, gate z selected
        ("debug", ("g", *"1234", "enter", "n")),  # epoch 1234, step 2
    ],
)
def test_pane_layout(
    snap_compare: Any, demo_data: RunData, pane: str, keys: tuple[str, ...], size: tuple[int, int]
) -> None:
    app = GrutuiApp(data=demo_data, start_pane=pane)
    assert snap_compare(app, press=keys, terminal_size=size)
