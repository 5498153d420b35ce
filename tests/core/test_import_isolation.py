"""The core must not import the UI stack; browsing must not import torch (start-up)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE_MODULES = [
    "grutui.core.tasks",
    "grutui.core.gru",
    "grutui.core.sequence",
    "grutui.core.debug",
    "grutui.core.config",
    "grutui.core.session",
    "grutui.core.errors",
    "grutui.core.train",
    "grutui.core.headless",
    "grutui.core.model",
    "grutui.core.rundata",
    "grutui.core.state",
    "grutui.core.resume",
    "grutui.core.recording",
    "grutui.core.replay",
]
# what the app needs to open a session and debug a sequence: no torch
TORCH_FREE = [
    "grutui.core.tasks",
    "grutui.core.gru",
    "grutui.core.sequence",
    "grutui.core.debug",
    "grutui.core.config",
    "grutui.core.session",
    "grutui.core.rundata",
    "grutui.core.state",
    "grutui.core.recording",
    "grutui.core.replay",
    "grutui.cli",
]


def _loaded(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {m.split(".")[0] for m in out.stdout.split()}


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_imports_no_ui(module: str) -> None:
    loaded = _loaded(module)
    assert "textual" not in loaded, f"{module} pulls in textual"
    assert "rich" not in loaded, f"{module} pulls in rich"


@pytest.mark.parametrize("module", TORCH_FREE)
def test_browsing_imports_no_torch(module: str) -> None:
    assert "torch" not in _loaded(module), f"{module} pulls in torch"
