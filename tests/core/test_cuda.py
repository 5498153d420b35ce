"""Both engines, the app and resume on a CUDA GPU (skipped where there is none).

Run where a GPU is: ``pytest -m cuda`` (bench/gpu_check.sh runs them with the suite).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from grutui.cli import main
from grutui.core import fast
from grutui.core.config import TrainConfig, preset
from grutui.core.device import recorded_device
from grutui.core.driver import record_run
from grutui.core.errors import ConfigError
from grutui.core.records import EpochRecord
from grutui.core.session import Session
from grutui.core.state import load_state
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.helpers import tiny_config, until

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

# Weights after 200 blog epochs, CUDA vs CPU: the fast engine was measured at <= 1.2e-7
# on an H200; cuDNN's GRU sums in another order than the CPU's, so the reference gets
# more room (the trajectories still agree to well under a training step's change).
FAST_TOL = 1e-5
REFERENCE_TOL = 1e-4


def _run(cfg: TrainConfig) -> list[EpochRecord]:
    return list(train(cfg))


def _close(a: EpochRecord, b: EpochRecord, tol: float, member: int = 0) -> None:
    np.testing.assert_allclose(a.train_loss[member], b.train_loss[member], rtol=tol * 10)
    for name, w in a.weights.items():
        np.testing.assert_allclose(w[member], b.weights[name][member], atol=tol, err_msg=name)


@pytest.mark.parametrize("engine, tol", [("fast", FAST_TOL), ("reference", REFERENCE_TOL)])
def test_engine_on_cuda_equals_its_cpu_run(engine: str, tol: float) -> None:
    cfg = preset("blog").replace(engine=engine, epochs=200)
    gpu = _run(cfg.replace(device="cuda"))
    cpu = _run(cfg.replace(device="cpu"))
    assert len(gpu) == len(cpu) == 200
    assert gpu[0].device is not None and gpu[0].device.startswith("cuda:")
    assert cpu[0].device == "cpu"
    for e in (0, 49, 199):
        _close(gpu[e], cpu[e], tol)
    assert [r.lr[0] for r in gpu] == [r.lr[0] for r in cpu]


def test_ensemble_member_equals_the_single_run_on_cuda() -> None:
    base = tiny_config(epochs=6, eval_every=1, plateau_patience=1, lr=0.02, device="cuda")
    ens = _run(base.replace(engine="fast", seeds=(0, 5, 37)))
    for i, s in enumerate((0, 5, 37)):
        single = _run(base.replace(engine="fast", seed=s))
        for a, b in zip(single, ens, strict=True):
            np.testing.assert_allclose(b.train_loss[i], a.train_loss[0], rtol=FAST_TOL)
            for name, w in a.weights.items():
                np.testing.assert_allclose(b.weights[name][i], w[0], atol=FAST_TOL)


def test_auto_trains_large_ensembles_on_the_gpu() -> None:
    cfg = tiny_config(seeds=tuple(range(64)), batch_size=256, epochs=2, device="auto")
    recs = _run(cfg)
    assert recs[0].device is not None and recs[0].device.startswith("cuda:0 ")
    single = _run(tiny_config(epochs=1, device="auto"))
    assert single[0].device == "cpu"  # a single hidden-1 run is faster on the CPU


def _session(path: Path, cfg: TrainConfig) -> Path:
    with SessionWriter(path, cfg) as w:
        w.event("start", None, source="test")
        record_run(train(cfg), w)
    return path


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_cuda_session_resumes_on_a_cpu_only_machine(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tiny_config(engine=engine, epochs=3, device="cuda")
    path = _session(tmp_path / "gpu", cfg)
    full = _run(cfg.replace(epochs=6))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["resume", str(path), "--epochs", "6"]) == 0
    monkeypatch.undo()
    with Session(path) as s:
        assert s.last_epoch == 5
        assert recorded_device(s.events()) == "cpu (cuda unavailable here)"
        w = s.weights(5)
    tol = FAST_TOL if engine == "fast" else REFERENCE_TOL
    for name, v in full[-1].weights.items():
        np.testing.assert_allclose(w[name], v[0], atol=tol, err_msg=name)


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_cpu_session_resumes_on_cuda(engine: str, tmp_path: Path) -> None:
    cfg = tiny_config(engine=engine, epochs=3)
    path = _session(tmp_path / "cpu", cfg)
    state = load_state(path)
    resumed = list(train(cfg.replace(epochs=6, device="cuda"), resume=state))
    full = _run(cfg.replace(epochs=6))
    assert [r.epoch for r in resumed] == [3, 4, 5]
    assert resumed[0].device is not None and resumed[0].device.startswith("cuda:")
    tol = FAST_TOL if engine == "fast" else REFERENCE_TOL
    _close(resumed[-1], full[-1], tol)


def test_an_ensemble_too_large_for_the_gpu_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    free = torch.cuda.mem_get_info()[0]
    cfg = preset("blog")
    fits = free // fast.member_bytes(cfg)
    with pytest.raises(ConfigError, match=r"at most \d+ members fit"):
        next(train(cfg.replace(seeds=tuple(range(2 * fits + 10)), device="cuda")))
    argv = ["train", "--seeds", f"0-{2 * fits + 10}", "--device", "cuda"]
    assert main([*argv, "--out", str(tmp_path / "big")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("grutui: error: an ensemble of") and err.count("\n") == 1
    assert not (tmp_path / "big").exists()  # refused before a session was made


def test_shuffles_drawn_ahead_on_cuda_match_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny_config(engine="fast", seeds=tuple(range(70)), epochs=4, device="cuda")
    ahead = _run(cfg)  # the GPU default: drawn ahead
    monkeypatch.setattr(fast, "PREFETCH", False)
    serial = _run(cfg)
    for a, b in zip(serial, ahead, strict=True):
        np.testing.assert_array_equal(a.train_loss, b.train_loss)
        for name, arr in a.state.arrays.items():  # type: ignore[union-attr]
            np.testing.assert_array_equal(arr, b.state.arrays[name])  # type: ignore[union-attr]


@pytest.mark.parametrize("engine", ["fast", "reference"])
async def test_app_trains_on_cuda(engine: str, tmp_path: Path) -> None:
    from grutui.ui.app import GrutuiApp

    cfg = tiny_config(engine=engine, epochs=6, eval_every=1, device="cuda")
    out = tmp_path / "run"
    app = GrutuiApp(new=(cfg, out, False))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await until(pilot, lambda: app.run_status == "finished", timeout=60)
        assert app.data is not None and app.data.n_epochs == 6
        run_line = str(app.screen.query_one("#train-run").render())
        assert "cuda:0" in run_line
    with Session(out) as s:
        assert s.n_epochs == 6
        label = recorded_device(s.events())
        assert label is not None and label.startswith("cuda:0 ")


@pytest.mark.parametrize(
    "changes",
    [
        {},  # three full batches and a partial one
        {"task.flavour": "general", "hidden": 3},  # variable lengths: the gathered lengths
        {"seeds": (1, 2, 3), "eval_every": 1, "plateau_patience": 0, "lr": 0.05},
    ],
)
def test_cuda_graph_epochs_equal_eager_epochs(
    changes: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tiny_config(engine="fast", epochs=8, device="cuda", **changes)
    graphed = _run(cfg)
    assert graphed[0].device is not None and "no CUDA graph" not in graphed[0].device
    monkeypatch.setattr(fast, "CUDA_GRAPHS", False)
    eager = _run(cfg)
    for a, b in zip(eager, graphed, strict=True):
        assert [e["kind"] for e in a.events] == [e["kind"] for e in b.events]
        np.testing.assert_array_equal(a.lr, b.lr)
        for m in range(a.members):
            _close(a, b, FAST_TOL, member=m)


def test_cuda_graph_run_with_a_diverging_member(monkeypatch: pytest.MonkeyPatch) -> None:
    # a member that diverges drops the run back to eager steps; the others train on
    from tests.core.test_fast import poison_seed

    poison_seed(monkeypatch)
    cfg = tiny_config(engine="fast", epochs=4, eval_every=1, device="cuda", seeds=(1, 3))
    recs = _run(cfg)
    assert len(recs) == 4 and not recs[-1].diverged
    assert np.isnan(recs[-1].train_loss[1]) and np.isfinite(recs[-1].train_loss[0])
    single = _run(cfg.replace(seeds=(), seed=1))
    _close(single[-1], recs[-1], FAST_TOL)


def test_a_failed_capture_trains_eagerly_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # a host sync inside the captured body is refused by the capture: the run goes on
    # without the graph, from the parameters the warm-up started from
    body = fast.EpochGraph._body

    def syncing_body(self: fast.EpochGraph) -> None:
        body(self)
        float(self.running.sum())  # .item() during a capture is an error

    cfg = tiny_config(engine="fast", epochs=3, device="cuda")
    monkeypatch.setattr(fast, "CUDA_GRAPHS", False)
    eager = _run(cfg)
    monkeypatch.setattr(fast, "CUDA_GRAPHS", True)
    monkeypatch.setattr(fast.EpochGraph, "_body", syncing_body)
    fallback = _run(cfg)
    assert fallback[0].device is not None and "(no CUDA graph: " in fallback[0].device
    for a, b in zip(eager, fallback, strict=True):
        np.testing.assert_array_equal(a.train_loss, b.train_loss)
        for name, w in a.weights.items():
            np.testing.assert_array_equal(w, b.weights[name])
