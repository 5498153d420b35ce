"""UI fixtures: the demo session held in memory once per worker process. Every test
here drives the app (pilot or snapshot), so all are marked slow."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui import colours
from grutui.ui.app import GrutuiApp
from tests.helpers import DEMO

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def truecolour_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every app here starts as on a truecolour terminal with colour allowed: the heat
    maps pick their look from the terminal (tests of other depths set their own)."""
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    colours.use("truecolor")  # what the last app set must not leak into the next test


@pytest.fixture(scope="session")
def _demo_master() -> RunData:
    with Session(DEMO) as s:
        return RunData.from_session(s)


@pytest.fixture
def demo_data(_demo_master: RunData) -> RunData:
    """A private copy: an app may grow or mutate its data."""
    return copy.deepcopy(_demo_master)


Actions = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def recording_app(demo_data: RunData) -> Callable[[], tuple[GrutuiApp, Actions]]:
    """An app on the demo whose ``record`` hook lists every user action it sees."""

    def make() -> tuple[GrutuiApp, Actions]:
        seen: Actions = []

        class Recording(GrutuiApp):
            def record(self, kind: str, **fields: Any) -> None:
                seen.append((kind, fields))

        return Recording(data=demo_data), seen

    return make
