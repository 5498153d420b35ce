"""UI fixtures: the demo session held in memory once per worker process. Every test
here drives the app (pilot or snapshot), so all are marked slow."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from grutui.core.rundata import RunData
from grutui.core.session import Session
from tests.helpers import DEMO

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def _demo_master() -> RunData:
    with Session(DEMO) as s:
        return RunData.from_session(s)


@pytest.fixture
def demo_data(_demo_master: RunData) -> RunData:
    """A private copy: an app may grow or mutate its data."""
    return copy.deepcopy(_demo_master)
