"""Moving between ensemble members: `m` forward, `M` back, and a go-to-member prompt
that takes an index or a seed and reports bad input inline."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Label

from grutui.core.events import read_events
from grutui.core.paths import EVENTS_NAME
from grutui.ui.app import GrutuiApp
from grutui.ui.dialogs import GotoDialog, HelpScreen
from grutui.ui.widgets.cursorbar import CursorBar
from tests.helpers import make_session, tiny_config

SEEDS = (3, 5, 8, 9)


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = tiny_config(engine="fast", seeds=SEEDS, epochs=2)
    return make_session(tmp_path_factory.mktemp("ens") / "run", cfg)


def _bar(app: GrutuiApp) -> str:
    return str(app.screen.query_one(CursorBar).render())


def _error(app: GrutuiApp) -> str:
    return str(app.screen.query_one("#goto-error", Label).render())


async def test_member_keys_both_ways_and_go_to(ensemble: Path) -> None:
    before = len(read_events(ensemble / EVENTS_NAME))
    app = GrutuiApp(session=ensemble, start_pane="browse")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("M")  # back from the first wraps to the last
        assert app.member == 3 and "member 3/3" in _bar(app)
        await pilot.press("M")
        assert app.member == 2
        await pilot.press("m")
        assert app.member == 3
        await pilot.press("number_sign")
        assert isinstance(app.screen, GotoDialog)
        label = str(app.screen.query_one(Label).render())
        assert "index 0..3" in label and "s<seed>" in label and "3,5,8-9" in label
        await pilot.press(*"7", "enter")  # no member 7: the dialog stays, says why
        assert isinstance(app.screen, GotoDialog) and "member 7 out of range" in _error(app)
        await pilot.press("ctrl+u", *"s4", "enter")
        assert "no member has seed 4" in _error(app)
        await pilot.press("ctrl+u", *"x", "enter")
        assert "index or s<seed>" in _error(app)
        await pilot.press("ctrl+u", *"s5", "enter")  # seed 5 is member 1
        assert not isinstance(app.screen, GotoDialog)
        assert app.member == 1 and "member 1/3" in _bar(app)
        await pilot.press("ctrl+g", "0", "enter")  # the other key, by index
        assert app.member == 0
        await pilot.press("ctrl+g", "escape")
        assert not isinstance(app.screen, GotoDialog) and app.member == 0
    events = read_events(ensemble / EVENTS_NAME)[before:]
    assert [e["member"] for e in events if e["kind"] == "member"] == [3, 2, 3, 1, 0]


async def test_member_keys_are_in_the_help(ensemble: Path) -> None:
    app = GrutuiApp(session=ensemble)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = {desc: k for k, desc in app.help_sections()[0][1]}
        assert keys["Previous ensemble member"] == "M"
        assert keys["Go to an ensemble member by index or seed"] == "#, ^g"
        assert keys["Next ensemble member"] == "m"
