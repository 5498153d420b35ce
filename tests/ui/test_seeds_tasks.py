"""Comparing the members of an ensemble of a task without an OOD grid: the weights and
losses are compared, the OOD columns say there is no grid (CLI and Seeds pane)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grutui.cli import main
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from tests.helpers import shown, until

ENSEMBLE = [
    "train",
    "--preset",
    "grokking",
    "--task-option",
    "p=5",
    "--hidden",
    "3",
    "--epochs",
    "3",
    "--seeds",
    "0-2",
    "--device",
    "cpu",
    "--threads",
    "1",
]


@pytest.fixture(scope="module")
def modadd_ensemble(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ens") / "modadd"
    assert main([*ENSEMBLE, "--out", str(out)]) == 0
    return out


def test_compare_without_a_grid(modadd_ensemble: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(modadd_ensemble)]) == 0
    text = capsys.readouterr().out
    assert "no OOD comparison: the modadd task has no generalisation axes" in text
    assert text.count("member ") == 3 and "OOD mean success" not in text
    assert "0 vs 1:" in text and "1 vs 2:" in text
    assert main(["compare", str(modadd_ensemble), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["ood"] is None and got["ood_success_spread"] is None
    assert got["no_ood"].startswith("the modadd task") and len(got["pairs"]) == 3


async def test_the_seeds_pane_compares_them(modadd_ensemble: Path) -> None:
    with Session(modadd_ensemble) as s:
        data = RunData.from_session(s)
    app = GrutuiApp(data=data, start_pane="seeds")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "no grid for this task" in shown(app, "#cmp-content"))
        body = shown(app, "#cmp-content")
        assert "error" not in body.lower()
