"""Speed of the analyses that run on every cursor move or over a whole session.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python bench/analysis_speed.py

(one BLAS thread, as ``grutui`` runs numpy: ``cli.one_blas_thread``)

Prints the OOD grid's time per epoch (26 cells × 200 sequences, one ``gru_output``
call) at several hidden sizes, against the same grid through ``gru_trace`` (which
keeps every term, the pre-lean baseline), and the seed-comparison alignment time.
Best of several repeats: the machine is shared.
"""

from __future__ import annotations

import numpy as np
from _timing import best

from grutui.core.analysis.compare import align, transform
from grutui.core.analysis.ood import OODEvaluator
from grutui.core.gru import GRUWeights, gru_trace
from grutui.core.layout import PARAM_NAMES, param_shapes
from grutui.core.tasks import TaskConfig


def params(hidden: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = param_shapes(hidden)
    return {
        n: (rng.normal(size=shapes[n]) / np.sqrt(hidden)).astype(np.float32) for n in PARAM_NAMES
    }


def main() -> None:
    ev = OODEvaluator(TaskConfig(), samples=200)
    x, lengths = ev.grid.x, ev.grid.lengths
    print(f"OOD grid: {len(ev.cells)} cells × {ev.samples} = {len(x)} sequences, T={x.shape[1]}")
    for hidden in (1, 8, 64):
        p = params(hidden)
        lean = best(repeats=7, warm=True, fn=lambda p=p: ev.evaluate(p))
        w = GRUWeights.from_params(p)
        full = best(repeats=7, warm=True, fn=lambda w=w: gru_trace(w, x, lengths).output)
        print(
            f"  hidden {hidden:>3}: {lean * 1e3:7.1f} ms/epoch  (via gru_trace "
            f"{full * 1e3:7.1f} ms, ×{full / lean:.1f});  3000 epochs ≈ {3000 * lean:.0f} s"
        )
    for hidden in (8, 64):
        a = params(hidden, 1)
        rng = np.random.default_rng(2)
        b = transform(a, rng.permutation(hidden), rng.choice([-1.0, 1.0], hidden))
        c = params(hidden, 3)
        t_twin = best(repeats=2, warm=True, fn=lambda a=a, b=b: align(a, b))
        t_other = best(repeats=2, warm=True, fn=lambda a=a, c=c: align(a, c))
        print(
            f"  align hidden {hidden:>3}: permuted copy {t_twin * 1e3:.0f} ms, "
            f"unrelated {t_other * 1e3:.0f} ms"
        )


if __name__ == "__main__":
    main()
