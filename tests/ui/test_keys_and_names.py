"""Pane keys are ordinary bindings the user can remap; each pane has one name (file,
class, mode); recordings that use a pane's former name still replay."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from grutui.core.paths import EVENTS_NAME
from grutui.core.recording import USER_ACTIONS
from grutui.core.rundata import RunData
from grutui.ui.app import GrutuiApp
from grutui.ui.dialogs import GotoDialog, HelpScreen
from grutui.ui.panes.registry import PANE_ALIASES, PANES, pane_mode
from grutui.ui.panes.seeds import SeedsPane
from tests.helpers import random_params, synthetic_session


def test_file_class_mode_and_title_of_each_pane_agree() -> None:
    for spec in PANES:
        cls = spec.screen
        assert cls.__module__ == f"grutui.ui.panes.{spec.mode}"
        assert cls.__name__.lower() == f"{spec.mode}pane"
        assert spec.title.lower() == spec.mode
    assert [s.mode for s in PANES] == [
        "train",
        "browse",
        "debug",
        "ood",
        "transitions",
        "seeds",
        "fourier",
    ]


def test_recorded_pane_names_resolve_to_modes() -> None:
    assert pane_mode("compare") == "seeds"  # the Seeds pane's former mode
    assert pane_mode("seeds") == "seeds" and pane_mode("train") == "train"
    assert pane_mode("nope") is None
    assert set(PANE_ALIASES.values()) <= {s.mode for s in PANES}


async def test_set_keymap_remaps_a_pane_key(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data)
    app.set_keymap({"pane.browse.2": "w", "pane.debug.f": "f9"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.current_mode == "train"
        await pilot.press("2")  # not bound any more
        await pilot.pause()
        assert app.current_mode == "train"
        await pilot.press("w")
        await pilot.pause()
        assert app.current_mode == "browse"
        await pilot.press("f9")
        await pilot.pause()
        assert app.current_mode == "debug"
        await pilot.press("f3", "1")  # the other keys of the panes are unchanged
        await pilot.pause()
        assert app.current_mode == "train"
        await pilot.press("question_mark")  # the help lists the keys as remapped
        assert isinstance(app.screen, HelpScreen)
        keys = {desc: k for k, desc in app.help_sections()[0][1]}
        assert keys["Show the Browse pane"] == "w, f2"
        assert keys["Show the Debug pane"] == "3, f9"
        assert keys["Show the Train pane"] == "1, f1"


async def test_update_keymap_remaps_a_global_key(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=(80, 24)) as pilot:
        app.update_keymap({"cursor.goto": "o"})
        epoch = app.epoch
        await pilot.press("g")  # not bound any more: no dialog
        await pilot.pause()
        assert not isinstance(app.screen, GotoDialog)
        await pilot.press("o", *"12", "enter")
        await pilot.pause()
        assert app.epoch == 12 != epoch


async def test_a_recording_with_the_former_seeds_mode_replays(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    weights = [random_params(rng, 2, 2) for _ in range(6)]
    path = synthetic_session(tmp_path / "run", weights, np.ones((6, 2)))
    t0 = 1_700_000_000.0
    events = [
        {"t": t0, "kind": "clock", "epoch": 0, "wall_time": 0.0},
        {"t": t0 + 2.5, "kind": "pane", "epoch": 2, "pane": "compare"},
    ]
    (path / EVENTS_NAME).write_text("".join(json.dumps(e) + "\n" for e in events))
    app = GrutuiApp(session=path, replay=1.0, replay_clock=lambda: 0.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.replayer is not None and app.current_mode == "train"
        await pilot.press("space", "e")  # paused, then to the pane event
        await pilot.pause()
        assert app.current_mode == "seeds"
        assert isinstance(app.screen, SeedsPane)


async def test_the_app_records_actions_in_the_event_logs_words(
    recording_app: Callable[[], tuple[GrutuiApp, Any]],
) -> None:
    app, seen = recording_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("left", "3")
        await pilot.pause()
        await pilot.press("i", *"5:1 7:1", "enter", "n")
        await pilot.pause()
    kinds = {k for k, _ in seen}
    assert {"cursor", "pane", "sequence", "step"} <= kinds
    assert kinds <= set(USER_ACTIONS)  # what the log and the replay read
    fields = dict(seen)
    assert fields["step"]["step"] == 1 and fields["sequence"]["text"] == "5:1 7:1"
