"""Speed of the Debug pane's fixed-point search (``f``) at one epoch.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python bench/fixedpoints_speed.py [--hidden 1,8,16,64]

(one BLAS thread, as ``grutui`` runs numpy: ``cli.one_blas_thread``)

For each hidden size: a seeded random GRU (recurrent weights at gain 1.5, so it has
several fixed points), a flip-flop-sized input (3 channels) held at zero and a typed
sequence of 20 steps. Times ``find_fixed_points`` from the sequence's states and the
default random starts, against the same process's trace of the sequence (what the
pane computes on every epoch move) as the baseline. Best of a few repeats: the machine
is shared. Goal: well under a second at hidden 64.
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import best

from grutui.core.analysis.fixedpoints import find_fixed_points
from grutui.core.gru import GRUWeights, gru_trace


def random_gru(hidden: int, inputs: int, seed: int = 0) -> GRUWeights:
    rng = np.random.default_rng(seed)
    s = 1 / np.sqrt(hidden)
    return GRUWeights(
        rng.normal(0, s, (3 * hidden, inputs)).astype(np.float32),
        rng.normal(0, 1.5 * s, (3 * hidden, hidden)).astype(np.float32),
        rng.normal(0, 0.1, 3 * hidden).astype(np.float32),
        rng.normal(0, 0.1, 3 * hidden).astype(np.float32),
        np.zeros((3, hidden), np.float32),
        np.zeros(3, np.float32),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", default="1,8,16,64")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    x = rng.choice([-1.0, 0.0, 1.0], (1, 20, 3), p=[0.1, 0.8, 0.1]).astype(np.float32)
    print(f"{'hidden':>6} {'search':>10} {'trace':>9} {'ratio':>7}  found")
    for hidden in (int(h) for h in args.hidden.split(",")):
        w = random_gru(hidden, 3)
        states = gru_trace(w, x).h[0]
        fp = find_fixed_points(w, np.zeros(3), states=states)
        t_fp = best(lambda w=w, s=states: find_fixed_points(w, np.zeros(3), states=s), 3)
        t_tr = best(lambda w=w: gru_trace(w, x), 5, warm=True)
        print(
            f"{hidden:>6} {t_fp * 1e3:>8.1f} ms {t_tr * 1e3:>6.2f} ms {t_fp / t_tr:>6.0f}×  "
            f"{fp.summary()} ({fp.starts} starts)"
        )


if __name__ == "__main__":
    main()
