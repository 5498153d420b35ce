"""The trainer's blog preset reproduces the blog's own loop (tests/blog_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from grutui.core.config import preset
from grutui.core.errors import ConfigError
from grutui.core.layout import PARAM_NAMES
from grutui.core.train import train
from tests.blog_reference import run_blog
from tests.helpers import tiny_config


def _compare(ref: dict, recs: list, epochs: int) -> None:
    assert len(recs) == epochs
    for e in range(epochs):
        r = recs[e]
        assert r.epoch == e
        assert abs(r.train_loss[0] - ref["train_losses"][e]) <= 1e-6 * max(
            1, ref["train_losses"][e]
        )
        ref_test = ref["test_losses"][e]
        if ref_test is None:
            assert r.test_loss is None
        else:
            assert r.test_loss is not None
            assert abs(r.test_loss[0] - ref_test) <= 1e-6 * max(1.0, ref_test)
        for name in PARAM_NAMES:
            np.testing.assert_allclose(
                r.weights[name][0],
                ref["weights"][e][name],
                atol=1e-6,
                rtol=0,
                err_msg=f"epoch {e} {name}",
            )
        # the blog reads lr after the scheduler step; records hold the lr used in the epoch
        if e + 1 < epochs:
            assert recs[e + 1].lr[0] == pytest.approx(ref["lrs"][e], abs=0)


@pytest.mark.slow
def test_blog_preset_equals_the_blogs_loop() -> None:
    epochs = 2
    ref = run_blog(epochs)
    recs = list(train(preset("blog").replace(engine="reference", epochs=epochs)))
    _compare(ref, recs, epochs)


def test_blog_loop_with_evaluations_and_lr_drops() -> None:
    # frequent evaluations and zero patience exercise the test loader's RNG draw and the
    # plateau schedule within a few epochs
    epochs = 10
    ref = run_blog(epochs, n_samples=1000, eval_every=2, patience=0, hidden_size=3, lr=0.05)
    cfg = preset("blog").replace(
        engine="reference",
        epochs=epochs,
        eval_every=2,
        plateau_patience=0,
        hidden=3,
        lr=0.05,
        **{"task.n_samples": 1000},
    )
    recs = list(train(cfg))
    _compare(ref, recs, epochs)
    assert len(set(ref["lrs"])) > 1, "the test should see at least one LR drop"
    drops = [ev for r in recs for ev in r.events if ev["kind"] == "lr_change"]
    assert len(drops) == len(set(ref["lrs"])) - 1


def test_first_record_carries_initial_weights_and_stop_is_honoured() -> None:
    cfg = tiny_config(engine="reference", epochs=50)
    seen = []
    gen = train(cfg, should_stop=lambda: len(seen) >= 3)
    for rec in gen:
        seen.append(rec)
    assert len(seen) == 3
    assert seen[0].initial_weights is not None and seen[1].initial_weights is None
    assert set(seen[0].initial_weights) == set(PARAM_NAMES)
    assert not np.array_equal(
        seen[0].initial_weights["linear.weight"], seen[0].weights["linear.weight"]
    )


def test_divergence_stops_training_and_is_reported() -> None:
    cfg = tiny_config(engine="reference", epochs=30, lr=1e30, grad_clip=None, plateau_factor=None)
    recs = list(train(cfg))
    assert recs[-1].diverged
    assert len(recs) < 30
    assert any(ev["kind"] == "diverged" for ev in recs[-1].events)
    assert all(not r.diverged for r in recs[:-1])


def test_general_task_trains_with_variable_lengths() -> None:
    cfg = preset("general").replace(
        engine="reference", epochs=2, hidden=4, threads=1, eval_every=1, **{"task.n_samples": 400}
    )
    recs = list(train(cfg))
    assert len(recs) == 2 and recs[1].test_loss is not None
    assert np.isfinite(recs[1].train_loss).all()


def test_invalid_config_raises_config_error() -> None:
    with pytest.raises(ConfigError):
        next(train(preset("blog").replace(engine="reference", hidden=0)))


def test_every_backward_runs_in_train_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    # cuDNN refuses an RNN backward in eval mode; the CPU does not, so check the mode of
    # every forward that builds a graph (each is followed by a backward), across epochs
    # that evaluate
    import torch

    from grutui.core.model import AddingGRU

    modes: list[tuple[bool, bool]] = []
    forward = AddingGRU.forward

    def spy(self: AddingGRU, *args: object) -> torch.Tensor:
        modes.append((torch.is_grad_enabled(), self.training))
        return forward(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(AddingGRU, "forward", spy)
    recs = list(train(tiny_config(engine="reference", epochs=4, eval_every=1)))
    assert len(recs) == 4
    graded = [training for grad, training in modes if grad]
    evals = [training for grad, training in modes if not grad]
    assert graded and all(graded), "a backward ran with the model in eval mode"
    assert evals.count(False) == 4, "each evaluation runs in eval mode"
