"""Cost of resumable state and action recording, as ratios in one process.

    PYTHONPATH=. python bench/recording_cost.py [--epochs 60] [--repeats 4]

1. Training + writing a session with resumable state (captured every epoch, saved at
   most 1 % of the time) against the same run with the state stripped (what the writer
   did before): goal ratio ≤ 1.02.
2. ``ActionRecorder.cursor`` per call against a bare method call, and the share of a
   50 ms scrubbing budget it takes.
3. ``Timeline.state_at`` on the demo session (a replay tick).
Best of several repeats: the machine is shared.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from _timing import best

import grutui.core.state as state_mod
import grutui.core.train as train_mod
from grutui.core.config import preset
from grutui.core.recording import ActionRecorder
from grutui.core.replay import Timeline
from grutui.core.session import Session
from grutui.core.train import train
from grutui.core.writer import SessionWriter

DEMO = Path(__file__).resolve().parent.parent / "sessions" / "blog-seed37"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=4)
    args = ap.parse_args()
    cfg = preset("blog").replace(
        epochs=args.epochs, threads=1, batch_size=64, **{"task.n_samples": 2000}
    )
    tmp = Path(tempfile.mkdtemp())
    runs = iter(range(10**6))

    def run(keep_state: bool) -> None:
        with SessionWriter(tmp / f"r{next(runs)}", cfg) as w:
            for rec in train(cfg):
                w.append(rec if keep_state else dataclasses.replace(rec, state=None))

    run(True)  # warm-up (imports)
    a: list[float] = []
    b: list[float] = []
    for _ in range(args.repeats):  # interleaved: the machine's load drifts
        a.append(best(lambda: run(True), 1))
        b.append(best(lambda: run(False), 1))
    with_state, without = min(a), min(b)
    print(
        f"train+write {args.epochs} epochs: with state {with_state:.3f} s, "
        f"without {without:.3f} s, ratio {with_state / without:.3f} (noisy on a shared machine)"
    )
    # the same cost by accounting (robust to load): time inside capture and saves
    acc = {"capture": 0.0, "save": 0.0}
    real_capture, real_flush = train_mod.capture_torch, state_mod.StateSaver.flush

    def capture(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return real_capture(*a, **k)
        finally:
            acc["capture"] += time.perf_counter() - t

    def flush(self: state_mod.StateSaver) -> None:
        t = time.perf_counter()
        try:
            real_flush(self)
        finally:
            acc["save"] += time.perf_counter() - t

    train_mod.capture_torch = capture  # type: ignore[assignment]
    state_mod.StateSaver.flush = flush  # type: ignore[method-assign]
    total = best(lambda: run(True), 1)
    train_mod.capture_torch = real_capture  # type: ignore[assignment]
    state_mod.StateSaver.flush = real_flush  # type: ignore[method-assign]
    share = (acc["capture"] + acc["save"]) / total
    print(
        f"  by accounting: capture {acc['capture'] * 1e3:.0f} ms + saves {acc['save'] * 1e3:.0f}"
        f" ms of {total:.2f} s = {share * 100:.1f} % (goal: about 1 % + capture + first/last save)"
    )

    class Bare:
        def cursor(self, epoch: int) -> None:
            pass

    n = 100_000
    rec = ActionRecorder(tmp, flush_interval=60)
    bare = Bare()
    t_rec = best(lambda: [rec.cursor(e) for e in range(n)]) / n
    t_bare = best(lambda: [bare.cursor(e) for e in range(n)]) / n
    rec.close()
    print(
        f"ActionRecorder.cursor: {t_rec * 1e6:.2f} µs/call vs bare {t_bare * 1e6:.2f} µs "
        f"(ratio {t_rec / t_bare:.1f}); {t_rec / 0.05 * 100:.4f} % of a 50 ms key budget"
    )

    with Session(DEMO) as s:
        tl = Timeline.from_session(s)
    ts = [i * tl.duration / 1000 for i in range(1000)]
    per = best(lambda: [tl.state_at(t) for t in ts]) / len(ts)
    print(
        f"Timeline.state_at on the demo ({len(tl.row_times)} epochs): {per * 1e6:.1f} µs; "
        f"auto speed {tl.default_speed:.1f}x replays {tl.duration:.0f} s in "
        f"{tl.duration / tl.default_speed:.0f} s"
    )


if __name__ == "__main__":
    main()
