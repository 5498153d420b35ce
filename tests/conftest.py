"""Shared fixtures: tiny sessions built with the real trainer and store."""

from __future__ import annotations

from pathlib import Path

import pytest

from grutui.core.paths import DATA_DIR_ENV
from tests.helpers import make_session


@pytest.fixture(scope="session")
def tiny_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_session(tmp_path_factory.mktemp("sessions") / "tiny")


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-user data dir (read-only sessions' recordings, caches, exports) in a
    temporary directory: tests never write to the real home (subprocesses inherit it)."""
    d = tmp_path_factory.mktemp("data")
    monkeypatch.setenv(DATA_DIR_ENV, str(d))
    return d
