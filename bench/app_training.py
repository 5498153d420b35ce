"""Training throughput inside the app against headless, in one process.

    PYTHONPATH=. python bench/app_training.py [--engine fast] [--epochs 300] [--rounds 3]
        [--device auto|cpu|cuda] [--screenshot FILE.svg]

Headless is ``RunDriver.run()`` into a session, what ``grutui train`` does (without its
progress bar); the app trains the same config through the same driver in its worker
thread and pulls snapshots on its timer, with the Train pane (then the Browse pane)
visible at 80×24. Rates come from the trainer's own wall clock (set-up excluded).
Rounds are interleaved (headless, Train, Browse, headless, ...) because the machine is
shared; the ratio per round compares neighbours, the summary takes the median ratio
and the best rates. Goal: the app ≥ 90 % of headless with the Train pane visible.
The UI thread's CPU time per second of training is printed too: it is steadier than
the ratio on a loaded machine, and what the trainer loses to the UI (the GIL) is
about that share.

``--profile`` runs one in-app round under pyinstrument (``pip install pyinstrument``)
and prints where the UI thread's time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from grutui.core.config import TrainConfig, preset
from grutui.core.device import resolve_device
from grutui.core.driver import RunDriver
from grutui.core.errors import ConfigError
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp

GOAL = 0.90


def _rate(wall: list[float]) -> float:
    return (len(wall) - 1) / (wall[-1] - wall[0])


def headless_rate(cfg: TrainConfig, out: Path) -> float:
    RunDriver.new(cfg, out, source="bench", overwrite=True).run()
    with Session(out) as s:
        return _rate(s.metrics.wall_time.tolist())


async def app_rate(
    cfg: TrainConfig, out: Path, pane: str, screenshot: Path | None = None
) -> tuple[float, float]:
    """Epochs/s in the app, and the UI thread's CPU time per second of the run; the
    finished screen saved to ``screenshot`` (SVG) if given: on a machine without tmux it
    shows what a user would see at 80×24 (the device that ran, on the Train pane)."""
    app = GrutuiApp(new=(cfg, out, True), start_pane=pane)
    async with app.run_test(size=(80, 24)) as pilot:
        cpu, wall = time.thread_time(), time.perf_counter()
        await app.workers.wait_for_complete()
        while app.run_status != "finished":  # the timer's last pull
            await pilot.pause(0.05)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        assert app.data is not None and app.data.n_epochs == cfg.epochs
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            app.save_screenshot(filename=screenshot.name, path=str(screenshot.parent))
        return _rate(app.data.metrics.wall_time.tolist()), cpu / wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="fast", help="reference or fast")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: all cores)")
    ap.add_argument("--panes", default="train,browse")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    ap.add_argument("--screenshot", type=Path, help="the first round's finished screen (SVG)")
    ap.add_argument("--profile", action="store_true", help="one in-app round, profiled")
    ap.add_argument("--all", action="store_true", help="with --profile: every frame")
    args = ap.parse_args()
    cfg = preset("blog").replace(
        epochs=args.epochs, engine=args.engine, threads=args.threads, device=args.device
    )
    try:
        resolve_device(cfg)
    except ConfigError as exc:
        raise SystemExit(f"app_training: {exc}") from None
    panes = args.panes.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        if args.profile:
            from pyinstrument import Profiler

            with Profiler(async_mode="disabled") as prof:
                r, _ui = asyncio.run(app_rate(cfg, t / "profiled", panes[0]))
            print(prof.output_text(unicode=True, show_all=args.all))
            print(f"app, {panes[0]} pane (profiled): {r:.2f} epochs/s")
            return
        print(
            f"training {args.epochs} epochs of the blog preset, {args.engine} engine, "
            f"{cfg.threads} thread(s), device {cfg.device}, {args.rounds} interleaved rounds"
        )
        rates: dict[str, list[float]] = {"headless": [], **{p: [] for p in panes}}
        ui: dict[str, list[float]] = {p: [] for p in panes}
        for i in range(args.rounds):
            rates["headless"].append(headless_rate(cfg, t / f"headless{i}"))
            for pane in panes:
                shot = args.screenshot if i == 0 and pane == panes[0] else None
                r, share = asyncio.run(app_rate(cfg, t / f"app-{pane}{i}", pane, shot))
                rates[pane].append(r)
                ui[pane].append(share)
            row = "  ".join(
                f"{p} {rates[p][-1] / rates['headless'][-1]:6.1%} (UI thread {ui[p][-1]:5.1%} CPU)"
                for p in panes
            )
            print(f"  round {i + 1}: headless {rates['headless'][-1]:7.2f} epochs/s  {row}")
    base = max(rates["headless"])
    print(f"  headless             {base:7.2f} epochs/s (best)   all: {_fmt(rates['headless'])}")
    for pane in panes:
        ratios = [a / h for a, h in zip(rates[pane], rates["headless"], strict=True)]
        med = statistics.median(ratios)
        verdict = "ok" if med >= GOAL else "MISSED"
        print(
            f"  app, {pane:<6} pane    {max(rates[pane]):7.2f} epochs/s (best)   "
            f"median ratio {med:6.1%}   goal ≥ {GOAL:.0%}: {verdict}   all: {_fmt(rates[pane])}"
        )
        print(
            f"    UI thread CPU per second of training, median: {statistics.median(ui[pane]):.1%}"
        )


def _fmt(xs: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in xs)


if __name__ == "__main__":
    main()
