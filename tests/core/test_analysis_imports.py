"""The analyses are browsing code: importing them must not pull in the UI stack,
torch (slow start-up) or scipy (only the seed comparison needs it, lazily)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # spawns processes

MODULES = [
    "grutui.core.analysis.ood",
    "grutui.core.analysis.history",
    "grutui.core.analysis.transitions",
    "grutui.core.analysis.compare",
    "grutui.core.analysis.degeneracy",
    "grutui.core.analysis.spread",
    "grutui.core.interop",
]


@pytest.mark.parametrize("module", MODULES)
def test_import_is_light(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = [m for m in ('textual', 'rich', 'torch', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{module} imports {out}"
