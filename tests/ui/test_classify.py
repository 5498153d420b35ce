"""The Train and Transitions panes on classification runs (the shipped modular-addition
demo, a grokking run): accuracy and weight-norm curves, the 99 % accuracy markers and
the grokking delay; the flip-flop demo's Train pane; a live classification run."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grutui.core.analysis.transitions import accuracy_gap
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.train import as_percent
from grutui.ui.panes.transitions import TransitionsPane
from grutui.ui.widgets.spark import Spark
from tests.helpers import (
    FLIPFLOP_DEMO,
    MODADD_DEMO,
    git,
    shown,
    tiny_modadd_config,
    tracked_copy,
    until,
)
from tests.ui.test_panes_analysis import settle

SIZE = (80, 24)


@pytest.fixture(scope="module")
def _modadd_master() -> RunData:
    with Session(MODADD_DEMO) as s:
        return RunData.from_session(s)


@pytest.fixture
def modadd(_modadd_master: RunData) -> RunData:
    return copy.deepcopy(_modadd_master)


def _row_shown(app: GrutuiApp, selector: str) -> bool:
    """Whether a sparkline's row (the sparkline and its numbers) is displayed."""
    row = app.screen.query_one(selector).parent
    return row is not None and bool(row.display)


async def test_train_pane_shows_accuracy_and_the_weight_norm(modadd: RunData) -> None:
    m = modadd.metrics
    app = GrutuiApp(data=modadd, start_pane="train")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        # the two losses share a sparkline; accuracy and the norm are shown beneath
        assert not _row_shown(app, "#spark-test")
        for sel in ("#spark-train", "#spark-acc", "#spark-norm"):
            assert _row_shown(app, sel) and screen.query_one(sel, Spark).size.height >= 2
        assert shown(app, "#acc-values").splitlines() == [
            f"train {as_percent(float(m.train_acc[-1, 0]))}",
            f"test  {as_percent(float(m.test_acc[-1, 0]))}",
        ]
        assert shown(app, "#train-values").startswith("train ")
        await pilot.press("home")
        line = shown(app, "#train-cursor")
        assert line.startswith("at epoch 0 ")
        acc = f"acc {as_percent(float(m.train_acc[0, 0]))}/{as_percent(float(m.test_acc[0, 0]))}"
        assert acc in line and "‖θ‖ " in line and " lr " not in line  # the lr never changed
        gap = accuracy_gap(modadd)
        assert gap is not None and gap.train_epoch is not None
        await pilot.press("g", *str(gap.train_epoch), "enter")
        assert app.epoch == gap.train_epoch
        line = shown(app, "#train-cursor")
        assert f"acc {as_percent(float(m.train_acc[gap.train_epoch, 0]))}/" in line
        assert f"‖θ‖ {m.weight_norm[gap.train_epoch, 0]:.4g}" in line


async def test_the_regression_train_pane_keeps_its_two_loss_curves(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="train")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert _row_shown(app, "#spark-test")
        assert not _row_shown(app, "#spark-acc") and not _row_shown(app, "#spark-norm")
        assert " lr " in shown(app, "#train-cursor") and "acc" not in shown(app, "#train-cursor")


async def test_transitions_pane_shows_the_grokking_delay_and_jumps_to_its_markers(
    modadd: RunData,
) -> None:
    gap = accuracy_gap(modadd)
    assert gap is not None and gap.train_epoch is not None and gap.test_epoch is not None
    app = GrutuiApp(data=modadd, start_pane="transitions")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TransitionsPane)
        line = shown(app, "#tr-gap")
        assert f"train @{gap.train_epoch}" in line and f"test @{gap.test_epoch}" in line
        assert f"grokking delay {gap.delay} epochs" in line
        markers = screen.markers()
        assert markers is not None
        accuracy = [(t.epoch, t.kind) for t in markers if t.kind.endswith("_accuracy")]
        assert accuracy == [(gap.train_epoch, "train_accuracy"), (gap.test_epoch, "test_accuracy")]
        # < and > stop at both markers
        await pilot.press("g", *str(gap.train_epoch - 1), "enter")
        await pilot.press("greater_than_sign")
        assert app.epoch == gap.train_epoch
        await pilot.press("g", *str(gap.test_epoch + 1), "enter")
        await pilot.press("less_than_sign")
        assert app.epoch == gap.test_epoch
        assert "test acc" in shown(app, "#tr-list")


async def test_a_regression_run_has_no_gap_line(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="transitions")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert not app.screen.query_one("#tr-gap").display


async def test_a_live_classification_run_shows_its_accuracy(tmp_path: Path) -> None:
    cfg = tiny_modadd_config(epochs=30)
    app = GrutuiApp(new=(cfg, tmp_path / "run", False), start_pane="train")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: not app.training and app.data is not None)
        await until(pilot, lambda: app.data is not None and app.data.n_epochs == 30)
        await pilot.press("end")
        data = app.data
        assert data is not None
        m = data.metrics
        assert np.isfinite(m.weight_norm).all() and np.isfinite(m.train_acc).all()
        await until(pilot, lambda: shown(app, "#train-cursor").startswith("at epoch 29"))
        line = shown(app, "#train-cursor")
        assert f"acc {as_percent(float(m.train_acc[-1, 0]))}/" in line
        assert f"last {m.weight_norm[-1, 0]:.4g}" in shown(app, "#norm-values")


async def test_the_task_demos_stay_clean_after_a_look(tmp_path: Path, data_dir: Path) -> None:
    repos = []
    for path in (MODADD_DEMO, FLIPFLOP_DEMO):
        repos.append(tmp_path / path.name)
        demo = tracked_copy(path, repos[-1])
        app = GrutuiApp(session=demo, start_pane="train")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda app=app: app.data is not None and app.data.n_epochs > 0)
            await pilot.press("home", "5")
            await settle(app, pilot)
            await pilot.press("greater_than_sign", "1")
    for repo in repos:
        assert git(repo, "status", "--porcelain", "--ignored") == ""


# -- snapshots ---------------------------------------------------------------------------


def _with_markers(*keys: str) -> Any:
    """Find the transition markers (the first ``>``), wait for them and drop the
    "finding" notice, then press ``keys``: the same picture however fast the search."""

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await pilot.press("home", "greater_than_sign")
        await until(pilot, lambda: app.analyses.markers_for(0) is not None)
        await until(pilot, lambda: not app.analyses.finding)
        await settle(app, pilot)
        app.clear_notifications()
        await pilot.press(*keys)
        await settle(app, pilot)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "wide"])
def test_snapshot_train_modadd(snap_compare: Any, modadd: RunData, size: tuple[int, int]) -> None:
    # the cursor on the epoch train accuracy reaches 99 %
    app = GrutuiApp(data=modadd, start_pane="train")
    assert snap_compare(app, terminal_size=size, run_before=_with_markers("g", *"582", "enter"))


def test_snapshot_transitions_modadd(snap_compare: Any, modadd: RunData) -> None:
    app = GrutuiApp(data=modadd, start_pane="transitions")
    assert snap_compare(app, terminal_size=SIZE, run_before=_with_markers("end"))


def test_snapshot_train_flipflop(snap_compare: Any) -> None:
    with Session(FLIPFLOP_DEMO) as s:
        data = RunData.from_session(s)
    app = GrutuiApp(data=data, start_pane="train")

    async def run_before(pilot: Any) -> None:
        await pilot.press("home", "pagedown")
        await settle(pilot.app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
