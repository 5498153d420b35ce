"""RunView: Session (disk) and RunData (memory) are one read interface, checked by
mypy where the analyses take it and here at run time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grutui.core.analysis.ood import snapshot_epoch
from grutui.core.errors import SessionError
from grutui.core.rundata import RunData
from grutui.core.runview import RunLookups, RunView
from grutui.core.session import Session
from tests.helpers import make_session, random_params, synthetic_session, tiny_config


def summary(run: RunView) -> tuple[object, ...]:
    """Reads every lookup through the protocol (mypy checks both call sites below)."""
    last = run.resolve_epoch("last")
    w = run.weights(last)
    return (
        run.name,
        run.members,
        run.n_epochs,
        run.first_epoch,
        run.last_epoch,
        last,
        run.snapshot_index(last),
        snapshot_epoch(run, -1),
        sorted(w) == sorted(run.param_names),
        [tuple(v.shape) for v in run.weights_at_row(0).values()],
        run.final_losses(),
        len(run.events()),
    )


@pytest.fixture(scope="module")
def session_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_session(tmp_path_factory.mktemp("rv") / "s", tiny_config(epochs=5))


def test_session_and_rundata_are_run_views_with_the_same_answers(session_path: Path) -> None:
    with Session(session_path) as s:
        rd = RunData.from_session(s)
        assert isinstance(s, RunView) and isinstance(rd, RunView)
        assert isinstance(s, RunLookups) and isinstance(rd, RunLookups)  # one implementation
        assert summary(s) == summary(rd)
        assert s.first_epoch == rd.first_epoch == 0 and s.last_epoch == rd.last_epoch == 4


def test_the_shared_lookups_refuse_the_same_way(session_path: Path) -> None:
    with Session(session_path) as s:
        rd = RunData.from_session(s)
        for run in (s, rd):
            with pytest.raises(SessionError, match="member 3 out of range"):
                run.weights(0, 3)
            with pytest.raises(SessionError, match="out of range"):
                run.resolve_epoch(99)
            with pytest.raises(SessionError, match="no snapshot at or before"):
                run.snapshot_index(-1)


def test_an_empty_run_view() -> None:
    rd = RunData(tiny_config())
    assert isinstance(rd, RunView)
    assert (rd.first_epoch, rd.last_epoch, rd.n_epochs) == (-1, -1, 0)
    assert rd.final_losses() == {"train_loss": None, "test_loss": None}
    with pytest.raises(SessionError, match="no weight snapshots"):
        rd.snapshot_index(0)


def test_rundata_metrics_follow_appended_rows(session_path: Path) -> None:
    with Session(session_path) as s:
        full = RunData.from_session(s)
    rd = RunData.empty_like(full)
    rd.apply(full.rows(0, 2))
    assert rd.metrics is rd.metrics  # built once while no rows arrive
    assert rd.last_epoch == 1
    rd.apply(full.rows(2, 5))
    assert rd.last_epoch == 4
    np.testing.assert_array_equal(rd.metrics.epoch, np.arange(5))


def test_resolve_member_by_index_or_seed(tmp_path: Path) -> None:
    path = make_session(tmp_path / "ens", tiny_config(engine="fast", seeds=(4, 9), epochs=1))
    with Session(path) as s:
        for run in (s, RunData.from_session(s)):
            assert run.member_seeds() == (4, 9)
            assert run.resolve_member("1") == 1
            assert run.resolve_member("s9") == 1 and run.resolve_member(" Seed 4 ") == 0
            for bad, why in (("2", "out of range"), ("s5", "seed 5"), ("one", "index or")):
                with pytest.raises(SessionError, match=why):
                    run.resolve_member(bad)
    rng = np.random.default_rng(0)
    plain = synthetic_session(tmp_path / "syn", [random_params(rng, 2, 3)], np.ones((1, 3)))
    with Session(plain) as s:
        assert s.member_seeds() is None and s.resolve_member("2") == 2
        with pytest.raises(SessionError, match="no seed per member"):
            s.resolve_member("s1")
