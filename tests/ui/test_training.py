"""Training inside the app: start, pause, resume, stop, quit; the live-follow rule."""

from __future__ import annotations

import threading
from pathlib import Path

from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from tests.conftest import tiny_config


async def test_new_run_trains_to_the_end_and_closes_its_session(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=6)
    out = tmp_path / "run"
    app = GrutuiApp(new=(cfg, out, False))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.data is not None and app.data.n_epochs == 6
        assert app.epoch == 5  # followed the run from the start
        assert app.run_status == "finished"
    with Session(out) as s:
        assert s.n_epochs == 6
        assert [e["kind"] for e in s.events()][-1] == "finish"
    assert not [t for t in threading.enumerate() if "grutui" in t.name.lower()]
