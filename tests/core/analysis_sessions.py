"""Tiny sessions for the analysis tests: trained for real, or written from synthetic
epoch records whose weights and losses the test controls."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grutui.core.config import TrainConfig, preset
from grutui.core.gru import PARAM_NAMES
from grutui.core.records import EpochRecord
from grutui.core.session import SessionWriter
from grutui.core.train import train


def tiny_config(**changes: object) -> TrainConfig:
    base = {"epochs": 6, "task.n_samples": 200, "eval_every": 2, "batch_size": 32, "lr": 1e-2}
    base.update(changes)
    return preset("blog").replace(**base)


def trained_session(path: Path, **changes: object) -> Path:
    cfg = tiny_config(**changes)
    with SessionWriter(path, cfg) as w:
        for rec in train(cfg):
            w.append(rec)
    return path


def random_params(rng: np.random.Generator, hidden: int, members: int = 1) -> dict:
    shapes = {
        "gru.weight_ih_l0": (3 * hidden, 2),
        "gru.weight_hh_l0": (3 * hidden, hidden),
        "gru.bias_ih_l0": (3 * hidden,),
        "gru.bias_hh_l0": (3 * hidden,),
        "linear.weight": (1, hidden),
        "linear.bias": (1,),
    }
    return {
        n: rng.normal(scale=0.7, size=(members, *shapes[n])).astype(np.float32) for n in PARAM_NAMES
    }


def synthetic_session(
    path: Path,
    weights: Sequence[dict[str, np.ndarray]],
    train_loss: np.ndarray,
    *,
    snapshot_every: int = 1,
    initial: dict[str, np.ndarray] | None = None,
    test_loss: np.ndarray | None = None,
) -> Path:
    """One record per epoch; ``weights[e]`` and ``train_loss[e]`` carry the member axis
    (K, ...). Weights are snapshotted every ``snapshot_every`` epochs."""
    epochs = len(weights)
    hidden = int(weights[0]["gru.weight_hh_l0"].shape[-1])
    cfg = tiny_config(epochs=epochs, hidden=hidden, snapshot_every=snapshot_every)
    tl = np.asarray(train_loss, float).reshape(epochs, -1)
    with SessionWriter(path, cfg) as w:
        for e in range(epochs):
            k = tl.shape[1]
            te = None if test_loss is None else np.atleast_1d(test_loss[e])
            w.append(
                EpochRecord(
                    epoch=e,
                    train_loss=tl[e],
                    test_loss=te,
                    lr=np.full(k, 1e-3),
                    wall_time=float(e),
                    weights=weights[e],
                    initial_weights=initial if e == 0 else None,
                )
            )
    return path
