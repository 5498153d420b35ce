"""A short run of the blog's own code, saved as the blog saves it, imported, and compared
with grutui's trainer on the same preset: same epochs, same losses, same weights.

This pins down the epoch labelling of the import (the blog's state at index i is the
state after epoch 49·i, grutui's epoch e is the state after e + 1 passes)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from grutui.core.config import preset
from grutui.core.interop import import_blog
from grutui.core.session import Session
from grutui.core.train import train

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from blog_reference import run_blog

EPOCHS = 50


@pytest.mark.skipif(
    not os.environ.get("GRUTUI_SLOW"),
    reason="two 50-epoch runs on the blog's 10,000 samples; set GRUTUI_SLOW=1",
)
def test_blog_run_imports_like_grutui_trains_it(tmp_path: Path) -> None:
    res = run_blog(EPOCHS)
    src = tmp_path / "blog"
    src.mkdir()
    # what the blog's script writes: states only at the evaluation epochs
    states = [
        {k: v.tolist() for k, v in w.items()} for e, w in enumerate(res["weights"]) if e % 49 == 0
    ]
    (src / "train_losses.json").write_text(json.dumps(res["train_losses"]))
    (src / "test_losses.json").write_text(json.dumps(res["test_losses"]))
    (src / "all_weights.json").write_text(json.dumps(states))
    final = {k: torch.tensor(v) for k, v in res["weights"][-1].items()}
    torch.save(final, src / f"gru_adding_problem_model_epochs_{EPOCHS}_hidden_1.pth")

    records = list(train(preset("blog").replace(epochs=EPOCHS)))
    with Session(import_blog(src, tmp_path / "imp")) as s:
        assert list(s.snapshot_epochs) == [0, 49]
        np.testing.assert_array_equal(
            s.metrics.train_loss[:, 0], [r.train_loss[0] for r in records]
        )
        for e in (0, 49):
            for name, arr in s.weights(e).items():
                np.testing.assert_array_equal(arr, records[e].weights[name][0])
