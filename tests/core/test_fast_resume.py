"""``grutui resume`` for the fast engine and ensembles: a fast run resumed after epoch k
equals the uninterrupted one bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.config import TrainConfig
from grutui.core.errors import SessionError
from grutui.core.records import EpochRecord
from grutui.core.resume import plan_resume
from grutui.core.session import Session
from grutui.core.state import load_state, save_state
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.core.test_fast import poison_seed
from tests.helpers import tiny_config

EPOCHS = 9


def _cfg(seeds: tuple[int, ...]) -> TrainConfig:
    # evaluations every 2 epochs and zero patience: the learning rates drop within the
    # run (per member), so the plateau state must survive the resume
    return tiny_config(
        epochs=EPOCHS, eval_every=2, plateau_patience=0, lr=0.05, hidden=3, engine="fast"
    ).replace(seeds=seeds)


@pytest.fixture(scope="module", params=[(), (0, 1, 2)], ids=["single", "ensemble"])
def run(request: pytest.FixtureRequest) -> tuple[TrainConfig, list[EpochRecord]]:
    cfg = _cfg(request.param)
    recs = list(train(cfg))
    assert len(recs) == EPOCHS
    return cfg, recs


def _assert_equal(want: list[EpochRecord], got: list[EpochRecord]) -> None:
    assert [r.epoch for r in got] == [r.epoch for r in want]
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g.train_loss, w.train_loss, err_msg=f"epoch {w.epoch}")
        assert (g.test_loss is None) == (w.test_loss is None)
        if w.test_loss is not None and g.test_loss is not None:
            np.testing.assert_array_equal(g.test_loss, w.test_loss)
        np.testing.assert_array_equal(g.lr, w.lr)
        for name, arr in w.weights.items():
            np.testing.assert_array_equal(g.weights[name], arr, err_msg=f"{w.epoch} {name}")
        assert g.events == w.events
        assert g.diverged == w.diverged
        assert g.state is not None and w.state is not None
        for name, arr in w.state.arrays.items():
            np.testing.assert_array_equal(g.state.arrays[name], arr, err_msg=name)


def test_fast_records_carry_a_fast_state(run: tuple[TrainConfig, list[EpochRecord]]) -> None:
    cfg, recs = run
    k = len(cfg.member_seeds)
    st = recs[3].state
    assert st is not None and st.engine == "fast" and st.epoch == 3
    assert st.arrays["fast/params"].shape[0] == k and st.arrays["fast/rng"].dtype == np.uint8
    # the schedule drops a learning rate at the evaluation of epoch 4 (used from 5 on):
    # resuming after 0 or 3 must replay the plateau counters, after 4 carry the new lr
    lrs = [tuple(r.lr) for r in recs]
    assert lrs[0] == lrs[4] != lrs[5] == lrs[-1]


@pytest.mark.parametrize("k", [0, 3, 4])
def test_fast_resume_equals_an_uninterrupted_run(
    tmp_path: Path, run: tuple[TrainConfig, list[EpochRecord]], k: int
) -> None:
    cfg, recs = run
    st = recs[k].state
    assert st is not None
    save_state(tmp_path, st, fsync=False)  # through the file, as `grutui resume` reads it
    got = list(train(cfg, resume=load_state(tmp_path)))
    _assert_equal(recs[k + 1 :], got)
    assert got[0].wall_time >= st.wall_time


def test_resume_with_a_frozen_member(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    poison_seed(monkeypatch)
    cfg = tiny_config(epochs=5, eval_every=1, plateau_patience=0, engine="fast", seeds=(1, 3))
    recs = list(train(cfg))
    assert not np.isfinite(recs[0].train_loss[1]) and not recs[-1].diverged
    st = recs[1].state
    assert st is not None and st.arrays["fast/alive"].tolist() == [True, False]
    assert "diverged" not in st.meta  # one live member: the run can be resumed
    save_state(tmp_path, st, fsync=False)
    _assert_equal(recs[2:], list(train(cfg, resume=load_state(tmp_path))))


def test_state_of_other_seeds_is_refused(run: tuple[TrainConfig, list[EpochRecord]]) -> None:
    cfg, recs = run
    st = recs[2].state
    assert st is not None
    other = cfg.replace(seeds=(5, 6)) if not cfg.seeds else cfg.replace(seeds=(0, 1, 7))
    with pytest.raises(SessionError, match="does not match the config"):
        list(train(other, resume=st))
    ref = recs[2].state
    assert ref is not None
    ref.engine = "reference"
    try:
        with pytest.raises(SessionError, match="'reference' engine"):
            list(train(cfg, resume=ref))
    finally:
        ref.engine = "fast"


def test_cli_ensemble_train_then_resume(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    tiny = ["--n-samples", "300", "--batch-size", "64", "--threads", "1", "--hidden", "3"]
    sched = ["--lr", "0.05", "--eval-every", "2", "--plateau-patience", "0"]
    assert main(["train", *tiny, *sched, "--seeds", "0-2", "--epochs", "4", "--out", str(out)]) == 0
    assert load_state(out).engine == "fast" and load_state(out).epoch == 3
    assert plan_resume(out, 8).state.epoch == 3
    assert main(["resume", str(out), "--epochs", "8"]) == 0
    with Session(out) as s:
        cfg = s.config
        assert cfg.epochs == 8 and cfg.seeds == (0, 1, 2) and s.members == 3
        full = list(train(cfg))
        assert s.metrics.epoch.tolist() == list(range(8))
        np.testing.assert_array_equal(s.metrics.train_loss, [r.train_loss for r in full])
        np.testing.assert_array_equal(s.metrics.lr, [r.lr for r in full])
        for e in s.snapshot_epochs.tolist():
            for name, w in s.weights(e).items():
                np.testing.assert_array_equal(w, full[e].weights[name][0], err_msg=f"{e}")
            for name, w in s.weights(e, member=2).items():
                np.testing.assert_array_equal(w, full[e].weights[name][2], err_msg=f"{e}")
        assert [e["from_epoch"] for e in s.events() if e["kind"] == "resume"] == [3]
    assert load_state(out).epoch == 7


def test_a_diverged_fast_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "div"
    args = ["--n-samples", "300", "--batch-size", "64", "--threads", "1", "--epochs", "4"]
    assert (
        main(
            ["train", *args, "--seeds", "0-1", "--lr", "1e30", "--grad-clip", "0", "--out", str(d)]
        )
        == 1
    )
    st = load_state(d)
    assert st.engine == "fast" and st.meta.get("diverged") is True
    capsys.readouterr()
    assert main(["resume", str(d), "--epochs", "8"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("grutui: error:") and "diverged" in err and err.count("\n") == 1


def test_epochs_after_the_saved_state_are_recomputed(
    tmp_path: Path, run: tuple[TrainConfig, list[EpochRecord]]
) -> None:
    # a kill -9 between two state saves: rows 4..7 exist, the state is from epoch 3
    cfg, recs = run
    d = tmp_path / "s"
    with SessionWriter(d, cfg) as w:
        for rec in train(cfg):
            w.append(rec)
            if rec.epoch == 7:
                break
    st = recs[3].state
    assert st is not None
    save_state(d, st, fsync=False)
    assert plan_resume(d).discarded == 4
    assert main(["resume", str(d)]) == 0
    with Session(d) as s:
        assert s.metrics.epoch.tolist() == list(range(EPOCHS))
        np.testing.assert_array_equal(s.metrics.train_loss, [r.train_loss for r in recs])
        np.testing.assert_array_equal(s.metrics.lr, [r.lr for r in recs])
        for e, r in enumerate(recs):
            for m in range(s.members):
                for name, w8 in s.weights(e, member=m).items():
                    np.testing.assert_array_equal(w8, r.weights[name][m], err_msg=f"{e} {m}")
