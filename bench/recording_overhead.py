"""Cost of recording user actions while scrubbing.

    PYTHONPATH=. python bench/recording_overhead.py [--presses 150] [--calls 100000]

1. ``GrutuiApp.record`` per call (a cursor move), with recording on (an
   ``ActionRecorder`` on a temporary session directory) against off, in µs.
2. Scrubbing the demo session (bench/ui_scrub.py's key-to-frame latency, Train and
   Browse panes) with and without recording; the ratio p50(on) / p50(off) should be
   ≈ 1 (the machine is shared: differences of a few % are noise).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import ui_scrub
from grutui.core.events import read_events
from grutui.core.paths import EVENTS_NAME
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp

RECORD_DIR: Path | None = None


class RecordingApp(GrutuiApp):
    """The app as opened on a session: recording into ``RECORD_DIR``."""

    def on_mount(self) -> None:
        super().on_mount()
        assert RECORD_DIR is not None
        self.start_recording(RECORD_DIR)


def per_call(calls: int, recording: bool, directory: Path) -> float:
    app = GrutuiApp()
    if recording:
        app.start_recording(directory)
        assert app.recorder is not None
    t0 = time.perf_counter()
    for i in range(calls):
        app.record("cursor", epoch=i % 3000, member=0, via="step+1")
    dt = time.perf_counter() - t0
    app.stop_recording()
    return dt / calls * 1e6


def main() -> None:
    global RECORD_DIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=150)
    ap.add_argument("--calls", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        RECORD_DIR = Path(tmp)
        off = per_call(args.calls, False, RECORD_DIR)
        on = per_call(args.calls, True, RECORD_DIR)
        n = len(read_events(RECORD_DIR / EVENTS_NAME))
        print(f"record() per cursor move: off {off:.2f} µs, on {on:.2f} µs")
        print(f"  {args.calls} calls in a tight loop logged {n} coalesced cursor events")
        with Session(ui_scrub.DEMO) as s:
            data = RunData.from_session(s)
        print(f"scrubbing {ui_scrub.DEMO.name}, {args.presses} presses, p50 key-to-frame")
        for pane in ("train", "browse"):
            res: dict[bool, float] = {}
            for rec in (False, True, False, True):  # interleaved: drift shows
                ui_scrub.GrutuiApp = RecordingApp if rec else GrutuiApp  # type: ignore[misc]
                ms: Any = asyncio.run(ui_scrub.scrub(pane, data, args.presses, (80, 24)))
                p50 = statistics.median(ms) * 1000
                res[rec] = min(res.get(rec, float("inf")), p50)
            print(
                f"  {pane:<7} off {res[False]:6.2f} ms  on {res[True]:6.2f} ms"
                f"  ratio on/off {res[True] / res[False]:.3f}"
            )
        ui_scrub.GrutuiApp = GrutuiApp  # type: ignore[misc]


if __name__ == "__main__":
    main()
