"""UI speed: epoch scrubbing per pane, and training throughput inside the app.

    PYTHONPATH=. python bench/ui_scrub.py [--presses 200] [--epochs 40] [--size 80x24]

1. Scrubbing, on the demo session: for each pane, the time from a key press (→, with
   ← at the right end) to the screen being re-rendered: ``pilot.press`` runs the key's
   action, ``pilot.pause`` then runs the compositor refresh that renders every changed
   widget (the same work a real terminal frame costs, minus the write). p50 / p95 over
   ``--presses`` presses; goal p95 < 50 ms.
2. Training: epochs/s of the blog preset, headless (``record_run`` into a session, as
   ``grutui train`` does) against the app training the same config with the Train
   pane (then the Browse pane) visible, in the same process. Rates come from the
   trainer's own wall clock (start-up excluded). Goal: app ≥ 85 % of headless.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from textual import events
from textual.screen import Screen

from grutui.core.config import preset
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.core.train import train
from grutui.core.writer import SessionWriter
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


async def app_rate(cfg: object, out: Path, pane: str) -> float:
    app = GrutuiApp(new=(cfg, out, True), start_pane=pane)  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.data is not None
        m = app.data.metrics
        n = app.data.n_epochs
        return (n - 1) / float(m.wall_time[-1] - m.wall_time[0])


def headless_rate(cfg: object, out: Path) -> float:
    with SessionWriter(out, cfg, overwrite=True) as w:  # type: ignore[arg-type]
        last = first = None
        n = 0
        for rec in train(cfg):  # type: ignore[arg-type]
            w.append(rec)
            first = first if first is not None else rec.wall_time
            last = rec.wall_time
            n += 1
        assert first is not None and last is not None
        return (n - 1) / (last - first)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--size", default="80x24")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (0: all cores); 1 keeps a shared machine from oversubscribing",
    )
    ap.add_argument("--skip-train", action="store_true")
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
    if args.skip_train:
        return
    cfg = preset("blog").replace(epochs=args.epochs, threads=args.threads or os.cpu_count() or 1)
    print(
        f"training {args.epochs} epochs of the blog preset, {cfg.threads} threads, "
        f"{args.repeats} interleaved rounds (best of each: the machine is shared)"
    )
    rates: dict[str, list[float]] = {"headless": [], "train": [], "browse": []}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        for i in range(args.repeats):
            rates["headless"].append(headless_rate(cfg, t / f"headless{i}"))
            for pane in ("train", "browse"):
                rates[pane].append(asyncio.run(app_rate(cfg, t / f"app-{pane}{i}", pane)))
    base = max(rates["headless"])
    print(f"  headless            {base:7.2f} epochs/s   (all: {_fmt(rates['headless'])})")
    for pane in ("train", "browse"):
        r = max(rates[pane])
        print(
            f"  app, {pane:<6} pane   {r:7.2f} epochs/s = {100 * r / base:5.1f} % of headless"
            f"   goal ≥ 85 %: {'ok' if r >= 0.85 * base else 'MISSED'}   (all: {_fmt(rates[pane])})"
        )


def _fmt(xs: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in xs)


if __name__ == "__main__":
    main()
