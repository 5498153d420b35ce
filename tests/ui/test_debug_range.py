"""Debug pane: a value outside the session's task range is refused inline, at its column
(the pane uses the same parser and task check as ``grutui trace``)."""

from __future__ import annotations

from grutui.core.rundata import RunData
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.debug import DebugPane


async def test_out_of_range_value_is_an_inline_error(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="debug")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DebugPane)
        before = list(screen.steps)
        await pilot.press("i", "ctrl+a", "ctrl+k", *"12:0 1e30:1", "enter")
        err = str(screen.query_one("#debug-error").render())
        assert "column 6" in err and "outside the task's range 0..99" in err, err
        assert screen.steps == before  # the last good sequence stays
