"""The weight norm per epoch: recorded by both engines, kept by sessions, in-memory runs
and replays, resumed runs, and read as NaN from sessions written before it."""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from grutui.cli import main
from grutui.core.config import TrainConfig
from grutui.core.records import weight_norm
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.helpers import DEMO, make_session, tiny_config, tiny_modadd_config


def test_weight_norm_is_the_l2_norm_of_every_parameter() -> None:
    rng = np.random.default_rng(0)
    ws = {"a": rng.normal(size=(2, 3, 4)).astype(np.float32), "b": rng.normal(size=(2, 5))}
    got = weight_norm(ws)
    for k in range(2):
        flat = np.concatenate([ws["a"][k].ravel(), ws["b"][k].ravel()]).astype(np.float64)
        assert got[k] == pytest.approx(math.sqrt(float(flat @ flat)), rel=1e-12)


@pytest.mark.parametrize(
    "cfg", [tiny_modadd_config(), tiny_config(epochs=3)], ids=["modadd", "adding"]
)
def test_both_engines_record_the_same_weight_norm(cfg: TrainConfig) -> None:
    ref = list(train(cfg.replace(engine="reference")))
    fast = list(train(cfg.replace(engine="fast")))
    for r, f in zip(ref, fast, strict=True):
        assert r.weight_norm is not None and f.weight_norm is not None
        assert r.weight_norm.shape == f.weight_norm.shape == (1,)
        np.testing.assert_allclose(f.weight_norm, r.weight_norm, rtol=1e-5)
        np.testing.assert_array_equal(r.weight_norm, weight_norm(r.weights))  # the weights'


def test_ensemble_members_have_their_own_norm() -> None:
    cfg = tiny_modadd_config(epochs=2, seeds=(0, 1))
    recs = list(train(cfg))
    for i, seed in enumerate(cfg.seeds):
        single = list(train(cfg.replace(seeds=(), seed=seed)))
        for r, s in zip(recs, single, strict=True):
            assert r.weight_norm is not None and s.weight_norm is not None
            np.testing.assert_allclose(r.weight_norm[i], s.weight_norm[0], rtol=1e-6)


def test_sessions_runs_in_memory_and_replays_keep_it(tmp_path: Path) -> None:
    cfg = tiny_modadd_config(epochs=5, seeds=(0, 1), snapshot_every=2)
    recs = list(train(cfg))
    expected = np.stack([r.weight_norm for r in recs if r.weight_norm is not None])
    assert expected.shape == (5, 2) and np.isfinite(expected).all()
    make_session(tmp_path / "s", cfg)
    with Session(tmp_path / "s") as s:
        np.testing.assert_array_equal(s.metrics.weight_norm, expected)
        rd = RunData.from_session(s)
    np.testing.assert_array_equal(rd.metrics.weight_norm, expected)
    replay = RunData.empty_like(rd)
    replay.apply(rd.rows(0, 3))
    np.testing.assert_array_equal(replay.metrics.weight_norm, expected[:3])
    live = RunData(cfg, members=2)
    live.extend(recs)
    np.testing.assert_array_equal(live.metrics.weight_norm, expected)


def test_older_sessions_read_it_as_nan_and_resume_without_it(tmp_path: Path) -> None:
    with Session(DEMO) as s:
        assert s.metrics.weight_norm.shape == (s.n_epochs, 1)
        assert np.isnan(s.metrics.weight_norm).all()
    # a session written before the norm was recorded, then resumed: it stays without
    cfg = tiny_config(epochs=4, eval_every=1)
    d = tmp_path / "old"
    with SessionWriter(d, cfg) as w:
        for rec in train(cfg):
            w.append(rec)
            if rec.epoch == 1:
                break
    with h5py.File(d / "session.h5", "a") as f:
        del f["metrics/weight_norm"]
    assert main(["resume", str(d)]) == 0
    with Session(d) as s:
        assert s.n_epochs == 4 and np.isnan(s.metrics.weight_norm).all()


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_a_resumed_run_records_the_uninterrupted_norm(tmp_path: Path, engine: str) -> None:
    cfg = tiny_modadd_config(engine=engine, epochs=5)
    full = [r.weight_norm for r in train(cfg)]
    d = tmp_path / "s"
    with SessionWriter(d, cfg) as w:
        for rec in train(cfg):
            w.append(rec)
            if rec.epoch == 2:
                break
    assert main(["resume", str(d)]) == 0
    with Session(d) as s:
        np.testing.assert_allclose(s.metrics.weight_norm, np.stack(full), rtol=1e-12)
