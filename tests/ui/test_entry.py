"""The command line reaches the app: `grutui`, `grutui open`, `grutui new`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grutui.cli import main
from grutui.ui.app import GrutuiApp
from tests.helpers import DEMO, REPO


def test_cli_entry_points_build_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[GrutuiApp] = []

    def fake_run(self: GrutuiApp, *a: Any, **k: Any) -> int:
        seen.append(self)
        return 0

    monkeypatch.setattr(GrutuiApp, "run", fake_run)
    assert main(["open", str(DEMO)]) == 0
    assert seen[-1].session_path == DEMO and seen[-1].new_run is None
    monkeypatch.chdir(REPO)
    assert main([]) == 0  # the newest session in ./sessions
    assert seen[-1].session_path is not None and seen[-1].session_path.parent.name == "sessions"
    assert main(["new", "--epochs", "3", "--hidden", "2", "--out", str(tmp_path / "n")]) == 0
    cfg, out, force = seen[-1].new_run  # type: ignore[misc]
    assert cfg.epochs == 3 and cfg.hidden == 2 and out == tmp_path / "n" and not force
