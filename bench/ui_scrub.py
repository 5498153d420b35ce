"""UI speed: epoch scrubbing per pane and session size (training in the app:
``bench/app_training.py``).

    PYTHONPATH=. python bench/ui_scrub.py [--sizes demo,h64,h128,k64,k256,p97]
        [--panes train,ood,...] [--presses 200] [--size 80x24] [--then KEYS]

Sessions: ``demo`` is the shipped one (hidden 1, one member); the others are built in
memory in a few seconds (training them for real on a small CPU takes hours), with the
shapes a real run records: ``h64``/``h128`` the general preset at hidden 64/128, 400
epochs; ``k64``/``k256`` the blog preset with 64/256 members, 1000 epochs; ``p97`` the
grokking preset (modular addition, p = 97: 97 one-hot inputs, 97 classes) at hidden 64,
400 epochs. ``--then t`` presses keys after the pane switch (Browse: from a token map
to the gate rows) before scrubbing. Every epoch
is snapshotted (whatever the preset's ``snapshot_every``). Weights drift from a random start to a
random end, losses fall exponentially with noise: finite, so every analysis does its real
work.

Per (size, pane):

* **scrub**: the time from a key press (→, with ← at the right end) to the first frame
  rendered after the action ran (``pilot.pause`` runs the compositor refresh that renders
  every changed widget: what a terminal frame costs, minus the write). p50 / p95 / max.
  Goal p95 < 50 ms at hidden 64 and K = 64; usable (p95 < 150 ms) at hidden 128, K = 256.
* **switch**: the pane switch (its digit key) to its first frame, and the first → after.
* **new epoch** (panes computing in a worker: OOD, Seeds): a → to an epoch not computed
  yet; ``shown`` = its first frame (something useful at once), ``result`` = the frame
  showing that epoch's result.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from textual import events
from textual.screen import Screen

from grutui.core.config import preset
from grutui.core.layout import PARAM_NAMES, param_shapes
from grutui.core.records import EpochRecord
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import PANES, GrutuiApp
from grutui.ui.panes.analysis_base import AnalysisPane

DEMO = Path(__file__).resolve().parent.parent / "sessions" / "blog-seed37"
TIMEOUT = 120.0  # seconds to wait for a frame or a result before giving up
POLL = 0.001  # seconds between looks while a worker computes

# name → (preset, hidden, members, epochs, goal p95 in ms)
SIZES: dict[str, tuple[str, int, int, int, float]] = {
    "demo": ("blog", 1, 1, 0, 50.0),
    "h64": ("general", 64, 1, 400, 50.0),
    "h128": ("general", 128, 1, 400, 150.0),
    "k64": ("blog", 1, 64, 1000, 50.0),
    "k256": ("blog", 1, 256, 1000, 150.0),
    "p97": ("grokking", 64, 1, 400, 50.0),
}


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def synthetic_run(name: str, seed: int = 0) -> RunData:
    """A run of ``SIZES[name]``'s shape, with a snapshot every epoch."""
    pre, hidden, k, epochs, _goal = SIZES[name]
    seeds = tuple(range(k)) if k > 1 else ()
    # the grokking preset keeps a snapshot per 50 epochs: one each makes every key a new grid
    cfg = preset(pre).replace(
        hidden=hidden, epochs=epochs, seeds=seeds, device="cpu", snapshot_every=1
    )
    rng = np.random.default_rng(seed)
    shapes = param_shapes(hidden, cfg.input_size, cfg.output_size)
    scale = {n: 0.7 / np.sqrt(max(1, shapes[n][-1])) for n in PARAM_NAMES}
    start = {n: rng.normal(0, scale[n], (k, *shapes[n])).astype(np.float32) for n in PARAM_NAMES}
    end = {n: rng.normal(0, 2 * scale[n], (k, *shapes[n])).astype(np.float32) for n in PARAM_NAMES}
    tau = rng.uniform(0.1, 0.4, k) * epochs  # per member: how fast it learns
    floor = 10 ** rng.uniform(-4, -2, k)
    rd = RunData(cfg, name=f"synthetic-{name}", directory=Path(f"/nonexistent/{name}"), members=k)
    recs = []
    for e in range(epochs):
        f = np.exp(-e / tau).astype(np.float32)  # (k,)
        w = {}
        if cfg.snapshot_due(e):
            for n in PARAM_NAMES:
                fe = f.reshape((k,) + (1,) * len(shapes[n]))
                noise = rng.normal(0, 0.01 * scale[n], (k, *shapes[n]))
                w[n] = (end[n] + (start[n] - end[n]) * fe + noise).astype(np.float32)
        loss = (0.3 * f + floor) * np.exp(rng.normal(0, 0.05, k))
        test = loss * 1.1 if e % cfg.eval_every == 0 else None
        recs.append(
            EpochRecord(
                epoch=e,
                train_loss=loss,
                test_loss=test,
                lr=np.full(k, cfg.lr),
                wall_time=0.05 * (e + 1),
                weights=w or {n: start[n] for n in PARAM_NAMES},
                initial_weights=start if e == 0 else None,
            )
        )
    rd.extend(recs)
    return rd


def load(name: str) -> RunData:
    if name == "demo":
        with Session(DEMO) as s:
            return RunData.from_session(s)
    return synthetic_run(name)


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

    async def frame_after(self, t: float) -> float:
        """The end of the first frame rendered after ``t``."""
        end = time.perf_counter() + TIMEOUT
        while not (self.stamps and self.stamps[-1] > t):
            if time.perf_counter() > end:
                raise TimeoutError(f"no frame in {TIMEOUT} s")
            await asyncio.sleep(0)
        return next(s for s in self.stamps if s > t)


class StoreClock:
    """Stamps each result an analysis pane's worker hands back (``cache.store``)."""

    def __init__(self, pane: AnalysisPane[Any, Any]) -> None:
        self.pane = pane
        self.stored: dict[object, float] = {}
        store = pane.cache.store

        def stamped(key: Any, res: Any) -> None:
            store(key, res)
            self.stored[key] = time.perf_counter()

        pane.cache.store = stamped  # type: ignore[method-assign]

    async def result_frame(self, frames: FrameClock) -> float:
        """The end of the first frame after the wanted result arrived (left to the
        worker's GIL between looks)."""
        end = time.perf_counter() + TIMEOUT
        c = self.pane.cache
        while c.wanted is None or (c.wanted not in self.stored and c.wanted not in c.results):
            if time.perf_counter() > end:
                raise TimeoutError(f"no result in {TIMEOUT} s")
            await asyncio.sleep(POLL)
        at = self.stored.get(c.wanted)
        if at is None:  # cached before this clock was installed: nothing to wait for
            return time.perf_counter()
        return await frames.frame_after(at)


async def measure(
    pane: str, data: RunData, presses: int, size: tuple[int, int], then: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Scrub latencies, the switch to ``pane`` and, for analysis panes, new epochs."""
    other = "browse" if pane == "train" else "train"
    app = GrutuiApp(data=data, start_pane=other)
    digit = str(next(i for i, s in enumerate(PANES, start=1) if s.mode == pane))
    out: dict[str, Any] = {"scrub": [], "new_shown": [], "new_result": []}
    clock = FrameClock()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("end", "pageup", "pageup")
        await pilot.pause(0.2)
        clock.install()
        try:
            t0 = time.perf_counter()
            app.post_message(events.Key(digit, digit))
            while app.current_mode != pane:
                await asyncio.sleep(0)
            screen = app.screen
            computes = isinstance(screen, AnalysisPane) and not (
                pane == "seeds" and data.members < 2  # a single member: nothing to compute
            )
            results = StoreClock(screen) if isinstance(screen, AnalysisPane) else None
            out["switch"] = await clock.frame_after(t0) - t0
            out["switch_result"] = (
                await results.result_frame(clock) - t0 if results and computes else None
            )
            await pilot.press(*then)
            await pilot.pause()
            key = "right"
            for i in range(presses):
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
                out["scrub"].append(await clock.frame_after(moved) - t0)
                if i == 0:
                    out["first"] = out["scrub"][0]
                await pilot.pause()  # settle before the next press
            if results and computes:  # new epochs: back to the far left
                await pilot.press("home")
                for _ in range(5):
                    await results.result_frame(clock)
                    await pilot.pause()
                    before = app.epoch
                    t0 = time.perf_counter()
                    # posted as the terminal driver does: pilot.press would wait for the
                    # worker's result before returning
                    app.post_message(events.Key("pagedown", None))  # 10 on: never computed
                    while app.epoch == before:
                        await asyncio.sleep(0)
                    moved = time.perf_counter()
                    out["new_shown"].append(await clock.frame_after(moved) - t0)
                    out["new_result"].append(await results.result_frame(clock) - t0)
        finally:
            clock.remove()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default=",".join(SIZES), help=f"of {', '.join(SIZES)}")
    ap.add_argument("--panes", default=",".join(s.mode for s in PANES))
    ap.add_argument("--presses", type=int, default=200)
    ap.add_argument("--size", default="80x24")
    ap.add_argument("--then", default="", help="keys pressed after the switch, comma-separated")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    for name in args.sizes.split(","):
        if name not in SIZES:
            ap.error(f"unknown size {name!r} (choose from {', '.join(SIZES)})")
        t = time.perf_counter()
        data = load(name)
        goal = SIZES[name][4]
        print(
            f"{name}: hidden {data.config.hidden}, {data.members} member(s), "
            f"{data.n_epochs} epochs (built in {time.perf_counter() - t:.1f} s); "
            f"{w}x{h}, {args.presses} presses; goal p95 < {goal:.0f} ms"
        )
        for mode in args.panes.split(","):
            then = tuple(k for k in args.then.split(",") if k)
            r = asyncio.run(measure(mode, data, args.presses, (w, h), then))
            ms = [t * 1000 for t in r["scrub"]]
            p95 = pct(ms, 0.95)
            print(
                f"  {mode:<11} scrub p50 {statistics.median(ms):6.1f}  p95 {p95:6.1f}  "
                f"max {max(ms):6.1f} ms  goal: {'ok' if p95 < goal else 'MISSED'}"
            )
            line = f"  {'':<11} switch {r['switch'] * 1000:6.0f} ms"
            if r["switch_result"] is not None:
                line += f" (result {r['switch_result'] * 1000:.0f} ms)"
            line += f", first key {r['first'] * 1000:.0f} ms"
            if r["new_shown"]:
                line += (
                    f"; new epoch: shown {statistics.median(r['new_shown']) * 1000:.0f} ms, "
                    f"result {statistics.median(r['new_result']) * 1000:.0f} ms"
                )
            print(line)


if __name__ == "__main__":
    main()
