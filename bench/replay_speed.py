"""Replay of the demo session (3000 epochs) at the default speed: frame cost per pane.

    PYTHONPATH=. python bench/replay_speed.py [--frames N]

The replay clock is driven by a fake clock stepped by one timer period (``TICK``) per
frame, so every frame of a real replay is drawn, as fast as the machine allows. Per
frame: the replayer's tick (grow the run by the rows that appeared, apply actions) and
tick → rendered frame (bench/ui_scrub.py's frame stamps). A replay always takes
``duration / speed`` seconds (the position comes from the clock); slow frames only
thin the frame rate (``FRAME_SPACING``): the rate shown is what the timer then draws.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from bench.ui_scrub import FrameClock
from grutui.ui.app import GrutuiApp
from grutui.ui.replay import FRAME_SPACING, TICK

DEMO = Path(__file__).resolve().parent.parent / "sessions" / "blog-seed37"


class Fake:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def replay(pane: str, frames: int | None) -> dict[str, float]:
    clock = Fake()
    app = GrutuiApp(session=DEMO, replay=1.0, replay_clock=clock, start_pane=pane)
    ticks: list[float] = []
    lat: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rp = app.replayer
        assert rp is not None and app.data is not None
        rp.clock.set_speed(rp.timeline.default_speed)  # what `grutui replay` uses
        total = int(rp.timeline.duration / rp.clock.speed / TICK) + 1
        stamps = FrameClock()
        stamps.install()
        try:
            for _ in range(min(total, frames or total)):
                clock.now += TICK
                t0 = time.perf_counter()
                rp.tick()
                t1 = time.perf_counter()
                ticks.append(t1 - t0)
                while not (stamps.stamps and stamps.stamps[-1] > t1):
                    if time.perf_counter() - t1 > 0.5:  # nothing changed: no frame
                        break
                    await asyncio.sleep(0)
                else:
                    lat.append(stamps.stamps[-1] - t0)
                await pilot.pause()
        finally:
            stamps.remove()
        tick = statistics.median(ticks)
        return {
            "frames": len(ticks),
            "epochs": app.data.n_epochs,
            "speed": rp.clock.speed,
            "seconds": rp.timeline.duration / rp.clock.speed,
            "tick": tick * 1000,
            "p50": statistics.median(lat) * 1000,
            "p95": sorted(lat)[int(0.95 * (len(lat) - 1))] * 1000,
            "fps": 1 / max(TICK, FRAME_SPACING * tick),
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=None, help="stop after N frames")
    args = ap.parse_args()
    for pane in ("train", "browse", "debug"):
        r = asyncio.run(replay(pane, args.frames))
        print(
            f"{pane:<7} {r['frames']:.0f} frames, {r['epochs']:.0f} epochs at ×{r['speed']:.3g}"
            f" = {r['seconds']:.1f} s (goal < 60 s: {'ok' if r['seconds'] < 60 else 'MISSED'});"
            f" tick {r['tick']:.1f} ms, tick→frame p50 {r['p50']:.1f} p95 {r['p95']:.1f} ms,"
            f" timer draws {r['fps']:.1f} frames/s"
        )


if __name__ == "__main__":
    main()
