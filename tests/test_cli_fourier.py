"""``grutui fourier``: the spectrum and the survival ranking as text and JSON, and its
one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.analysis.fourier import fourier_at, survival_history
from grutui.core.session import Session
from tests.helpers import refused, tiny_circles_argv

TINY = tiny_circles_argv(11, 6, snapshot_every=2)


@pytest.fixture(scope="module")
def modadd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-fourier") / "modadd"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def test_text(modadd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fourier", str(modadd), "--epoch", "3"]) == 0
    out = capsys.readouterr().out
    with Session(modadd) as s:
        spec = fourier_at(s, 3)
    assert out.splitlines()[0].endswith("epoch 2  member 0  p=11")  # the snapshot at or before
    assert spec.epoch == 2
    for k in (1, 5):
        assert f"k={k} " in out
    assert "circles (S > 2×mean" in out and "survival over snapshots 0..5" in out
    assert len([line for line in out.splitlines() if line.endswith(("-", "died", "survived"))]) == 5


def test_json(modadd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fourier", str(modadd), "--json", "--history"]) == 0
    got = json.loads(capsys.readouterr().out)
    with Session(modadd) as s:
        spec = fourier_at(s, "last")
        surv = survival_history(s, use_cache=False)
    assert got["epoch"] == spec.epoch == 5 and got["p"] == 11
    assert [f["k"] for f in got["frequencies"]] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([f["signal"] for f in got["frequencies"]], spec.signal)
    assert got["circles"] == spec.circle_frequencies
    sv = got["survival"]
    assert sv["snapshots"] == 4 and sv["epochs"] == [0, 2, 4, 5]
    np.testing.assert_allclose(sv["signal"], surv.signal)
    assert [r["k"] for r in sv["ranking"]] == [r.k for r in surv.ranking()]
    assert sv["summary"] == surv.summary()
    # without --history the matrix is left out
    assert main(["fourier", str(modadd), "--json"]) == 0
    assert "signal" not in json.loads(capsys.readouterr().out)["survival"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epoch", "99"], "epoch 99 out of range"),
        (["--epoch", "soon"], "epoch must be a number or 'last'"),
        (["--member", "2"], "member 2 out of range"),
    ],
)
def test_bad_input(
    modadd: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in refused(["fourier", str(modadd), *args], capsys)


def test_a_task_without_tokens_is_refused(
    tiny_session: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refused(["fourier", str(tiny_session)], capsys)
    assert "needs a token input feature (task 'blog' has none)" in line
    assert "no session" in refused(["fourier", str(tmp_path / "nope")], capsys)


def test_a_diverged_run_gives_nulls_not_nan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "diverged"
    assert main(["train", *TINY, "--lr", "1e30", "--out", str(out)]) == 1  # it diverged
    capsys.readouterr()
    assert main(["fourier", str(out), "--json", "--history"]) == 0
    captured = capsys.readouterr()
    got = json.loads(captured.out, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert got["threshold"] is None and got["circles"] == []
    assert all(f["signal"] is None for f in got["frequencies"])
    assert got["survival"]["summary"]["spearman_signal"] is None
    assert got["survival"]["signal"][0][0] is not None  # the first snapshot is finite
    assert "Warning" not in captured.err
    assert main(["fourier", str(out)]) == 0
    assert "k=1    S        nan   ?" in capsys.readouterr().out
