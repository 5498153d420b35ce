"""Device choice, names and the recorded device, on any machine (CUDA faked where needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from grutui.cli import main
from grutui.core.config import TrainConfig, preset
from grutui.core.device import (
    GPU_MIN_ELEMENTS,
    auto_prefers_gpu,
    device_label,
    ran_on,
    recorded_device,
    resolve_device,
)
from grutui.core.driver import record_run
from grutui.core.errors import ConfigError
from grutui.core.session import Session
from grutui.core.state import load_state
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.helpers import tiny_config


def fake_cuda(monkeypatch: pytest.MonkeyPatch, available: bool, count: int = 1) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count if available else 0)


@pytest.mark.parametrize(
    "changes, gpu",
    [
        ({}, False),  # one hidden-1 run: launch-bound, the CPU wins
        ({"seeds": tuple(range(64))}, True),  # the measured ensemble win
        ({"seeds": tuple(range(63))}, False),
        ({"hidden": 64}, True),
        ({"hidden": 64, "batch_size": 32}, False),
    ],
)
def test_auto_rule(monkeypatch: pytest.MonkeyPatch, changes: dict, gpu: bool) -> None:
    cfg = preset("blog").replace(**changes)
    assert auto_prefers_gpu(cfg) == gpu == (cfg.step_elements() >= GPU_MIN_ELEMENTS)
    fake_cuda(monkeypatch, True)
    assert resolve_device(cfg).type == ("cuda" if gpu else "cpu")
    fake_cuda(monkeypatch, False)
    assert resolve_device(cfg).type == "cpu"  # auto never asks for a missing GPU


def test_explicit_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = preset("blog")
    assert resolve_device(cfg.replace(device="cpu")) == torch.device("cpu")
    fake_cuda(monkeypatch, True, count=2)
    assert resolve_device(cfg.replace(device="cuda:1")) == torch.device("cuda:1")
    with pytest.raises(ConfigError, match="has 2 CUDA device"):
        resolve_device(cfg.replace(device="cuda:2"))
    fake_cuda(monkeypatch, False)
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device(cfg.replace(device="cuda"))
    # a run recorded on a GPU this machine lacks resumes on the CPU, and says so
    dev = resolve_device(cfg.replace(device="cuda"), resuming=True)
    assert dev == torch.device("cpu")
    assert ran_on(cfg.replace(device="cuda"), dev) == "cpu (cuda unavailable here)"
    assert ran_on(cfg, dev) == ran_on(cfg.replace(device="cpu"), dev) == "cpu"


def test_device_label(monkeypatch: pytest.MonkeyPatch) -> None:
    assert device_label("cpu") == device_label(torch.device("cpu")) == "cpu"
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=None: f"NVIDIA H200 #{i}")
    assert device_label("cuda") == "cuda:0 NVIDIA H200 #0"
    assert device_label(torch.device("cuda:3")) == "cuda:3 NVIDIA H200 #3"


def test_recorded_device_is_the_latest() -> None:
    assert recorded_device([{"kind": "start"}]) is None
    evs = [
        {"kind": "clock", "wall_time": 0.0, "device": "cuda:0 NVIDIA H200"},
        {"kind": "resume"},
        {"kind": "clock", "wall_time": 9.0, "device": "cpu (cuda unavailable here)"},
        {"kind": "clock", "wall_time": 9.0},  # a writer fed records without a device
    ]
    assert recorded_device(evs) == "cpu (cuda unavailable here)"


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_first_record_names_the_device(engine: str) -> None:
    recs = list(train(tiny_config(engine=engine, epochs=3)))
    assert [r.device for r in recs] == ["cpu", None, None]
    resumed = list(train(tiny_config(engine=engine, epochs=5), resume=recs[-1].state))
    assert [r.epoch for r in resumed] == [3, 4] and [r.device for r in resumed] == ["cpu", None]


def test_fast_is_the_default_engine() -> None:
    assert TrainConfig().engine == preset("blog").engine == "fast"
    # a config stored before engines existed was a reference run
    legacy = {k: v for k, v in TrainConfig().to_dict().items() if k not in ("engine", "seeds")}
    assert TrainConfig.from_dict(legacy).engine == "reference"


@pytest.mark.slow  # imports the app for `new`
def test_cli_cuda_without_cuda_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_cuda(monkeypatch, False)
    for cmd in ("train", "new"):
        out = tmp_path / cmd
        assert main([cmd, "--device", "cuda", "--epochs", "2", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("grutui: error: device 'cuda' requested but CUDA is not available")
        assert len(err.strip().splitlines()) == 1
        assert not out.exists()  # refused before a session directory was made


@pytest.mark.slow
def test_info_shows_the_device_that_ran(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s"
    argv = ["--epochs", "2", "--n-samples", "300", "--batch-size", "64", "--threads", "1"]
    assert main(["train", *argv, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("device"))
    assert line.split()[1] == "cpu"  # the blog preset's auto → the CPU on any machine
    assert "requested auto, engine fast" in line
    assert main(["info", str(out), "--json"]) == 0
    assert '"device": "cpu"' in capsys.readouterr().out


@pytest.mark.slow
def test_session_recorded_on_cuda_resumes_on_a_cpu_only_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the record of a CUDA run, made here on the CPU: the config says cuda, the saved state
    # is device-independent arrays, as a CUDA run writes it
    path = tmp_path / "gpu-run"
    ran = tiny_config(epochs=3)
    with SessionWriter(path, ran.replace(device="cuda")) as w:
        w.event("start", None, source="test")
        record_run(train(ran), w)
    fake_cuda(monkeypatch, False)
    assert main(["resume", str(path), "--epochs", "5"]) == 0
    with Session(path) as s:
        assert s.last_epoch == 4
        assert recorded_device(s.events()) == "cpu (cuda unavailable here)"
    assert load_state(path).epoch == 4
    capsys.readouterr()
    assert main(["info", str(path)]) == 0
    assert "device    cpu (cuda unavailable here)  (requested cuda" in capsys.readouterr().out
