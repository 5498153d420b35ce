"""``grutui resume``: a run stopped at epoch k and resumed equals an uninterrupted one."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from grutui.cli import main
from grutui.core.config import TrainConfig
from grutui.core.driver import record_run
from grutui.core.errors import SessionError
from grutui.core.records import EpochRecord
from grutui.core.resume import open_for_resume, plan_resume
from grutui.core.session import Session
from grutui.core.state import (
    STATE_NAME,
    TrainState,
    decode,
    encode,
    load_state,
    save_state,
)
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.helpers import tiny_config

EPOCHS = 12


def _cfg(epochs: int = EPOCHS) -> TrainConfig:
    # evaluations every 2 epochs and zero patience: the plateau schedule halves the
    # learning rate within the run, so its state must survive the resume too
    return tiny_config(
        engine="reference", epochs=epochs, eval_every=2, plateau_patience=0, lr=0.05, hidden=3
    )


@pytest.fixture(scope="module")
def full() -> list[EpochRecord]:
    recs = list(train(_cfg()))
    lrs = [float(r.lr[0]) for r in recs]
    assert len(set(lrs)) > 1, "the config must change the learning rate"
    return recs


def _stopped_run(path: Path, cfg: TrainConfig, stop_after: int) -> None:
    with SessionWriter(path, cfg) as w:
        for rec in train(cfg):
            w.append(rec)
            if rec.epoch == stop_after:
                break  # a stop: close() saves the state of the last complete epoch


def _assert_same_as(path: Path, full: list[EpochRecord]) -> None:
    with Session(path) as s:
        assert s.metrics.epoch.tolist() == list(range(len(full)))
        np.testing.assert_array_equal(s.metrics.train_loss[:, 0], [r.train_loss[0] for r in full])
        np.testing.assert_array_equal(s.metrics.lr[:, 0], [r.lr[0] for r in full])
        tl = [np.nan if r.test_loss is None else r.test_loss[0] for r in full]
        np.testing.assert_array_equal(s.metrics.test_loss[:, 0], tl)
        for e, r in enumerate(full):
            for name, w in s.weights(e).items():
                np.testing.assert_array_equal(w, r.weights[name][0], err_msg=f"{e} {name}")


@pytest.mark.parametrize("k", [0, 4, 7])
def test_resume_equals_an_uninterrupted_run(
    tmp_path: Path, full: list[EpochRecord], k: int, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "s"
    _stopped_run(d, _cfg(), k)
    assert load_state(d).epoch == k
    assert main(["resume", str(d)]) == 0
    _assert_same_as(d, full)
    with Session(d) as s:
        ev = [e for e in s.events() if e["kind"] == "resume"]
    assert len(ev) == 1 and ev[0]["from_epoch"] == k and ev[0]["source"] == "snapshot"
    assert main(["info", str(d)]) == 0
    assert f"resumed   1× (from epoch {k})" in capsys.readouterr().out


def test_epochs_after_the_saved_state_are_recomputed(
    tmp_path: Path, full: list[EpochRecord]
) -> None:
    # a kill -9 between two state saves: rows 4..8 exist, the state is from epoch 3
    d = tmp_path / "s"
    _stopped_run(d, _cfg(), 8)
    state = full[3].state
    assert state is not None
    save_state(d, state)
    plan = plan_resume(d)
    assert plan.state.epoch == 3 and plan.discarded == 5
    w = open_for_resume(d, plan)
    with Session(d) as s:
        assert s.last_epoch == 3 and s.snapshot_epochs[-1] == 3
    record_run(train(plan.config, resume=plan.state), w)
    w.close()
    _assert_same_as(d, full)


def test_epochs_option_extends_a_finished_run(tmp_path: Path, full: list[EpochRecord]) -> None:
    d = tmp_path / "s"
    short = _cfg(epochs=6)
    with SessionWriter(d, short) as w:
        record_run(train(short), w)
    with pytest.raises(SessionError, match="already trained through epoch 5"):
        plan_resume(d)
    with pytest.raises(SessionError, match="--epochs must exceed 6"):
        plan_resume(d, epochs=6)
    assert main(["resume", str(d), "--epochs", str(EPOCHS)]) == 0
    _assert_same_as(d, full)
    with Session(d) as s:
        assert s.config.epochs == EPOCHS


def test_resume_refusals_are_one_line_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "old"
    _stopped_run(d, tiny_config(engine="reference", epochs=4), 1)
    (d / STATE_NAME).unlink()  # as a session recorded before resumable state existed
    diverged = tmp_path / "div"
    cfg = tiny_config(engine="reference", epochs=30, lr=1e30, grad_clip=None, plateau_factor=None)
    with SessionWriter(diverged, cfg) as w:
        assert record_run(train(cfg), w) == "diverged"
    torn = tmp_path / "torn"
    _stopped_run(torn, tiny_config(engine="reference", epochs=4), 1)
    data = (torn / STATE_NAME).read_bytes()
    (torn / STATE_NAME).write_bytes(data[: len(data) // 2])
    cases = [
        (["resume", str(d)], "no saved training state"),
        (["resume", str(torn)], "not a readable training state"),
        (["resume", str(tmp_path / "nope")], "no session at"),
        (["resume", str(diverged)], "diverged"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1, err


def test_state_codec_round_trips_torch_like_structures() -> None:
    sd = {
        "state": {0: {"step": np.float32(3.0), "exp_avg": np.arange(3.0)}},
        "param_groups": [{"betas": (0.9, 0.999), "params": [0], "lr": 1e-4}],
        "best": math.inf,
    }
    arrays: dict[str, np.ndarray] = {}
    enc = encode(sd, "opt", arrays)
    back = decode(enc, arrays)
    assert list(back["state"]) == [0]
    assert back["param_groups"][0]["betas"] == (0.9, 0.999)
    np.testing.assert_array_equal(back["state"][0]["exp_avg"], np.arange(3.0))
    assert back["best"] == math.inf


def test_a_kill_while_saving_keeps_the_previous_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_state(tmp_path, TrainState(3, 1.0, {"model/x": np.ones(2, np.float32)}))

    def killed(*_a: object) -> None:
        raise KeyboardInterrupt  # the process dies between writing the temp file and renaming

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        save_state(tmp_path, TrainState(4, 2.0, {"model/x": np.zeros(2, np.float32)}))
    monkeypatch.undo()
    st = load_state(tmp_path)
    assert st.epoch == 3 and st.arrays["model/x"].tolist() == [1, 1]
    # a torn temp file from that kill is ignored and overwritten by the next save
    (tmp_path / (STATE_NAME + ".tmp")).write_bytes(b"\x89HDF garbage")
    save_state(tmp_path, TrainState(5, 3.0, {}))
    assert load_state(tmp_path).epoch == 5


def test_state_file_is_plain_hdf5(tmp_path: Path, full: list[EpochRecord]) -> None:
    st = full[2].state
    assert st is not None
    save_state(tmp_path, st)
    with h5py.File(tmp_path / STATE_NAME, "r") as f:  # the documented layout
        assert f.attrs["epoch"] == 2
        index = json.loads(f.attrs["index"])
        dtype, _shape, offset, nbytes = index["rng/torch"]
        raw = f["arrays"][offset : offset + nbytes].tobytes()
        assert np.dtype(dtype) == np.uint8
        np.testing.assert_array_equal(np.frombuffer(raw, np.uint8), st.arrays["rng/torch"])
        assert any(k.startswith("optimizer/state/") for k in index)
        assert "optimizer" in json.loads(f.attrs["meta"])


def test_state_arrays_never_unpack_objects(tmp_path: Path) -> None:
    save_state(tmp_path, TrainState(1, 1.0, {"model/x": np.ones(2, np.float32)}))
    with h5py.File(tmp_path / STATE_NAME, "r+") as f:
        f.attrs["index"] = json.dumps({"model/x": ["|O", [1], 0, 8]})
    with pytest.raises(SessionError, match="non-numeric dtype"):
        load_state(tmp_path)


def test_one_writer_per_session(tmp_path: Path) -> None:
    # resuming (or --force training) a session that a live run is writing is refused;
    # the lock goes with the writer, and with the process if it is killed
    d = tmp_path / "s"
    _stopped_run(d, _cfg(epochs=4), 1)
    plan = plan_resume(d)
    live = open_for_resume(d, plan)
    with pytest.raises(SessionError, match="being written by another training run"):
        open_for_resume(d, plan)
    with pytest.raises(SessionError, match="being written by another"):
        SessionWriter(d, _cfg(), overwrite=True)
    live.close()
    again = open_for_resume(d, plan_resume(d))
    again.close()


def test_a_reader_follows_a_resume(tmp_path: Path, full: list[EpochRecord]) -> None:
    # a viewer opened on a stopped run keeps working when the run is resumed: resume
    # publishes a rebuilt file, and refresh() switches to it
    d = tmp_path / "s"
    _stopped_run(d, _cfg(), 8)
    save_state(d, full[3].state)  # type: ignore[arg-type]
    with Session(d) as viewer:
        assert viewer.n_epochs == 9
        plan = plan_resume(d)
        w = open_for_resume(d, plan)
        assert viewer.refresh() is True and viewer.n_epochs == 4  # epochs 4..8 dropped
        record_run(train(plan.config, resume=plan.state), w)
        w.close()
        assert viewer.refresh() is True and viewer.n_epochs == EPOCHS
        np.testing.assert_array_equal(
            viewer.weights(EPOCHS - 1)["linear.bias"], full[-1].weights["linear.bias"][0]
        )
