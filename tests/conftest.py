"""Shared fixtures: tiny sessions built with the real trainer and store."""

from __future__ import annotations

from pathlib import Path

import pytest

from grutui.core.config import TrainConfig, preset
from grutui.core.headless import record_run
from grutui.core.session import SessionWriter
from grutui.core.train import train

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "sessions" / "blog-seed37"


def tiny_config(**changes: object) -> TrainConfig:
    """The blog preset shrunk to run in well under a second."""
    base = {"epochs": 6, "task.n_samples": 300, "batch_size": 64, "eval_every": 2, "threads": 1}
    base.update(changes)
    return preset("blog").replace(**base)


def make_session(path: Path, cfg: TrainConfig | None = None) -> Path:
    cfg = cfg or tiny_config()
    with SessionWriter(path, cfg) as w:
        w.event("start", None, source="test")
        record_run(train(cfg), w)
    return path


@pytest.fixture(scope="session")
def tiny_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_session(tmp_path_factory.mktemp("sessions") / "tiny")
