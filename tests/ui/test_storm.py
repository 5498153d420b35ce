"""A seeded key storm: thousands of random keys in every pane, on the demo, on a run
that diverged at epoch 0 and on a small ensemble. The app must still be running and
answering at the end, with no worker error shown.

Keys arrive in bursts (queued before the app handles the first, as from a fast or
hostile hand), then the app is let settle: ``Pilot.press`` would wait for the app to
go idle after every key. Keys that quit by design (q, ctrl+c, the palette's Quit) are
counted by the subclass below instead of ending the storm: the app itself is as
shipped. A failing storm names its seed and burst; rerun with that seed to replay it.
"""

from __future__ import annotations

import hashlib
import os
import random
import string
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.worker import Worker, WorkerState

from grutui.ui.app import GrutuiApp
from grutui.ui.panes.base import PaneScreen
from grutui.ui.panes.registry import PANES
from tests.helpers import DEMO, make_session, tiny_config, until

SIZE = (80, 24)
# STORM_KEYS=5000 storms harder (locally: the suite keeps within its CPU budget)
KEYS_PER_PANE = int(os.environ.get("STORM_KEYS", 300))  # x 6 panes x 3 sessions
BURST = int(os.environ.get("STORM_BURST", 30))  # keys queued at once before the app settles

# (key, character) as a terminal sends them
_NAMED: list[tuple[str, str | None]] = [
    *((k, None) for k in ("up", "down", "left", "right", "pageup", "pagedown", "home", "end")),
    *((f"shift+{k}", None) for k in ("up", "down", "left", "right")),
    ("enter", "\r"),
    ("escape", "\x1b"),
    ("tab", "\t"),
    ("backspace", "\x7f"),
    ("space", " "),
    ("ctrl+p", "\x10"),
    ("ctrl+c", "\x03"),
    ("ctrl+g", "\x07"),
    ("ctrl+s", "\x13"),
    ("less_than_sign", "<"),
    ("greater_than_sign", ">"),
    ("number_sign", "#"),
    ("question_mark", "?"),
    ("full_stop", "."),
    ("comma", ","),
    ("slash", "/"),
    ("colon", ":"),
    ("left_square_bracket", "["),
    ("right_square_bracket", "]"),
]
_CHARS = [(c, c) for c in string.ascii_letters + string.digits]
# the keys the app is most likely to break on, several times as likely as a letter
_HOT = [(k, k) for k in ("b", "B", "m", "M", "g", "x", "q", "n", "p", "i", "e", "s")] + [
    ("enter", "\r"),
    ("escape", "\x1b"),
    ("ctrl+p", "\x10"),
]
POOL = _NAMED + _CHARS + 3 * _HOT


class Stormproof(GrutuiApp):
    """The app as shipped, except that a quit request is counted, not obeyed, and
    worker errors (the ones the app shows) are listed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quit_requests = 0
        self.worker_errors: list[str] = []

    async def action_quit(self) -> None:  # q, ctrl+c and the palette's Quit
        self.quit_requests += 1

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.worker_errors.append(f"{event.worker.group}: {event.worker.error!r}")
        super().on_worker_state_changed(event)


def _tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def diverged_at_0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose first epoch is already NaN (losses and weights): one epoch."""
    return make_session(tmp_path_factory.mktemp("storm") / "diverged", tiny_config(lr=1e30))


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = tiny_config(engine="fast", seeds=(0, 1, 2, 3), epochs=8, hidden=3)
    return make_session(tmp_path_factory.mktemp("storm") / "ensemble", cfg)


@pytest.fixture(autouse=True)
def _no_home_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The palette's Screenshot saves to the user's downloads directory: a temporary
    home here, so a storm leaves nothing outside its temporary directories."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))


async def storm(app: Stormproof, pilot: Pilot[None], rng: random.Random, n: int, tag: str) -> None:
    for start in range(0, n, BURST):
        keys = [rng.choice(POOL) for _ in range(min(BURST, n - start))]
        for key, char in keys:
            app.post_message(events.Key(key, char))
        await pilot.pause(0)  # the queued keys handled (not: the CPU idle, workers too)
        assert app.is_running, f"{tag}: the app ended at burst {start // BURST}: {keys}"


async def responsive(app: Stormproof, pilot: Pilot[None], mode: str) -> None:
    """Whatever the storm left open (a dialog, the palette, the sequence field), Esc
    closes it; the pane key then shows the pane (each pane keeps its own dialogs: one
    left open there is closed by Esc too)."""
    key = str(next(i for i, spec in enumerate(PANES, start=1) if spec.mode == mode))
    await pilot.press("escape", "escape", "escape", "escape", key)
    await until(pilot, lambda: app.current_mode == mode)
    for _ in range(4):
        if isinstance(app.screen, PaneScreen):
            break
        await pilot.press("escape")
    state = f"stack {app.screen_stack}, focus {app.focused}"
    assert isinstance(app.screen, PaneScreen) and app.screen.is_mounted, state


@pytest.mark.parametrize(("which", "seed"), [("demo", 1), ("diverged_at_0", 2), ("ensemble", 3)])
async def test_a_key_storm_in_every_pane_leaves_the_app_running(
    which: str, seed: int, request: pytest.FixtureRequest
) -> None:
    path: Path = DEMO if which == "demo" else request.getfixturevalue(which)
    before = _tree(DEMO)
    rng = random.Random(seed)
    app = Stormproof(session=path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PaneScreen))
        # the panes that apply to the session's task (the others have no tab)
        panes = [spec.mode for spec in PANES if app.pane_unavailable(spec.mode) is None]
        for mode in panes:
            await responsive(app, pilot, mode)
            await storm(app, pilot, rng, KEYS_PER_PANE, f"{which} seed {seed} {mode}")
        await responsive(app, pilot, panes[0])
        await responsive(app, pilot, panes[-1])
        await until(pilot, lambda: all(w.is_finished for w in app.workers if w.group != "watch"))
        assert app.is_running
        assert app.worker_errors == []
    assert app.quit_requests > 0  # the storm did ask to quit; the app stayed for it
    assert _tree(DEMO) == before  # the demo is read-only to the app
