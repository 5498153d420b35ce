"""The shipped demo sessions: the blog's own run (same losses, weights and output), and a
run of each new built-in task made by a documented command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.analysis.transitions import accuracy_gap
from grutui.core.config import preset
from grutui.core.records import weight_norm
from grutui.core.session import Session
from grutui.core.train import train
from tests.helpers import DEMO, FLIPFLOP_DEMO, MODADD_DEMO

# Recorded by running the blog's code (tests/blog_reference.py, 3000 epochs, seed 37).
BLOG = json.loads((Path(__file__).parent / "data" / "blog_seed37_final.json").read_text())


def test_demo_session_is_complete() -> None:
    with Session(DEMO) as s:
        assert s.config.epochs == 3000 and s.config.seed == 37
        assert s.n_epochs == 3000
        np.testing.assert_array_equal(s.snapshot_epochs, np.arange(3000))
        assert [e["kind"] for e in s.events()][-1] == "finish"


def test_demo_final_state_equals_the_blogs_run() -> None:
    with Session(DEMO) as s:
        w = s.weights(2999)
        for name, ref in BLOG["final_weights"].items():
            np.testing.assert_allclose(
                w[name], np.array(ref, np.float32), atol=1e-7, rtol=0, err_msg=name
            )
        fl = s.final_losses()
        assert fl["train_loss"] == pytest.approx(BLOG["final_train_loss"], rel=1e-9)
        assert fl["test_loss"] == pytest.approx(BLOG["last_test_loss"], rel=1e-9)
        assert s.metrics.lr[-1, 0] == BLOG["final_lr"]


def test_trace_on_demo_gives_the_blogs_output(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["trace", str(DEMO), "12:0 37:1 12:0 21:1", "--epoch", "last", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["epoch"] == 2999
    assert out["expected"] == 58
    # the blog computed this with torch; the gate function agrees to float32 precision
    assert out["output_x_high"] == pytest.approx(
        BLOG["output_x_high_12_0_37_1_12_0_21_1"], abs=1e-4
    )


# -- the task demos ----------------------------------------------------------------------
# Each was recorded by the command the README gives (a preset, a snapshot stride that
# keeps the file small, one thread); a re-run of its first epochs gives the same numbers.

TASK_DEMOS = {
    MODADD_DEMO: ("grokking", {"snapshot_every": 500, "threads": 1}),
    FLIPFLOP_DEMO: ("flipflop", {"snapshot_every": 10, "threads": 1}),
}
MAX_BYTES = 4 << 20  # a demo ships in the repository: small enough for every clone


@pytest.mark.parametrize("path", list(TASK_DEMOS), ids=lambda p: p.name)
def test_task_demo_is_the_documented_run_complete_and_small(path: Path) -> None:
    name, changes = TASK_DEMOS[path]
    with Session(path) as s:
        cfg = s.config
        assert cfg == preset(name).replace(**changes)
        assert s.n_epochs == cfg.epochs and s.members == 1
        # every snapshot_every epochs, and the last epoch of each leg (a resume extends)
        resumed = [e["from_epoch"] for e in s.events() if e["kind"] == "resume"]
        planned = {*range(0, cfg.epochs, cfg.snapshot_every), *resumed, cfg.epochs - 1}
        np.testing.assert_array_equal(s.snapshot_epochs, sorted(planned))
        assert [e["kind"] for e in s.events()][-1] == "finish"
        assert np.isfinite(s.metrics.weight_norm).all()
    assert sorted(p.name for p in path.iterdir()) == ["SHIPPED", "events.jsonl", "session.h5"]
    assert sum(p.stat().st_size for p in path.iterdir()) < MAX_BYTES


def test_the_modadd_demo_groks() -> None:
    """Train accuracy reaches 99 % thousands of epochs before test accuracy does."""
    with Session(MODADD_DEMO) as s:
        m = s.metrics
        gap = accuracy_gap(s)
    assert gap is not None and gap.train_epoch is not None and gap.test_epoch is not None
    assert gap.delay is not None and gap.delay > 4000
    assert m.test_acc[gap.train_epoch, 0] < 0.01  # memorised, not generalised
    test95 = int(np.flatnonzero(m.test_acc[:, 0] >= 0.95)[0])
    assert test95 - gap.train_epoch > 3000
    # the weight norm peaks while the network generalises, then weight decay shrinks it
    norm = m.weight_norm[:, 0]
    assert gap.train_epoch < int(np.argmax(norm)) < gap.test_epoch
    assert norm[-1] < norm.max() - 5


@pytest.mark.parametrize("path", list(TASK_DEMOS), ids=lambda p: p.name)
def test_a_rerun_of_the_task_demo_gives_its_first_epochs(path: Path) -> None:
    epochs = 2
    with Session(path) as s:
        cfg = s.config.replace(epochs=epochs, device="cpu")
        m = s.metrics
        first = s.weights(0)
        init = s.initial_weights()
    recs = list(train(cfg))
    for name in ("train_loss", "test_loss", "train_acc", "test_acc"):
        got = np.array([np.nan if (v := getattr(r, name)) is None else v[0] for r in recs])
        np.testing.assert_allclose(got, getattr(m, name)[:epochs, 0], rtol=1e-5, err_msg=name)
    norms = [weight_norm(r.weights)[0] for r in recs]
    np.testing.assert_allclose(norms, m.weight_norm[:epochs, 0], rtol=1e-6)
    assert init is not None and recs[0].initial_weights is not None
    for name, w in first.items():
        np.testing.assert_allclose(recs[0].initial_weights[name][0], init[name], atol=1e-7)
        np.testing.assert_allclose(recs[0].weights[name][0], w, atol=1e-6, err_msg=name)
