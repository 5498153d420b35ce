"""The shipped demo, tracked by git, stays clean after a look in the app: recordings,
bookmarks, the strategy-history cache and exports go to the per-user data dir (the
test's own, through ``GRUTUI_DATA_DIR``), and are read back from there."""

from __future__ import annotations

from pathlib import Path

from grutui.core.analysis.rowcache import ANALYSIS_NAME
from grutui.core.events import read_events
from grutui.core.paths import EVENTS_NAME, store_dir
from grutui.core.replay import Timeline
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from grutui.ui.bookmarks import BookmarkNoteDialog
from grutui.ui.panes.ood import OODPane
from tests.helpers import DEMO, git, tracked_copy, until

SIZE = (100, 30)


async def test_a_tracked_demo_stays_clean_and_its_files_go_to_the_data_dir(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = tmp_path / "clone"
    demo = tracked_copy(DEMO, repo)

    app = GrutuiApp(session=demo, start_pane="ood")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.data is not None and app.data.n_epochs > 0)
        assert app.recorder is not None and app.recorder.enabled
        last = app.epoch
        await pilot.press("left", "left")  # the cursor moves
        await pilot.press("b")
        assert isinstance(app.screen, BookmarkNoteDialog)
        await pilot.press(*"look", "enter")
        screen = app.screen
        assert isinstance(screen, OODPane)
        screen.samples = 10
        await pilot.press("v")  # the strategy history, computed and cached
        await until(pilot, lambda: app.analyses.history_for(0, 10) is not None, timeout=60)
        marked = app.epoch
        assert marked < last
        side = store_dir(demo)
        csv = side / f"{DEMO.name}-metrics.csv"
        await pilot.press("x")  # export
        await until(pilot, csv.is_file)
    assert side.parent == data_dir / "sessions"
    assert git(repo, "status", "--porcelain", "--ignored") == ""
    kinds = [e["kind"] for e in read_events(side / EVENTS_NAME)]
    assert "cursor" in kinds and "bookmark" in kinds
    assert (side / ANALYSIS_NAME).is_file()
    assert (side / f"{DEMO.name}-ood-e{marked}.svg").is_file()

    # read back from the data dir: the bookmark list, and the actions a replay shows
    again = GrutuiApp(session=demo)
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: again.data is not None and again.data.n_epochs > 0)
        assert [(b.epoch, b.note) for b in again.bookmarks.items()] == [(marked, "look")]
    with Session(demo) as s:
        timeline = Timeline.from_session(s)
    end = timeline.state_at(timeline.duration)
    assert end.cursor == marked and end.bookmarks.keys() == {marked}
    assert git(repo, "status", "--porcelain", "--ignored") == ""
