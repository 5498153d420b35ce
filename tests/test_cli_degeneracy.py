"""``grutui degeneracy``: the three levels at an epoch (text and JSON), each level's
mean over epochs, and one-line errors (a single-member session, a bad epoch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.analysis.degeneracy import LEVELS, DegeneracyAnalysis
from grutui.core.session import Session
from tests.core.test_degeneracy import flipflop_session


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return flipflop_session(tmp_path_factory.mktemp("ens") / "ff", members=3, epochs=4)


def test_text_has_one_line_per_level(ensemble: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["degeneracy", str(ensemble), "--epoch", "2"]) == 0
    out = capsys.readouterr().out
    with Session(ensemble) as s:
        res = DegeneracyAnalysis(s).at(2)
    assert "epoch 2  3 members" in out
    for name in LEVELS:
        assert res.level(name).summary() in out


def test_json_matches_the_core(ensemble: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["degeneracy", str(ensemble), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    with Session(ensemble) as s:
        res = DegeneracyAnalysis(s).at("last")
    assert got["epoch"] == res.epoch == 3 and got["members"] == 3
    assert set(got["levels"]) == set(LEVELS)
    for name in LEVELS:
        lv = got["levels"][name]
        np.testing.assert_allclose(lv["matrix"], res.level(name).matrix, rtol=1e-12)
        assert lv["mean"] == pytest.approx(res.level(name).mean)
        assert lv["baseline"] == pytest.approx(res.level(name).baseline)
        assert lv["measure"]


def test_history_json(ensemble: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["degeneracy", str(ensemble), "--history", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["epochs"] == [0, 1, 2, 3] and got["complete"]
    assert set(got["levels"]) == set(LEVELS)
    assert main(["degeneracy", str(ensemble), "--history"]) == 0
    assert "each level's mean over epochs" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epoch", "99"], "out of range"),
        (["--epoch", "soon"], "epoch"),
        (["--history", "--stride", "0"], "--stride must be at least 1"),
    ],
)
def test_bad_input_is_one_line(
    ensemble: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["degeneracy", str(ensemble), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("grutui: error: ") and message in err and err.count("\n") == 1


def test_a_single_member_session_is_refused(
    tiny_session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["degeneracy", str(tiny_session)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("grutui: error: ") and "single member" in err
    assert err.count("\n") == 1


def test_a_missing_session_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["degeneracy", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith("grutui: error: ")
