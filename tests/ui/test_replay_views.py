"""A pane's own view keys (Seeds d/l, Fourier v/↑/↓/c, OOD e/v/s/r, Transitions ↑/↓/+/-/r,
Debug f/↑/↓, Browse ↑/↓/h/l/H/L/t) are recorded as ``view`` events and a replay shows
the same view: real keys pressed in an app on a session, its event log read back by a
replaying app (80×24), nothing sleeps (the replay runs on a fake clock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grutui.core.analysis.degeneracy import LEVELS
from grutui.core.events import read_events
from grutui.core.paths import EVENTS_NAME
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.base import PaneScreen
from grutui.ui.panes.seeds import MARK, SeedsPane
from tests.helpers import (
    REPLAY_EPOCHS,
    REPLAY_T0,
    FakeClock,
    random_task_session,
    replay_session,
    shown,
    tiny_modadd_config,
    until,
    write_replay_log,
)
from tests.ui.test_panes_analysis import ensemble_data
from tests.ui.test_seeds_degeneracy import settle

SIZE = (80, 24)
EPOCHS = REPLAY_EPOCHS
T0 = REPLAY_T0


def _pane(app: GrutuiApp, mode: str) -> PaneScreen | None:
    """The pane ``mode`` once it is on screen and mounted."""
    screen = app.visible_pane()
    return screen if screen is not None and mode == screen.PANE_MODE else None


async def _replayed_to_the_end(app: GrutuiApp, pilot: Any, mode: str) -> PaneScreen:
    """Jump the replay to its end and wait for pane ``mode`` to show what was recorded
    last (the replay's own timer applies it once the pane is mounted)."""
    rp = app.replayer
    assert rp is not None
    await pilot.press("dollar_sign")
    want = rp.clock.state().views.get(mode)
    assert want is not None
    await until(pilot, lambda: (p := _pane(app, mode)) is not None and p.view_state() == want)
    pane = _pane(app, mode)
    assert pane is not None
    return pane


async def _jobs_done(app: GrutuiApp, pilot: Any) -> None:
    """Let the analysis jobs finish and the UI apply what they posted (the watcher of a
    session opened from disk runs until the app closes)."""
    for _ in range(3):
        jobs = [w for w in app.workers if w.group != "watch"]
        if jobs:
            await app.workers.wait_for_complete(jobs)
        await pilot.pause()


def _view_events(path: Path) -> list[dict[str, Any]]:
    return [e for e in read_events(path / EVENTS_NAME) if e["kind"] == "view"]


# -- the Seeds pane: the degeneracy view and its level --------------------------------


async def test_seeds_degeneracy_view_and_level_replay(tmp_path: Path) -> None:
    path = tmp_path / "ens"
    ensemble_data(path, members=3, epochs=6)
    first = LEVELS.index("dynamics")  # the default level
    after = [LEVELS[(first + i) % len(LEVELS)] for i in (1, 2)]
    level = after[-1]
    app = GrutuiApp(session=path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await until(pilot, lambda: _pane(app, "seeds") is not None)
        await settle(app, pilot)
        await pilot.press("d", "l", "l")
        await settle(app, pilot)
        pane = app.screen
        assert isinstance(pane, SeedsPane) and pane.view == "degeneracy" and pane.level == level
        recorded = pane.view_state()
        assert f"{MARK}{level}" in shown(app, "#cmp-content")
    views = _view_events(path)
    assert [e["pane"] for e in views] == ["seeds"] * 3
    assert [e["state"]["level"] for e in views] == ["dynamics", *after]
    assert views[-1]["state"] == recorded and views[-1]["epoch"] == 5

    replay = GrutuiApp(session=path, replay=1.0, replay_clock=FakeClock())
    async with replay.run_test(size=SIZE) as pilot:
        pane = await _replayed_to_the_end(replay, pilot, "seeds")
        assert isinstance(pane, SeedsPane)
        assert pane.view == "degeneracy" and pane.level == level
        await settle(replay, pilot)
        body = shown(replay, "#cmp-content")
        assert f"{MARK}{level}" in body  # the level marked, its matrix below
        assert f"\n{level}: " in body
        assert "d: members  l: level" in shown(replay, "#cmp-title")
    assert len(_view_events(path)) == 3  # a replay records nothing


async def test_a_seek_back_shows_the_view_as_it_was_before_the_key(tmp_path: Path) -> None:
    path = replay_session(tmp_path / "run", members=2)
    write_replay_log(
        path,
        [
            {"t": T0 + 40.5, "kind": "pane", "epoch": EPOCHS - 1, "pane": "seeds"},
            {
                "t": T0 + 41.5,
                "kind": "view",
                "epoch": EPOCHS - 1,
                "pane": "seeds",
                "state": {"view": "degeneracy", "level": "weights"},
            },
        ],
    )
    app = GrutuiApp(session=path, replay=1.0, replay_clock=FakeClock())
    async with app.run_test(size=SIZE) as pilot:
        rp = app.replayer
        assert rp is not None
        await pilot.press("space", "dollar_sign")
        await until(pilot, lambda: getattr(_pane(app, "seeds"), "view", "") == "degeneracy")
        pane = app.screen
        assert isinstance(pane, SeedsPane) and pane.level == "weights"
        await pilot.press("E")  # back to the pane switch, before the key
        await until(pilot, lambda: pane.view == "members")
        assert pane.level == "dynamics" and app.current_mode == "seeds"
        await pilot.press("e")  # the key again
        await until(pilot, lambda: pane.view == "degeneracy")
        assert pane.level == "weights"


async def test_unknown_and_malformed_events_replay_without_harm(tmp_path: Path) -> None:
    path = replay_session(tmp_path / "run", members=2)
    e = EPOCHS - 1
    write_replay_log(
        path,
        [
            {"t": T0 + 40.1, "kind": "zoom", "epoch": 3, "factor": 2},  # a future kind
            {"t": T0 + 40.2, "kind": "view", "epoch": e, "pane": "nosuch", "state": {"x": 1}},
            {"t": T0 + 40.3, "kind": "view", "epoch": e, "pane": "seeds", "state": "flat"},
            {"t": T0 + 40.4, "kind": "view", "epoch": e, "pane": "seeds"},
            {"t": T0 + 40.5, "kind": "pane", "epoch": e, "pane": "seeds"},
            {
                "t": T0 + 40.6,
                "kind": "view",
                "epoch": e,
                "pane": "seeds",
                "state": {"view": 7, "level": ["weights"], "new": {"a": 1}},
            },
            {"t": T0 + 40.7, "kind": "pane", "epoch": e, "pane": "browse"},
            {
                "t": T0 + 40.8,
                "kind": "view",
                "epoch": e,
                "pane": "browse",
                "state": {"view": 1.0, "sel": True, "col": "x", "where": [[0, "a", 1], 5]},
            },
        ],
    )
    app = GrutuiApp(session=path, replay=1.0, replay_clock=FakeClock())
    async with app.run_test(size=SIZE) as pilot:
        rp = app.replayer
        assert rp is not None
        await pilot.press("space")
        for _ in range(5):  # through the first four to the switch to Seeds
            await pilot.press("e")
        await until(pilot, lambda: _pane(app, "seeds") is not None)
        await pilot.press("e")  # a frame applies it on the pane shown
        seeds = app.screen
        assert isinstance(seeds, SeedsPane)
        assert (seeds.view, seeds.level) == ("members", "dynamics")  # nothing it knows
        await pilot.press("dollar_sign")
        await until(pilot, lambda: _pane(app, "browse") is not None)
        rp.tick()
        browse = app.screen
        assert browse.view_state()["view"] == 0 and browse.view_state()["sel"] == 0
        await pilot.press("1")
        await until(pilot, lambda: _pane(app, "train") is not None)
        assert "zoom @ 3" in shown(app, "#train-events")  # listed, as before


# -- every other pane's view keys -----------------------------------------------------

ROUND_TRIPS = {
    # pane: (keys after the pane's digit, the session)
    "browse": ("2", ("j", "j", "l", "l", "t", "j"), "modadd"),
    "debug": ("3", ("f",), "adding"),
    "ood": ("4", ("e", "s", "v"), "adding"),
    "transitions": ("5", ("plus", "plus"), "adding"),
    "fourier": ("7", ("v", "v", "j", "c"), "modadd"),
}


@pytest.mark.parametrize("mode", list(ROUND_TRIPS))
async def test_a_panes_view_keys_replay(tmp_path: Path, mode: str) -> None:
    digit, keys, kind = ROUND_TRIPS[mode]
    if kind == "modadd":
        path = random_task_session(tmp_path / "run", tiny_modadd_config(hidden=4), epochs=4)
    else:
        path = replay_session(tmp_path / "run", epochs=8)
    app = GrutuiApp(session=path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(digit)
        await until(pilot, lambda: _pane(app, mode) is not None)
        pane = app.screen
        assert isinstance(pane, PaneScreen)
        await _jobs_done(app, pilot)
        before = pane.view_state()
        for key in keys:
            await pilot.press(key)
            await _jobs_done(app, pilot)
        recorded = pane.view_state()
        assert recorded != before  # the keys changed what the pane shows
        text = shown(app, "#browse-row") if mode == "browse" else ""
    views = _view_events(path)
    assert views and all(e["pane"] == mode for e in views)
    assert views[-1]["state"] == recorded

    replay = GrutuiApp(session=path, replay=1.0, replay_clock=FakeClock())
    async with replay.run_test(size=SIZE) as pilot:
        pane = await _replayed_to_the_end(replay, pilot, mode)
        assert pane.view_state() == recorded
        if mode == "browse":  # the selected token's row box, its cell marked
            assert shown(replay, "#browse-row") == text
