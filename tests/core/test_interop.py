"""import-blog round trip on a tiny synthetic blog output directory; CSV export."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from grutui.core.analysis.ood import ood_at
from grutui.core.interop import InteropError, import_blog, metrics_csv
from grutui.core.layout import PARAM_NAMES
from grutui.core.session import Session
from tests.helpers import random_params


def blog_dir(tmp: Path, epochs: int = 100, hidden: int = 1, pth: bool = True) -> dict:
    """What the blog's script writes, for ``epochs`` epochs: states every 49 epochs."""
    rng = np.random.default_rng(0)
    evals = [e for e in range(epochs) if e % 49 == 0]
    states = [{k: v[0] for k, v in random_params(rng, hidden).items()} for _ in evals]
    final = {k: v[0] for k, v in random_params(rng, hidden).items()}
    train = [float(v) for v in np.exp(-np.arange(epochs) / 30)]
    test = [float(100 * train[e]) if e % 49 == 0 else None for e in range(epochs)]
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "train_losses.json").write_text(json.dumps(train))
    (tmp / "test_losses.json").write_text(json.dumps(test))
    (tmp / "all_weights.json").write_text(
        json.dumps([{k: v.tolist() for k, v in s.items()} for s in states])
    )
    if pth:
        sd = {k: torch.tensor(v) for k, v in final.items()}
        torch.save(sd, tmp / f"gru_adding_problem_model_epochs_{epochs}_hidden_{hidden}.pth")
    return {"states": states, "final": final, "train": train, "test": test, "evals": evals}


def test_import_round_trip(tmp_path: Path) -> None:
    src = blog_dir(tmp_path / "blog", epochs=100)
    out = import_blog(tmp_path / "blog", tmp_path / "sessions" / "imp")
    with Session(out) as s:
        assert s.config.epochs == 100 and s.config.hidden == 1 and s.config.task.seq_len == 4
        assert list(s.snapshot_epochs) == [0, 49, 98, 99]
        np.testing.assert_array_equal(s.metrics.epoch, np.arange(100))
        np.testing.assert_allclose(s.metrics.train_loss[:, 0], src["train"])
        for e, v in enumerate(src["test"]):
            if v is None:
                assert math.isnan(s.metrics.test_loss[e, 0])
            else:
                assert s.metrics.test_loss[e, 0] == pytest.approx(v)
        for e, state in zip(src["evals"], src["states"], strict=True):
            for n in PARAM_NAMES:
                np.testing.assert_array_equal(s.weights(e)[n], state[n].astype(np.float32))
        for n in PARAM_NAMES:
            np.testing.assert_array_equal(s.weights(60)[n], src["states"][1][n])  # latest ≤ 60
            np.testing.assert_array_equal(s.weights(99)[n], src["final"][n])
        assert s.resolve_epoch("last") == 99
        assert any(ev["kind"] == "import" for ev in s.events())
        assert ood_at(s, 60, samples=3).epoch == 49  # labelled by the snapshot used


def test_import_without_pth_ends_at_last_saved_state(tmp_path: Path) -> None:
    blog_dir(tmp_path / "blog", epochs=60, hidden=2, pth=False)
    with Session(import_blog(tmp_path / "blog", tmp_path / "s")) as s:
        assert list(s.snapshot_epochs) == [0, 49] and s.n_epochs == 60 and s.config.hidden == 2


def test_import_rejects_pickled_objects(tmp_path: Path) -> None:
    blog_dir(tmp_path / "blog", epochs=50, pth=False)
    torch.save({"model": Path("x")}, tmp_path / "blog" / "evil.pth")  # needs unpickling
    with pytest.raises(InteropError, match="weights_only=True"):
        import_blog(tmp_path / "blog", tmp_path / "s")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d / "train_losses.json").unlink(), "not found"),
        (lambda d: (d / "all_weights.json").write_text("{oops"), "not readable JSON"),
        (lambda d: (d / "test_losses.json").write_text("[1.0]"), "one per epoch"),
        (
            lambda d: (d / "all_weights.json").write_text(json.dumps([{"gru.weight_ih_l0": [1]}])),
            "missing parameter",
        ),
    ],
)
def test_import_errors_are_clear(tmp_path: Path, mutate, message: str) -> None:
    blog_dir(tmp_path / "blog", epochs=50, pth=False)
    mutate(tmp_path / "blog")
    with pytest.raises(InteropError, match=message):
        import_blog(tmp_path / "blog", tmp_path / "s")


def test_import_refuses_to_overwrite(tmp_path: Path) -> None:
    from grutui.core.errors import SessionError

    blog_dir(tmp_path / "blog", epochs=50, pth=False)
    import_blog(tmp_path / "blog", tmp_path / "s")
    with pytest.raises(SessionError, match="already exists"):
        import_blog(tmp_path / "blog", tmp_path / "s")
    import_blog(tmp_path / "blog", tmp_path / "s", overwrite=True)


def test_metrics_csv(tmp_path: Path) -> None:
    src = blog_dir(tmp_path / "blog", epochs=50, pth=False)
    with Session(import_blog(tmp_path / "blog", tmp_path / "s")) as s:
        text = metrics_csv(s)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["epoch", "wall_time", "train_loss", "test_loss", "lr"]
    assert len(rows) == 51
    assert float(rows[1][2]) == src["train"][0] and float(rows[1][3]) == src["test"][0]
    assert rows[2][3] == "" and rows[2][4] == ""  # not evaluated; lr unknown
