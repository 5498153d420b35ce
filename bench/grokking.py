"""Does the ``grokking`` preset grok? Trains it with the fast engine and prints the first
epochs at which train accuracy reaches 99 % and test accuracy 95 % and 99 %, and the
weight norm ‖θ‖₂ on its progress lines.

Not a test (minutes on a GPU, the better part of an hour on a loaded 2-core CPU).

Usage: ``python bench/grokking.py [--preset grokking] [--epochs N] [--device auto]
[--seed S] [--threads T] [--every E]`` (E: print a progress line every E epochs).
"""

from __future__ import annotations

import argparse
import math
import time

from grutui.core.config import preset
from grutui.core.records import weight_norm
from grutui.core.train import train

MARKS = (("train", 0.99), ("test", 0.95), ("test", 0.99))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="grokking")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--every", type=int, default=100)
    args = ap.parse_args()
    cfg = preset(args.preset).replace(device=args.device, engine="fast", threads=args.threads)
    if args.epochs:
        cfg = cfg.replace(epochs=args.epochs)
    if args.seed is not None:
        cfg = cfg.replace(seed=args.seed)
    crossed: dict[tuple[str, float], int] = {}
    start = time.perf_counter()
    for rec in train(cfg):
        if rec.train_acc is None or rec.test_acc is None:
            continue
        acc = {"train": float(rec.train_acc[0]), "test": float(rec.test_acc[0])}
        for mark in MARKS:
            which, level = mark
            if mark not in crossed and acc[which] >= level:
                crossed[mark] = rec.epoch
                print(f"epoch {rec.epoch}: {which} accuracy reaches {level:.0%}", flush=True)
        if rec.epoch % args.every == 0:
            wall = time.perf_counter() - start
            norm = float(weight_norm(rec.weights)[0])
            print(
                f"epoch {rec.epoch:>6}  train acc {acc['train']:.3f}  test acc "
                f"{acc['test']:.3f}  train loss {float(rec.train_loss[0]):.4f}  "
                f"|θ| {norm:.1f}  {wall:.0f} s",
                flush=True,
            )
        if len(crossed) == len(MARKS) or not math.isfinite(float(rec.train_loss[0])):
            break
    for which, level in MARKS:
        epoch = crossed.get((which, level))
        print(f"{which} accuracy >= {level:.0%}: {'never' if epoch is None else f'epoch {epoch}'}")
    tr, te = crossed.get(MARKS[0]), crossed.get(MARKS[1])
    if tr is not None and te is not None:
        print(f"grokking delay (test 95 % − train 99 %): {te - tr} epochs")


if __name__ == "__main__":
    main()
