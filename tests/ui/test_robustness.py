"""The app under a hostile hand: keys faster than screens close, degenerate sessions,
and every way to end it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.app import App
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from grutui.ui.bookmarks import BookmarkListDialog, BookmarkNoteDialog
from grutui.ui.dialogs import GotoDialog, HelpScreen, Palette
from grutui.ui.panes.base import PaneScreen
from grutui.ui.panes.registry import PANES
from tests.helpers import make_session, shown, tiny_config, until

SIZE = (80, 24)
PANE_KEY = {spec.mode: str(i) for i, spec in enumerate(PANES, start=1)}


def settled(app: App[object]) -> bool:
    """No background job is running (the watcher of an opened session runs until
    the app closes)."""
    return all(w.is_finished for w in app.workers if w.group != "watch")


async def show_pane(app: GrutuiApp, pilot: Pilot[None], pane: str) -> bool:
    """Press ``pane``'s key: True once it shows; False for a pane that does not apply
    to the session's task, whose key changes nothing."""
    before = app.current_mode
    await pilot.press(PANE_KEY[pane])
    if app.pane_unavailable(pane) is not None:
        await pilot.pause()
        assert app.current_mode == before and app.is_running
        return False
    await until(pilot, lambda: app.current_mode == pane and app.screen.is_mounted)
    return True


def burst(app: App[object], *keys: str) -> None:
    """Keys as a fast typist sends them: all queued before the app handles the first
    (``Pilot.press`` waits for the app to settle after each key)."""
    for key in keys:
        app.post_message(events.Key(key, "\r" if key == "enter" else key))


@pytest.mark.parametrize(
    ("open_keys", "dialog", "then"),
    [
        (("b",), BookmarkNoteDialog, PaneScreen),
        (("B",), BookmarkListDialog, PaneScreen),
        (("ctrl+p", *"go to"), CommandPalette, GotoDialog),  # the command runs once
        (("g", "3"), GotoDialog, PaneScreen),
        (("question_mark",), HelpScreen, PaneScreen),
    ],
)
async def test_enter_twice_quickly_closes_a_dialog_once(
    demo_data: RunData, open_keys: tuple[str, ...], dialog: type, then: type
) -> None:
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PaneScreen))
        app.bookmarks.add(app.epoch, "seen")  # the list has a row to choose
        await pilot.press(*open_keys)
        await until(pilot, lambda: isinstance(app.screen, dialog))
        burst(app, *(("escape", "escape") if dialog is HelpScreen else ("enter", "enter")))
        await until(pilot, lambda: isinstance(app.screen, then))
        assert len(app.screen_stack) == (1 if then is PaneScreen else 2)
        assert app.is_running
        await pilot.press("1")
        await until(pilot, lambda: app.current_mode == "train")


@pytest.fixture(scope="module")
def diverged_at_0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose first epoch is already NaN (a huge learning rate): one epoch."""
    return make_session(tmp_path_factory.mktemp("sessions") / "diverged", tiny_config(lr=1e30))


@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_session(tmp_path_factory.mktemp("sessions") / "one", tiny_config(epochs=1))


@pytest.mark.parametrize("which", ["diverged_at_0", "one_epoch"])
@pytest.mark.parametrize("pane", [spec.mode for spec in PANES])
async def test_every_pane_shows_a_one_epoch_session(
    which: str, pane: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(which)
    app = GrutuiApp(session=path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PaneScreen))
        assert app.data is not None and app.data.n_epochs == 1
        if not await show_pane(app, pilot, pane):
            return
        await until(pilot, lambda: settled(app))
        await pilot.press("right", "left", "end", "home", "down", "up", "less_than_sign")
        await until(pilot, lambda: settled(app))
        assert app.is_running
        assert "epoch 0/0" in shown(app, "CursorBar")


@pytest.mark.parametrize("pane", ["train", "debug"])  # debug: with its input focused
async def test_ctrl_c_quits_like_q_and_stops_the_run(tmp_path: Path, pane: str) -> None:
    out = tmp_path / "run"
    app = GrutuiApp(new=(tiny_config(epochs=100_000), out, False), start_pane=pane)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.data is not None and app.data.n_epochs >= 1)
        if pane == "debug":
            await pilot.press("i")
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not app.is_running)
    with Session(out) as s:
        last = s.events()[-1]
    assert last["kind"] == "stop" and last["reason"] == "user"


@pytest.mark.parametrize("key", ["pagedown", "pageup"])
async def test_page_keys_in_the_palette_while_its_list_has_no_height(
    demo_data: RunData, key: str
) -> None:
    # found by the key storm: the palette's list has its hits but no height yet (the
    # instant it appears; here, for good, a terminal too short for it), and Textual's
    # page move looked up a line that was not there (KeyError)
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=(80, 4)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PaneScreen))
        await pilot.press("ctrl+p", *"go")
        await until(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press(key, key)
        assert app.is_running
        await pilot.press("escape", "2")
        await until(pilot, lambda: app.current_mode == "browse")


async def test_page_keys_in_the_palette_still_page(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PaneScreen))
        await pilot.press("ctrl+p")
        hits = app.screen.query_one(CommandList)
        await until(pilot, lambda: hits.option_count > 5 and bool(hits.scrollable_content_region))
        await pilot.press("down", "pagedown")
        paged = hits.highlighted or 0
        assert paged > 1  # a page, not a line
        await pilot.press("pageup")
        assert (hits.highlighted or 0) < paged - 1


async def test_a_palette_opens_while_another_pane_has_one_open(demo_data: RunData) -> None:
    # found by the key storm: each pane (a Textual mode) keeps its own screens, and a
    # palette left open in one gave the next palette, elsewhere, a duplicate id
    # (DuplicateIds ended the app); it also holds for one still closing
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PaneScreen))
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        app.switch_mode("browse")  # as a palette command run late would
        await until(pilot, lambda: isinstance(app.screen, PaneScreen))
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        burst(app, "escape", "ctrl+p", "escape", "ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        assert app.is_running
        await pilot.press("escape", "1")
        await until(pilot, lambda: app.current_mode == "train")
        assert isinstance(app.screen, CommandPalette)  # the one left open there


async def test_the_theme_list_is_our_palette(demo_data: RunData) -> None:
    # the palette's Theme command opens a second palette: guarded the same way (its page
    # keys in a terminal too short for its list ended the app, as in the first)
    app = GrutuiApp(data=demo_data)
    async with app.run_test(size=(80, 4)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PaneScreen))
        app.search_themes()
        await until(pilot, lambda: isinstance(app.screen, Palette))
        await until(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("pagedown", "pageup")
        assert app.is_running
        await pilot.press("escape", "2")
        await until(pilot, lambda: app.current_mode == "browse")


@pytest.fixture(scope="module")
def other_tasks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny sessions of the built-in tasks the panes do not yet adapt to."""
    from dataclasses import replace

    from grutui.core.config import preset

    root = tmp_path_factory.mktemp("tasks")
    small = dict(hidden=3, epochs=3, snapshot_every=1, eval_every=1, threads=1, device="cpu")
    mod = replace(preset("grokking"), task=replace(preset("grokking").task, p=7), **small)
    flip = replace(
        preset("flipflop"),
        task=replace(preset("flipflop").task, seq_len=6, n_samples=40),
        batch_size=8,
        **small,
    )
    return {"modadd": make_session(root / "mod", mod), "flipflop": make_session(root / "ff", flip)}


@pytest.mark.parametrize("task", ["modadd", "flipflop"])
@pytest.mark.parametrize("pane", [spec.mode for spec in PANES])
async def test_every_pane_holds_a_session_of_another_task(
    other_tasks: dict[str, Path], task: str, pane: str
) -> None:
    # the panes that know only the adding problem say so; none may crash
    app = GrutuiApp(session=other_tasks[task])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PaneScreen))
        if pane == "ood":  # neither task has generalisation axes: no OOD pane
            assert app.pane_unavailable(pane) == f"the {task} task has no generalisation axes"
        if not await show_pane(app, pilot, pane):  # its key changes nothing
            return
        await until(pilot, lambda: settled(app))
        await pilot.press("left", "right", "down", "up", "n", "p", "less_than_sign")
        await until(pilot, lambda: settled(app))
        assert app.is_running
        assert "/2" in shown(app, "CursorBar")  # the cursor bar still answers
        if pane == "debug":  # traced in the task's own syntax, read out as its output
            assert "step 1/2" in shown(app, "#debug-trace")
            out = shown(app, "#debug-output")
            assert ("predicted" if task == "modadd" else "output/expected") in out
