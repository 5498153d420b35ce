"""UI speed: epoch scrubbing per pane (training in the app: ``bench/app_training.py``).

    PYTHONPATH=. python bench/ui_scrub.py [--presses 200] [--size 80x24]

Scrubbing, on the demo session: for each pane, the time from a key press (→, with ←
at the right end) to the screen being re-rendered: ``pilot.press`` runs the key's
action, ``pilot.pause`` then runs the compositor refresh that renders every changed
widget (the same work a real terminal frame costs, minus the write). p50 / p95 over
``--presses`` presses; goal p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from textual import events
from textual.screen import Screen

from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import PANES, GrutuiApp

DEMO = Path(__file__).resolve().parent.parent / "sessions" / "blog-seed37"


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


class FrameClock:
    """Stamps every frame a screen renders (a layout pass or a compositor refresh)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self._saved: list[tuple[str, object]] = []

    def install(self) -> None:
        for name in ("_compositor_refresh", "_refresh_layout"):
            orig = getattr(Screen, name)
            self._saved.append((name, orig))

            def stamped(screen: Screen, *a: object, _orig: object = orig, **k: object) -> None:
                _orig(screen, *a, **k)  # type: ignore[operator]
                self.stamps.append(time.perf_counter())

            setattr(Screen, name, stamped)

    def remove(self) -> None:
        for name, orig in self._saved:
            setattr(Screen, name, orig)


async def scrub(pane: str, data: RunData, presses: int, size: tuple[int, int]) -> list[float]:
    """Post each key as the terminal driver does and wait for the first frame rendered
    after the action ran: latency = that frame's end − the key's arrival. It includes
    waiting for Textual's update timer (≤ 1/TEXTUAL_FPS), as a user would see."""
    app = GrutuiApp(data=data, start_pane=pane)
    times: list[float] = []
    clock = FrameClock()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("end", "pageup", "pageup")
        await pilot.pause(0.2)
        clock.install()
        try:
            key = "right"
            for _ in range(presses):
                if app.epoch >= data.last_epoch:
                    key = "left"
                elif app.epoch <= data.first_epoch:
                    key = "right"
                before = app.epoch
                t0 = time.perf_counter()
                app.post_message(events.Key(key, None))
                while app.epoch == before:
                    await asyncio.sleep(0)
                moved = time.perf_counter()
                while not (clock.stamps and clock.stamps[-1] > moved):
                    await asyncio.sleep(0)
                times.append(clock.stamps[-1] - t0)
                await pilot.pause()  # settle before the next press
        finally:
            clock.remove()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=200)
    ap.add_argument("--size", default="80x24")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with Session(DEMO) as s:
        data = RunData.from_session(s)
    print(f"scrubbing {DEMO.name} ({data.n_epochs} epochs) at {w}x{h}, {args.presses} presses")
    for spec in PANES:
        times = asyncio.run(scrub(spec.mode, data, args.presses, (w, h)))
        ms = [t * 1000 for t in times]
        p95 = pct(ms, 0.95)
        print(
            f"  {spec.mode:<8} p50 {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms"
            f"   max {max(ms):6.1f} ms   goal p95 < 50 ms: {'ok' if p95 < 50 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
