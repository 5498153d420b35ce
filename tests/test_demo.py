"""The shipped demo session is the blog's own run: same losses, weights and output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grutui.cli import main
from grutui.core.session import Session
from tests.helpers import DEMO

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
