"""Which tasks have an OOD grid: the adding problem's axes do; a task without axes, or
with axes no sampler draws, is refused in one line naming it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from grutui.core.analysis.ood import FLAGS, LENGTHS, OODEvaluator, ood_unavailable
from grutui.core.errors import ConfigError
from grutui.core.tasks import AddingTask, FlipFlopTask, ModAddTask, OODAxes


@dataclass(frozen=True)
class _WithAxes(FlipFlopTask):
    name: ClassVar[str] = "withaxes"
    broken: bool = False

    def ood_axes(self) -> OODAxes:  # type: ignore[override]
        if self.broken:
            raise RuntimeError("no axes today")
        return OODAxes("length", "pulses", (1, 2), (1, 2))


def test_the_adding_problems_axes_are_the_grids() -> None:
    axes = AddingTask().ood_axes()
    assert (LENGTHS, FLAGS) == (axes.rows, axes.cols) == (tuple(range(1, 9)), (1, 2, 3, 4))
    assert ood_unavailable(AddingTask()) is None
    assert ood_unavailable(AddingTask(flavour="general", max_len=5)) is None


@pytest.mark.parametrize(
    ("task", "needle"),
    [
        (ModAddTask(), "the modadd task has no generalisation axes"),
        (FlipFlopTask(), "the flipflop task has no generalisation axes"),
        (_WithAxes(), "axes (length × pulses) have no sampler"),
        (_WithAxes(broken=True), "ood_axes() failed: RuntimeError: no axes today"),
    ],
)
def test_a_task_without_a_grid_says_why(task: object, needle: str) -> None:
    reason = ood_unavailable(task)  # type: ignore[arg-type]
    assert reason is not None and needle in reason and "\n" not in reason
    with pytest.raises(ConfigError, match="no out-of-distribution grid"):
        OODEvaluator(task, samples=2)  # type: ignore[arg-type]
