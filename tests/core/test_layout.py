"""The torch-free parameter layout agrees with the torch model it describes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grutui.core.layout import PARAM_NAMES, param_count, param_shapes


@pytest.mark.parametrize("hidden", [1, 3])
def test_layout_matches_the_torch_model(hidden: int) -> None:
    from grutui.core.model import AddingGRU

    model = AddingGRU(2, hidden, 1)
    got = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert list(got) == list(PARAM_NAMES)
    assert got == param_shapes(hidden)
    assert param_count(hidden) == sum(p.numel() for p in model.parameters())


@pytest.mark.slow  # spawns a process
def test_layout_imports_no_torch() -> None:
    code = "import sys, grutui.core.layout; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
