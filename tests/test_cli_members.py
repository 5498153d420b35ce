"""``grutui info`` on an ensemble: a summary of the members by default, the full list
with ``--members``, and the JSON keeps the per-member list beside the summary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.analysis.spread import spread
from grutui.core.session import Session
from tests.core.test_fast import poison_seed
from tests.helpers import make_session, tiny_config

SEEDS = (0, 1, 2, 3, 5)


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = tiny_config(engine="fast", seeds=SEEDS, epochs=3)
    return make_session(tmp_path_factory.mktemp("ens") / "run", cfg)


def _info(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["info", *argv]) == 0
    return capsys.readouterr().out


def test_info_summarises_members(ensemble: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _info(capsys, str(ensemble))
    assert "member 0:" not in text  # no line per member
    assert "seeds=0-3,5" in text and "members=5" in text
    with Session(ensemble) as s:
        train = [s.final_losses(m)["train_loss"] for m in range(5)]
    best, worst = int(np.argmin(train)), int(np.argmax(train))
    lines = text.splitlines()
    row = next(i for i, ln in enumerate(lines) if ln.startswith("final     train loss"))
    assert "median" in lines[row] and "quartiles" in lines[row]
    assert f"(member {best})" in lines[row + 1] and f"(member {worst})" in lines[row + 1]
    assert any(ln.startswith("final     test loss") for ln in lines)
    assert "diverged  0 members" in text and "--members" in text


def test_info_members_lists_each(ensemble: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _info(capsys, str(ensemble), "--members")
    assert all(f"member {m}: train loss" in text for m in range(5))
    assert "median" not in text


def test_info_json_keeps_the_list_and_adds_a_summary(
    ensemble: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = json.loads(_info(capsys, str(ensemble), "--json"))
    assert info["members"] == 5 and len(info["final"]) == 5
    summary = info["member_summary"]
    assert summary["seeds"] == "0-3,5" and summary["diverged"] == []
    train = [fl["train_loss"] for fl in info["final"]]
    assert summary["train_loss"]["median"] == pytest.approx(float(np.median(train)))
    assert summary["train_loss"]["argmin"] == int(np.argmin(train))
    assert summary["train_loss"]["count"] == 5


def test_info_single_member_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_session(tmp_path / "one", tiny_config(epochs=2))
    text = _info(capsys, str(run))
    assert "final     train loss" in text and "median" not in text
    assert "member_summary" not in json.loads(_info(capsys, str(run), "--json"))


def test_info_counts_diverged_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    poison_seed(monkeypatch, poisoned_seed=3)
    run = make_session(tmp_path / "div", tiny_config(engine="fast", seeds=(1, 3), epochs=3))
    text = _info(capsys, str(run))
    assert "diverged  1 member (1)" in text
    info = json.loads(_info(capsys, str(run), "--json"))
    assert info["member_summary"]["diverged"] == [1]
    assert info["member_summary"]["train_loss"]["missing"] == 1


def test_spread_quartiles_and_outliers() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 100.0, None, float("nan")]
    sp = spread(values)
    assert (sp.count, sp.missing) == (5, 2)
    assert (sp.median, sp.q1, sp.q3) == (3.0, 2.0, 4.0)
    assert (sp.argmin, sp.argmax) == (0, 4) and sp.high == (4,) and sp.low == ()
    assert spread([None, None]).count == 0
