"""RunData.empty_like / rows: a run re-grown in pieces equals the original (replay)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from grutui.core.rundata import RunData
from grutui.core.session import Session
from tests.helpers import random_params, synthetic_session


def test_regrowing_in_uneven_pieces_gives_the_same_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    epochs = 23
    weights = [random_params(rng, 3, 2) for _ in range(epochs)]
    loss = rng.uniform(0.1, 1.0, size=(epochs, 2))
    init = random_params(rng, 3, 2)
    path = synthetic_session(tmp_path / "run", weights, loss, snapshot_every=4, initial=init)
    with Session(path) as s:
        full = RunData.from_session(s)
    twin = RunData.empty_like(full)
    assert twin.n_epochs == 0 and twin.members == 2
    for name, arr in init.items():
        got = twin.initial_weights(1)
        assert got is not None
        np.testing.assert_array_equal(got[name], arr[1])
    cuts = [0, 1, 2, 4, 5, 9, 16, 17, 22, 23]
    for a, b in itertools.pairwise(cuts):
        assert twin.apply(full.rows(a, b)) == b - a
        # snapshots only up to the last visible epoch
        assert twin.snapshot_epochs[-1] <= twin.last_epoch
    assert twin.apply(full.rows(23, 30)) == 0  # past the end: nothing
    for f in ("epoch", "train_loss", "test_loss", "lr", "wall_time"):
        np.testing.assert_array_equal(getattr(twin.metrics, f), getattr(full.metrics, f))
    np.testing.assert_array_equal(twin.snapshot_epochs, full.snapshot_epochs)
    for name in full.param_names:
        for m in (0, 1):
            np.testing.assert_array_equal(
                twin.weight_history(name, m), full.weight_history(name, m)
            )
    # copies: growing the twin never writes into the original's buffers
    chunk = full.rows(0, 3)
    chunk.train_loss[:] = -1
    assert (full.metrics.train_loss[:3] >= 0).all()
