"""UI fixtures: the demo session held in memory once per worker process."""

from __future__ import annotations

import copy

import pytest

from grutui.core.rundata import RunData
from grutui.core.session import Session
from tests.helpers import DEMO


@pytest.fixture(scope="session")
def _demo_master() -> RunData:
    with Session(DEMO) as s:
        return RunData.from_session(s)


@pytest.fixture
def demo_data(_demo_master: RunData) -> RunData:
    """A private copy: an app may grow or mutate its data."""
    return copy.deepcopy(_demo_master)
