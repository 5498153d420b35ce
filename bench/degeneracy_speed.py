"""Speed of one epoch's degeneracy analysis (the Seeds pane's degeneracy view).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python bench/degeneracy_speed.py [--hidden H] [--members K]

(one BLAS thread, as ``grutui`` runs numpy: ``cli.one_blas_thread``)

Writes a two-epoch flip-flop ensemble session with random weights to a temporary
directory and times ``DegeneracyAnalysis.at`` (all three levels) and each level's part:
the members' traces on the probe, the DSA operators and distances, the weight
distances. The baselines at the initial weights are made once per session (timed
apart). The weights level's assignments are also timed pair by pair (``assign_units``,
``transform`` and ``distance`` for each pair, the baseline of the batched code, in the
same process) and the two compared. Best of a few repeats: the machine is shared.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import best

from grutui.core.analysis.compare import (
    Params,
    assign_units,
    assigned_distances,
    distance,
    transform,
)
from grutui.core.analysis.degeneracy import (
    DegeneracyAnalysis,
    delays_for,
    dsa_distances,
    dsa_operators,
    weight_distances,
)
from grutui.core.config import preset
from grutui.core.layout import PARAM_NAMES, param_shapes
from grutui.core.records import EpochRecord
from grutui.core.session import Session
from grutui.core.writer import SessionWriter


def write_session(path: Path, hidden: int, members: int) -> None:
    cfg = preset("flipflop").replace(hidden=hidden, epochs=2, snapshot_every=1)
    task = cfg.task
    shapes = param_shapes(hidden, task.features().__len__(), task.output().size)
    rng = np.random.default_rng(0)
    init = {
        n: (rng.normal(size=(members, *shapes[n])) / np.sqrt(hidden)).astype(np.float32)
        for n in PARAM_NAMES
    }
    with SessionWriter(path, cfg) as w:
        for e in range(2):
            weights = {
                n: (v + 0.3 * (e + 1) * rng.normal(size=v.shape)).astype(np.float32)
                for n, v in init.items()
            }
            w.append(
                EpochRecord(
                    epoch=e,
                    train_loss=np.ones(members),
                    test_loss=np.ones(members),
                    lr=np.full(members, 1e-3),
                    wall_time=float(e),
                    weights=weights,
                    initial_weights=init if e == 0 else None,
                )
            )


def per_pair(params: list[Params]) -> np.ndarray:
    """``assigned_distances`` one pair at a time through the one-pair functions."""
    k = len(params)
    out = np.zeros((k, k))
    for i, j in itertools.combinations(range(k), 2):
        perm, signs = assign_units(params[i], params[j])
        out[i, j] = out[j, i] = distance(params[i], transform(params[j], perm, signs))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--members", type=int, default=64)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ens"
        write_session(path, args.hidden, args.members)
        with Session(path) as s:
            an = DegeneracyAnalysis(s)
            t0 = time.perf_counter()
            an.baselines()
            base = time.perf_counter() - t0
            total = best(repeats=3, warm=False, fn=lambda: an.at(1))
            params = [s.weights(1, m) for m in range(s.members)]
            runs = best(repeats=3, warm=False, fn=lambda: an.run_members(params))
            _vecs, traj = an.run_members(params)
            d = delays_for(args.hidden, an.steps)
            ops_t = best(repeats=3, warm=False, fn=lambda: dsa_operators(traj, d))
            ops = dsa_operators(traj, d)
            dist_t = best(repeats=3, warm=False, fn=lambda: dsa_distances(ops))
            w_t = best(repeats=2, warm=False, fn=lambda: weight_distances(params))
            batched = best(repeats=2, warm=False, fn=lambda: assigned_distances(params))
            one_by_one = best(repeats=1, warm=False, fn=lambda: per_pair(params))
            same = np.array_equal(assigned_distances(params), per_pair(params))
    pairs = args.members * (args.members - 1) // 2
    print(
        f"degeneracy at one epoch, hidden {args.hidden}, {args.members} members "
        f"({pairs} pairs), flip-flop probe {an.probe}×{an.steps} steps"
    )
    print(f"  all three levels  {total * 1e3:7.0f} ms")
    print(f"  traces + OOD/test {runs * 1e3:7.0f} ms")
    print(f"  DSA operators     {ops_t * 1e3:7.0f} ms")
    print(f"  DSA distances     {dist_t * 1e3:7.0f} ms")
    print(f"  weight distances  {w_t * 1e3:7.0f} ms")
    print(
        f"    assignments     {batched * 1e3:7.0f} ms  (pair by pair {one_by_one * 1e3:.0f} ms, "
        f"×{one_by_one / batched:.1f}; {'the same' if same else 'DIFFERENT'} distances)"
    )
    print(f"  baselines (once)  {base * 1e3:7.0f} ms")
    print(f"goal: one epoch under 1 s: {total:.2f} s ({'met' if total < 1 else 'not met'})")


if __name__ == "__main__":
    main()
