"""Speed of the Fourier analysis at the grokking preset's size (p = 97, hidden 64).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python bench/fourier_speed.py [SNAPSHOTS]

(one BLAS thread, as ``grutui`` runs numpy: ``cli.one_blas_thread``)

Writes a session of SNAPSHOTS (default 121: a 6000-epoch run with a snapshot every 50)
random-walk weight snapshots, then times: the spectrum at one epoch (from memory, as
the pane computes it, and from the session file, as ``grutui fourier`` does), one
circle, the initial terms (the forward/backward pass for the initial gradient), and
the survival history computed from scratch, read back from its cache, and extended by
one snapshot. Best of several repeats: the machine is shared. The goal is one epoch's
analysis well under a second.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from _timing import best

from grutui.core.analysis import fourier
from grutui.core.config import preset
from grutui.core.records import EpochRecord
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.core.writer import SessionWriter

GOAL = 1.0  # seconds: one epoch's analysis


def write_session(path: Path, snapshots: int) -> Path:
    cfg = preset("grokking").replace(epochs=snapshots, snapshot_every=1)
    shapes = {"gru.weight_ih_l0": (192, 97), "gru.weight_hh_l0": (192, 64)}
    shapes |= {"gru.bias_ih_l0": (192,), "gru.bias_hh_l0": (192,)}
    shapes |= {"linear.weight": (97, 64), "linear.bias": (97,)}
    rng = np.random.default_rng(0)
    w = {n: rng.normal(scale=0.1, size=(1, *s)).astype(np.float32) for n, s in shapes.items()}
    init = {n: v.copy() for n, v in w.items()}
    with SessionWriter(path, cfg) as writer:
        for e in range(snapshots):
            w = {
                n: v + rng.normal(scale=0.01, size=v.shape).astype(np.float32) for n, v in w.items()
            }
            writer.append(
                EpochRecord(
                    e, np.ones(1), None, np.full(1, 1e-3), float(e), w, init if e == 0 else None
                )
            )
    return path


def ms(t: float) -> str:
    return f"{t * 1e3:8.2f} ms"


def main() -> None:
    snapshots = int(sys.argv[1]) if len(sys.argv) > 1 else 121
    with tempfile.TemporaryDirectory() as tmp:
        path = write_session(Path(tmp) / "run", snapshots)
        with Session(path) as s:
            data = RunData.from_session(s)
            cols = fourier.require_columns(s.config)
            mid = int(s.snapshot_epochs[len(s.snapshot_epochs) // 2])

            def pane_epoch() -> None:  # what the pane's job computes per cursor move
                emb = fourier.embedding(data.weights(mid)[fourier.W_IH], cols)
                fourier.signal(emb)

            emb = fourier.embedding(data.weights(mid)[fourier.W_IH], cols)
            t_mem = best(pane_epoch, repeats=20, warm=True)
            t_disk = best(lambda: fourier.fourier_at(s, mid), repeats=10, warm=True)
            t_circle = best(lambda: fourier.circle_points(emb, 5), repeats=20, warm=True)
            init = s.initial_weights(0)
            assert init is not None
            t_init = best(lambda: fourier.initial_terms(init, s.config, 0), repeats=3, warm=True)
            t_full = best(lambda: fourier.survival_history(s, use_cache=False), repeats=3)
            fourier.survival_history(s)  # fills the cache
            t_cached = best(lambda: fourier.survival_history(s), repeats=5)
            part = fourier.survival_history(data, use_cache=False)
            part = fourier.Survival(
                part.epochs[:-1],
                part.signal[:-1],
                part.initial_signal,
                part.initial_gradient,
                part.initial_growth,
                vocab=part.vocab,
            )
            t_grow = best(
                lambda: fourier.survival_history(data, use_cache=False, previous=part), repeats=5
            )
    n_train = preset("grokking").task.data_shape().n_train
    print(f"Fourier analysis at p=97, hidden 64 ({snapshots} snapshots, {n_train} train pairs)")
    print(f"  one epoch (memory, the pane)   {ms(t_mem)}   {GOAL / t_mem:8.0f}× under {GOAL:g} s")
    print(f"  one epoch (session file, CLI)  {ms(t_disk)}   {GOAL / t_disk:8.0f}× under {GOAL:g} s")
    print(f"  one circle                     {ms(t_circle)}")
    print(f"  initial signal + gradient      {ms(t_init)}   (once per run; cached)")
    print(
        f"  survival history from scratch  {ms(t_full)}   "
        f"({(t_full - t_init) / snapshots * 1e3:.3f} ms a snapshot beyond the gradient)"
    )
    print(f"  survival history, cached       {ms(t_cached)}   ×{t_full / t_cached:.0f} faster")
    print(f"  survival history, +1 snapshot  {ms(t_grow)}   ×{t_full / t_grow:.0f} faster")


if __name__ == "__main__":
    main()
