"""The core must not import the UI stack; browsing must not import torch (start-up).

Each module is imported in a fresh interpreter: in this process everything is loaded.
"""

from __future__ import annotations

import functools
import pkgutil
import subprocess
import sys

import pytest

import grutui.core
from tests.helpers import DEMO, REPO

pytestmark = pytest.mark.slow  # spawns processes

# every module of the core package, found rather than listed: a new one is covered
_WALKED = pkgutil.walk_packages(grutui.core.__path__, "grutui.core.")
CORE_MODULES = ["grutui.core", *sorted(m.name for m in _WALKED)]
# what the app needs to open a session and debug a sequence: no torch
TORCH_FREE = [
    "grutui.core.tasks",
    "grutui.core.gru",
    "grutui.core.sequence",
    "grutui.core.debug",
    "grutui.core.config",
    "grutui.core.session",
    "grutui.core.paths",
    "grutui.core.events",
    "grutui.core.h5format",
    "grutui.core.runview",
    "grutui.core.writer",
    "grutui.core.rundata",
    "grutui.core.state",
    "grutui.core.recording",
    "grutui.core.replay",
    "grutui.cli",
]


@functools.cache
def _loaded(module: str) -> frozenset[str]:
    """The top-level packages a fresh interpreter holds after importing ``module``."""
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return frozenset(m.split(".")[0] for m in out.stdout.split())


def test_the_walk_finds_the_core() -> None:
    assert {"grutui.core.fast", "grutui.core.buffered", "grutui.core.analysis.ood"} <= set(
        CORE_MODULES
    )
    assert set(TORCH_FREE) - {"grutui.cli"} <= set(CORE_MODULES)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_imports_no_ui(module: str) -> None:
    loaded = _loaded(module)
    assert "textual" not in loaded, f"{module} pulls in textual"
    assert "rich" not in loaded, f"{module} pulls in rich"


@pytest.mark.parametrize("module", TORCH_FREE)
def test_browsing_imports_no_torch(module: str) -> None:
    assert "torch" not in _loaded(module), f"{module} pulls in torch"


def test_info_on_the_demo_imports_neither_textual_nor_torch() -> None:
    # -X importtime lists every module the real entry point imports, on stderr
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "grutui", "info", str(DEMO)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert "recorded  3000 epochs" in p.stdout
    rows = [ln.rsplit("|", 1) for ln in p.stderr.splitlines() if ln.startswith("import time:")]
    imported = {name.strip().split(".")[0] for _, name in rows}
    assert "grutui" in imported and "h5py" in imported  # the listing is complete
    assert "textual" not in imported
    assert "torch" not in imported
