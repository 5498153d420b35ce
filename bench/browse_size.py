"""Browse at real sizes: scrub and row-selection latency at hidden 64 and 128.

    PYTHONPATH=. python bench/browse_size.py [--hidden 64 128] [--epochs 400]
        [--presses 100] [--size 80x24] [--keep DIR]

Each size is a synthetic session (weights on a random walk, one snapshot per epoch)
written with the real writer and read back as the app reads it; latencies are
``bench/ui_scrub.py``'s (key arrival → first frame rendered after the action).
``--keep DIR`` leaves the sessions there (``DIR/h64``…) to open with ``grutui open``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from textual import events

from bench.ui_scrub import pct, scrub
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from tests.helpers import random_params, synthetic_session


def make(path: Path, hidden: int, epochs: int, seed: int = 0) -> Path:
    """A session of ``epochs`` snapshots whose weights drift by a small random step."""
    rng = np.random.default_rng(seed)
    w = random_params(rng, hidden)
    weights = []
    for _ in range(epochs):
        w = {k: v + rng.normal(scale=0.01, size=v.shape).astype(np.float32) for k, v in w.items()}
        weights.append(w)
    loss = np.exp(-np.linspace(0, 5, epochs))
    return synthetic_session(path, weights, loss, test_loss=loss)


async def rows(data: RunData, presses: int, size: tuple[int, int]) -> list[float]:
    """↓ presses on Browse: key arrival → the first frame after the selection moved."""
    from bench.ui_scrub import FrameClock
    from grutui.ui.panes.browse import BrowsePane

    app = GrutuiApp(data=data, start_pane="browse")
    times: list[float] = []
    clock = FrameClock()
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, BrowsePane)
        clock.install()
        try:
            for _ in range(presses):
                before = screen.sel
                t0 = time.perf_counter()
                app.post_message(events.Key("down", None))
                while screen.sel == before:
                    await asyncio.sleep(0)
                moved = time.perf_counter()
                while not (clock.stamps and clock.stamps[-1] > moved):
                    await asyncio.sleep(0)
                times.append(clock.stamps[-1] - t0)
                await pilot.pause()
        finally:
            clock.remove()
    return times


def report(what: str, times: list[float]) -> None:
    ms = [t * 1000 for t in times]
    p95 = pct(ms, 0.95)
    print(
        f"  {what:<16} p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms"
        f"   max {max(ms):7.1f} ms   goal p95 < 50 ms: {'ok' if p95 < 50 else 'MISSED'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--presses", type=int, default=100)
    ap.add_argument("--size", default="80x24")
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        for hidden in args.hidden:
            path = root / f"h{hidden}"
            if not (path / "session.h5").exists():
                make(path, hidden, args.epochs)
            with Session(path) as s:
                data = RunData.from_session(s)
            print(f"browse at hidden {hidden}, {data.n_epochs} epochs, {w}x{h}")
            report("scrub ←/→", asyncio.run(scrub("browse", data, args.presses, (w, h))))
            report("row ↓", asyncio.run(rows(data, args.presses, (w, h))))


if __name__ == "__main__":
    main()
