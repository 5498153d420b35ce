"""The analysis subcommands end to end: output shape, JSON, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.config import preset
from grutui.core.layout import PARAM_NAMES, param_shapes
from grutui.core.records import EpochRecord
from grutui.core.writer import SessionWriter

TINY = ["--epochs", "5", "--n-samples", "200", "--batch-size", "32", "--eval-every", "2"]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", *TINY, "--hidden", "2", "--lr", "0.01", "--out", str(out)]) == 0
    return out


def ensemble(path: Path, members: int = 3, hidden: int = 2) -> Path:
    rng = np.random.default_rng(0)
    shapes = param_shapes(hidden)
    cfg = preset("blog").replace(epochs=2, hidden=hidden)
    with SessionWriter(path, cfg) as w:
        for e in range(2):
            weights = {n: rng.normal(size=(members, *shapes[n])) for n in PARAM_NAMES}
            k = np.ones(members)
            w.append(EpochRecord(e, k * 0.1, None, k * 1e-4, 0.0, weights))
    return path


def test_ood_text_and_json(session: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ood", str(session), "--samples", "10"]) == 0
    text = capsys.readouterr().out
    assert "epoch 4" in text and "flags\\len" in text and "*" in text
    assert main(["ood", str(session), "--epoch", "0", "--samples", "10", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["epoch"] == 0 and data["samples_per_cell"] == 10
    cells = {(c["length"], c["flags"]): c for c in data["cells"]}
    assert len(cells) == 26 and cells[(4, 2)]["in_distribution"]
    assert not cells[(5, 2)]["in_distribution"]
    assert all(0 <= c["success_rate"] <= 1 for c in cells.values())


def test_ood_history(session: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ood", str(session), "--history", "--samples", "6", "--stride", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + 26 and lines[2].startswith("L1F1  |")
    assert main(["ood", str(session), "--history", "--samples", "6", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["epochs"] == [0, 1, 2, 3, 4] and len(data["cells"][0]["success_rate"]) == 5
    single = json.loads(
        _out(capsys, ["ood", str(session), "--epoch", "3", "--samples", "6", "--json"])
    )
    cell = next(c for c in data["cells"] if (c["length"], c["flags"]) == (4, 2))
    one = next(c for c in single["cells"] if (c["length"], c["flags"]) == (4, 2))
    assert cell["success_rate"][3] == one["success_rate"]


def _out(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_transitions_json(session: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["transitions", str(session), "--sigma", "1", "--samples", "5", "--min-score", "0"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ood_epochs_evaluated"] == 5
    kinds = {t["kind"] for t in data["transitions"]}
    assert {"loss_curvature", "weight_velocity"} <= kinds
    epochs = [t["epoch"] for t in data["transitions"]]
    assert epochs == sorted(epochs)
    assert (session / "analysis.h5").is_file()  # the OOD history was cached
    assert main(["transitions", str(session), "--no-ood"]) == 0
    assert "candidates" in capsys.readouterr().out


def test_compare_ensemble(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = ensemble(tmp_path / "ens")
    assert main(["compare", str(path), "--samples", "5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["members"] == 3 and len(data["pairs"]) == 3
    assert all(p["aligned"] <= p["raw"] + 1e-9 for p in data["pairs"])
    assert main(["compare", str(path), "--samples", "5"]) == 0
    assert "0 vs 1" in capsys.readouterr().out


def test_import_blog_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "blog"
    src.mkdir()
    rng = np.random.default_rng(0)
    state = {
        "gru.weight_ih_l0": rng.normal(size=(3, 2)).tolist(),
        "gru.weight_hh_l0": rng.normal(size=(3, 1)).tolist(),
        "gru.bias_ih_l0": [0.0] * 3,
        "gru.bias_hh_l0": [0.0] * 3,
        "linear.weight": [[0.5]],
        "linear.bias": [0.1],
    }
    (src / "train_losses.json").write_text(json.dumps([0.5] * 52))
    (src / "test_losses.json").write_text(
        json.dumps([50.0 if e % 49 == 0 else None for e in range(52)])
    )
    (src / "all_weights.json").write_text(json.dumps([state, state]))
    out = tmp_path / "sessions" / "imp"
    assert main(["import-blog", str(src), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert main(["ood", str(out), "--samples", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["epoch"] == 49
    csv_file = tmp_path / "m.csv"
    assert main(["export", str(out), "--csv", str(csv_file)]) == 0
    lines = csv_file.read_text().splitlines()
    assert lines[0] == "epoch,wall_time,train_loss,test_loss,lr" and len(lines) == 53
    assert main(["export", str(out), "--csv", "-"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("0,")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ood", "{s}", "--epoch", "99"], "out of range"),
        (["ood", "{s}", "--member", "3"], "member 3 out of range"),
        (["ood", "{s}", "--samples", "0"], "at least 1"),
        (["ood", "{s}", "--history", "--stride", "0"], "--stride"),
        (["ood", "{missing}"], "no session at"),
        (["transitions", "{s}", "--sigma", "-1"], "--sigma"),
        (["compare", "{s}"], "single member"),
        (["import-blog", "{missing}"], "not a directory"),
        (["import-blog", "{tmp}", "--out", "{tmp}/x"], "train_losses.json not found"),
        (["export", "{s}", "--csv", "{tmp}/no/such/dir/m.csv"], "cannot write"),
        (["export", "{s}"], "--csv"),
    ],
)
def test_errors_are_one_line_exit_2(
    argv: list[str],
    message: str,
    session: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill = {"s": str(session), "missing": str(tmp_path / "nope"), "tmp": str(tmp_path)}
    rc = run([a.format(**fill) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def run(argv: list[str]) -> int:
    """``main``'s exit status, including argparse's (which exits instead of returning)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
