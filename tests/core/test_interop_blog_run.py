"""A short run of the blog's own code, saved as the blog saves it, imported, and compared
with grutui's trainer on the same preset: same epochs, same losses, same weights.

This pins down the epoch labelling of the import (the blog's state at index i is the
state after epoch 49·i, grutui's epoch e is the state after e + 1 passes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from grutui.core.config import preset
from grutui.core.interop import import_blog
from grutui.core.session import Session
from grutui.core.train import train
from tests.blog_reference import run_blog

# The blog's script with a smaller data set and evaluation every 5 epochs (instead of
# 10,000 samples and 49) so the comparison runs in seconds; the code path is the same.
EPOCHS = 12
EVAL = 5
N = 1000


def test_blog_run_imports_like_grutui_trains_it(tmp_path: Path) -> None:
    res = run_blog(EPOCHS, n_samples=N, eval_every=EVAL)
    src = tmp_path / "blog"
    src.mkdir()
    # what the blog's script writes: states only at the evaluation epochs
    states = [
        {k: v.tolist() for k, v in w.items()} for e, w in enumerate(res["weights"]) if e % EVAL == 0
    ]
    (src / "train_losses.json").write_text(json.dumps(res["train_losses"]))
    (src / "test_losses.json").write_text(json.dumps(res["test_losses"]))
    (src / "all_weights.json").write_text(json.dumps(states))
    final = {k: torch.tensor(v) for k, v in res["weights"][-1].items()}
    torch.save(final, src / f"gru_adding_problem_model_epochs_{EPOCHS}_hidden_1.pth")

    cfg = preset("blog").replace(
        engine="reference", epochs=EPOCHS, eval_every=EVAL, **{"task.n_samples": N}
    )
    records = list(train(cfg))
    with Session(import_blog(src, tmp_path / "imp")) as s:
        assert list(s.snapshot_epochs) == [0, 5, 10, 11]
        np.testing.assert_array_equal(
            s.metrics.train_loss[:, 0], [r.train_loss[0] for r in records]
        )
        for e in (0, 5, 10, 11):
            for name, arr in s.weights(e).items():
                np.testing.assert_array_equal(arr, records[e].weights[name][0])
