"""Shared fixtures: tiny sessions built with the real trainer and store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_session


@pytest.fixture(scope="session")
def tiny_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_session(tmp_path_factory.mktemp("sessions") / "tiny")
