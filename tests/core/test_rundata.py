"""RunData: the app's in-memory view of a run answers exactly as Session does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grutui.core.analysis.transitions import find_transitions
from grutui.core.errors import SessionError
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.helpers import DEMO, tiny_config


def _same(a: RunData, s: Session) -> None:
    assert a.n_epochs == s.n_epochs and a.last_epoch == s.last_epoch
    assert a.members == s.members and a.high == s.high and a.config == s.config
    assert a.param_names == s.param_names and a.param_shapes == s.param_shapes
    for f in ("epoch", "train_loss", "test_loss", "lr", "wall_time"):
        np.testing.assert_array_equal(getattr(a.metrics, f), getattr(s.metrics, f))
    np.testing.assert_array_equal(a.snapshot_epochs, s.snapshot_epochs)
    for e in {0, s.last_epoch // 2, s.last_epoch}:
        wa, ws = a.weights(e), s.weights(e)
        assert wa.keys() == ws.keys()
        for k in wa:
            np.testing.assert_array_equal(wa[k], ws[k])
    for k in s.param_names:
        np.testing.assert_array_equal(a.weight_history(k), s.weight_history(k))
    ia, is_ = a.initial_weights(), s.initial_weights()
    assert ia is not None and is_ is not None
    for k in is_:
        np.testing.assert_array_equal(ia[k], is_[k])
    assert a.final_losses() == s.final_losses()
    for q in ("last", 0, -1, s.last_epoch):
        assert a.resolve_epoch(q) == s.resolve_epoch(q)
    assert a.snapshot_index(s.last_epoch) == s.snapshot_index(s.last_epoch)


def test_from_session_matches_session_on_the_demo() -> None:
    with Session(DEMO) as s:
        rd = RunData.from_session(s)
        _same(rd, s)
        assert rd.events() == s.events()


def test_extend_from_records_matches_the_written_session(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=7, snapshot_every=3)
    rd = RunData(cfg, name="s", directory=tmp_path / "s")
    with SessionWriter(tmp_path / "s", cfg) as w:
        for rec in train(cfg):
            w.append(rec)
            rd.extend([rec])  # one at a time: exercises growth of every buffer
    with Session(tmp_path / "s") as s:
        np.testing.assert_array_equal(s.snapshot_epochs, [0, 3, 6])
        _same(rd, s)


def test_buffers_grow_past_capacity_and_reads_are_views(tmp_path: Path) -> None:
    cfg = tiny_config(epochs=3)
    recs = list(train(cfg))
    rd = RunData(cfg)
    # replay the same records with shifted epochs to cross several doublings
    for i in range(300):
        r = recs[i % 3]
        r2 = type(r)(**{**r.__dict__, "epoch": i})
        rd.extend([r2])
    assert rd.n_epochs == 300 and rd.last_epoch == 299
    assert len(rd.snapshot_epochs) == 300  # snapshot_every=1
    h = rd.weight_history("linear.weight")
    assert h.shape == (300, 1, 1) and np.shares_memory(h, rd._weights["linear.weight"].data)
    assert rd.weights(150)["linear.weight"][0, 0] == recs[0].weights["linear.weight"][0, 0, 0]


def test_pull_follows_a_growing_session(tmp_path: Path) -> None:
    # what the app's watcher does: refresh the live Session, pull what is new, apply it
    cfg = tiny_config(epochs=6)
    recs = list(train(cfg))
    w = SessionWriter(tmp_path / "live", cfg)
    for r in recs[:2]:
        w.append(r)
    s = Session(tmp_path / "live")
    rd = RunData.from_session(s)
    assert rd.n_epochs == 2
    s.refresh()
    assert rd.apply(rd.pull(s)) == 0
    for r in recs[2:]:
        w.append(r)
    s.refresh()
    assert rd.apply(rd.pull(s)) == 4
    assert rd.n_epochs == 6
    w.close()
    s.refresh()
    _same(rd, s)
    s.close()


def test_empty_run_and_errors() -> None:
    rd = RunData(tiny_config())
    assert rd.n_epochs == 0 and rd.last_epoch == -1
    assert rd.final_losses() == {"train_loss": None, "test_loss": None}
    with pytest.raises(SessionError):
        rd.resolve_epoch("last")
    with pytest.raises(SessionError):
        rd.snapshot_index(0)


def test_analyses_accept_rundata() -> None:
    with Session(DEMO) as s:
        rd = RunData.from_session(s)
        a = find_transitions(rd, 0, 5.0, None, 4)
        b = find_transitions(s, 0, 5.0, None, 4)
    assert [t.to_json() for t in a] == [t.to_json() for t in b]


def test_extend_refuses_records_of_another_ensemble_size() -> None:
    cfg = tiny_config(epochs=1)
    rd = RunData(cfg, members=2)
    with pytest.raises(SessionError, match="members"):
        rd.extend(train(cfg))
    assert rd.n_epochs == 0
