"""Which tasks have an OOD grid: those with axes and a sampler (the adding problem, a
task's own ``ood_cell``); a task without axes, with axes but no sampler, or with a
broken sampler is refused in one line naming it. The adding problem's grid is the one
drawn before tasks drew their own cells, bit for bit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from grutui.core.analysis.ood import (
    FLAGS,
    LENGTHS,
    OODEvaluator,
    format_grid,
    ood_at,
    ood_unavailable,
    sample_scores,
)
from grutui.core.errors import ConfigError
from grutui.core.gru import GRUWeights, gru_output
from grutui.core.layout import param_shapes
from grutui.core.session import Session
from grutui.core.tasks import (
    AddingTask,
    Dataset,
    FlipFlopTask,
    ModAddTask,
    OODAxes,
    OODSample,
    Output,
    SequenceData,
    general_generator,
    ood_grid,
)
from grutui.core.tasks.flipflop import last_pulse
from tests.helpers import DEMO


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


# -- the adding problem's grid is the one drawn before tasks drew their own cells ----------

# sha1 of ood_grid(n_per_cell=200, seed=0)'s x, y and lengths, and the demo session's
# success rates at its last epoch (200 per cell, seed 0): both computed before the
# sampler moved into the task
GRID_SHA1 = "95c653777d51e95e4470a412ec133fa62ef15dfb"
DEMO_LAST_SUCCESS = [0.0, 0.0, 0.0, 0.68, 0.0, 0.0, 0.0, 1.0, 0.0, 0.005, 0.0, 0.0, 1.0]
DEMO_LAST_SUCCESS += [0.195, 0.0, 0.0, 0.0, 0.99, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
DEMO_LAST_ERROR_HEAD = [2.471232748706059, 1.2153260425100567, 0.9939373112287737]


def todays_grid(samples: int, seed: int, high: int) -> tuple[list[tuple[int, int]], Dataset]:
    """The adding problem's grid as the analysis drew it itself, verbatim."""
    cells, xs, ys, ls = [], [], [], []
    for length in range(1, 9):
        for k in range(1, 5):
            if k > length:
                continue
            rng = np.random.default_rng([seed, length, k])
            block = general_generator(rng, samples, length, length, k, k, 10, 90)
            pad = np.zeros((samples, 8, 2), dtype=np.float32)
            pad[:, :length] = block.x
            cells.append((length, k))
            xs.append(pad)
            ys.append(block.y)
            ls.append(block.lengths)
    return cells, Dataset(np.concatenate(xs), np.concatenate(ys), np.concatenate(ls), high)


def todays_scores(params: dict[str, np.ndarray], samples: int, seed: int, high: int):
    """Success rate and mean relative error per cell, as they were computed."""
    cells, data = todays_grid(samples, seed, high)
    w = GRUWeights.from_params(params)
    with np.errstate(all="ignore"):
        pred = gru_output(w, data.model_input(), data.lengths)[:, 0].astype(np.float64)
        y = data.y.astype(np.float64)
        err = np.abs(pred * high - y) / np.maximum(np.abs(y), 1.0)
    err = np.where(np.isfinite(err), err, np.inf).reshape(len(cells), samples)
    return cells, (err < 0.1).mean(axis=1), err.mean(axis=1)


def test_the_adding_grid_draws_todays_sequences() -> None:
    g = ood_grid(n_per_cell=200, seed=0)
    digest = hashlib.sha1(usedforsecurity=False)
    for a in (g.data.x, g.data.y, g.data.lengths):
        digest.update(np.ascontiguousarray(a).tobytes())
    assert digest.hexdigest() == GRID_SHA1
    cells, data = todays_grid(30, 4, 50)
    ev = OODEvaluator(AddingTask(high=50), samples=30, seed=4)
    assert ev.cells == cells
    np.testing.assert_array_equal(ev.grid.x, data.model_input())
    np.testing.assert_array_equal(ev.grid.y, data.y)
    np.testing.assert_array_equal(ev.grid.lengths, data.lengths)


@pytest.mark.parametrize("epoch", ["last", 0, 50])
def test_the_demo_sessions_grid_is_bit_identical_to_todays(epoch: int | str) -> None:
    with Session(DEMO) as s:
        res = ood_at(s, epoch, samples=200)
        params = s.weights(res.epoch or 0)
    cells, success, error = todays_scores(params, 200, 0, 100)
    assert res.cells == cells
    np.testing.assert_array_equal(res.success, success)
    np.testing.assert_array_equal(res.mean_rel_error, error)
    if epoch == "last":
        assert res.success.tolist() == DEMO_LAST_SUCCESS
        assert res.mean_rel_error[:3].tolist() == pytest.approx(DEMO_LAST_ERROR_HEAD, rel=1e-9)


# -- a task's own sampler ------------------------------------------------------------------


@dataclass(frozen=True)
class _FlipFlopGrid(FlipFlopTask):
    """The flip-flop with a grid: length × pulse probability in percent."""

    name: ClassVar[str] = "flipflopgrid"
    broken: str = ""

    def ood_axes(self) -> OODAxes:  # type: ignore[override]
        return OODAxes("length", "pulse", (5, 20, 50), (2, 5, 30))

    def ood_cell(self, row: int, col: int, n: int, rng: np.random.Generator) -> OODSample | None:
        if self.broken == "raises":
            raise ValueError("bad cell")
        if self.broken == "empty" or (row == 5 and col == 2):
            return None  # too few pulses to say anything: no such cell
        pulses = rng.random((n, row, self.bits)) < col / 100
        x = (pulses * (rng.integers(0, 2, size=pulses.shape) * 2 - 1)).astype(np.float32)
        m = n - 1 if self.broken == "short" else n
        data = SequenceData(x[:m], last_pulse(x)[:m], np.full(m, row, np.int64), self.features())
        if self.broken == "type":
            return data  # type: ignore[return-value]
        return OODSample(data, row == self.seq_len and col == round(self.pulse_prob * 100))


def _params(hidden: int, d: int, o: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        n: rng.normal(scale=0.7, size=s).astype(np.float32)
        for n, s in param_shapes(hidden, d, o).items()
    }


def test_a_task_with_a_sampler_gets_its_grid() -> None:
    task = _FlipFlopGrid(seq_len=50, pulse_prob=0.05)
    assert ood_unavailable(task) is None
    ev = OODEvaluator(task, samples=12, seed=7)
    params = _params(3, 3, 3)
    res = ev.evaluate(params, epoch=2)
    cells = [(a, b) for a in (5, 20, 50) for b in (2, 5, 30) if (a, b) != (5, 2)]
    assert res.cells == cells and res.axes == task.ood_axes()
    w = GRUWeights.from_params(params)
    for c, (a, b) in enumerate(cells):  # cell by cell, a sequence at a time
        cell = task.ood_cell(a, b, 12, np.random.default_rng([7, a, b]))
        assert cell is not None
        errs = []
        for i in range(12):
            out = gru_output(w, cell.data.model_input()[i : i + 1])[0].astype(np.float64)
            target = cell.data.y[i].astype(np.float64)
            errs.append(max(abs(out - target) / np.maximum(abs(target), 1.0)))
        assert res.success[c] == sum(e < 0.1 for e in errs) / 12
        assert res.mean_rel_error[c] == pytest.approx(np.mean(errs), rel=1e-6)  # float32
        assert res.in_distribution[c] == ((a, b) == (50, 5))
    js = res.to_json()
    assert js["threshold"] == 0.1 and set(js["cells"][0]) == {
        "length",
        "pulse",
        "success_rate",
        "mean_rel_error",
        "samples",
        "in_distribution",
    }
    text = format_grid(res)
    assert text.splitlines()[1].startswith("pulse\\len") and "*" in text.splitlines()[3]


def test_classification_cells_score_accuracy_and_cross_entropy() -> None:
    out = Output("classification", classes=4)
    logits = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 4, 50)
    err, ok = sample_scores(out, logits, y)
    metrics = out.metrics(logits, y)
    assert err.mean() == pytest.approx(metrics["loss"], rel=1e-12)
    assert ok.mean() == metrics["accuracy"]
    logits[3] = np.nan
    err, ok = sample_scores(out, logits, y)
    assert np.isinf(err[3]) and not ok[3]


@pytest.mark.parametrize(
    ("broken", "needle"),
    [
        ("raises", "ood_cell(5, 2) failed: ValueError: bad cell"),
        ("short", "ood_cell(5, 5) gave 11 sequences, not 12"),
        ("type", "ood_cell(5, 5) must return an OODSample or None"),
        ("empty", "ood_cell() gave no cell of the grid"),
    ],
)
def test_a_broken_sampler_is_refused_in_one_line(broken: str, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        OODEvaluator(_FlipFlopGrid(broken=broken), samples=12)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("axes", "needle"),
    [
        (OODAxes("length", "length", (1,), (1,)), "two different non-empty strings"),
        (OODAxes("length", "pulse", (), (1,)), "axis 'length' needs a non-empty tuple"),
        (OODAxes("length", "pulse", (1,), (-1,)), "'pulse' values must be non-negative integers"),
        (OODAxes("length", "pulse", (1, 1), (1,)), "axis 'length' repeats a value"),
    ],
)
def test_unusable_axes_are_refused_in_one_line(axes: OODAxes, needle: str) -> None:
    @dataclass(frozen=True)
    class _Bad(_FlipFlopGrid):
        def ood_axes(self) -> OODAxes:
            return axes

    reason = ood_unavailable(_Bad())
    assert reason is not None and needle in reason
