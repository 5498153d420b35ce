"""Shared fixtures: tiny sessions built with the real trainer and store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from grutui.cli import one_blas_thread

one_blas_thread()  # as the app and the commands run numpy (before numpy is imported here)

from grutui.core.paths import DATA_DIR_ENV  # noqa: E402
from tests.helpers import PLUGIN, make_session  # noqa: E402


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


@pytest.fixture
def plugin_tasks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test plugin package ``gt_plugin_tasks`` installed for one test: on
    ``sys.path``, its entry points found, its modules forgotten afterwards."""
    monkeypatch.syspath_prepend(str(PLUGIN))
    yield
    for name in [m for m in sys.modules if m.startswith("gt_plugin_tasks")]:
        del sys.modules[name]
