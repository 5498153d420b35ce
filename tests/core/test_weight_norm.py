"""The weight norm per epoch: recorded for both engines' runs, kept by sessions,
in-memory runs and replays, resumed runs, NaN for an import's epochs without weights,
and read as NaN from sessions written before it."""

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
def test_both_engines_record_the_same_weight_norm(cfg: TrainConfig, tmp_path: Path) -> None:
    norms = []
    for engine in ("reference", "fast"):
        make_session(tmp_path / engine, cfg.replace(engine=engine))
        with Session(tmp_path / engine) as s:
            norms.append(s.metrics.weight_norm)
            assert norms[-1].shape == (cfg.epochs, 1) and np.isfinite(norms[-1]).all()
    np.testing.assert_allclose(norms[1], norms[0], rtol=1e-5)
    recs = list(train(cfg.replace(engine="fast")))
    np.testing.assert_array_equal(norms[1][:, 0], [weight_norm(r.weights)[0] for r in recs])


def test_ensemble_members_have_their_own_norm() -> None:
    cfg = tiny_modadd_config(epochs=2, seeds=(0, 1))
    run = RunData(cfg, members=2)
    run.extend(train(cfg))
    for i, seed in enumerate(cfg.seeds):
        single = RunData(cfg, members=1)
        single.extend(train(cfg.replace(seeds=(), seed=seed)))
        np.testing.assert_allclose(
            run.metrics.weight_norm[:, i], single.metrics.weight_norm[:, 0], rtol=1e-6
        )


def test_sessions_runs_in_memory_and_replays_keep_it(tmp_path: Path) -> None:
    cfg = tiny_modadd_config(epochs=5, seeds=(0, 1), snapshot_every=2)
    recs = list(train(cfg))
    expected = np.stack([weight_norm(r.weights) for r in recs])
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
    full = [weight_norm(r.weights) for r in train(cfg)]
    d = tmp_path / "s"
    with SessionWriter(d, cfg) as w:
        for rec in train(cfg):
            w.append(rec)
            if rec.epoch == 2:
                break
    assert main(["resume", str(d)]) == 0
    with Session(d) as s:
        np.testing.assert_allclose(s.metrics.weight_norm, np.stack(full), rtol=1e-12)


def test_an_importers_epochs_without_weights_have_no_norm(tmp_path: Path) -> None:
    """``snapshot=False`` (an importer whose source has no weights for that epoch): the
    record's weights are not the epoch's, so its norm is NaN."""
    cfg = tiny_config(epochs=3)
    recs = list(train(cfg))
    with SessionWriter(tmp_path / "imp", cfg) as w:
        for rec in recs:
            w.append(rec, snapshot=rec.epoch != 1)
    with Session(tmp_path / "imp") as s:
        norm = s.metrics.weight_norm[:, 0]
    assert np.isnan(norm[1])
    np.testing.assert_array_equal(norm[[0, 2]], [weight_norm(recs[e].weights)[0] for e in (0, 2)])
