"""Debug pane on sessions of tasks other than the adding problem: their syntax, the
inline error at the column, each feature's raw value, a one-hot input as the column it
selects, and the read-out as a class with its probabilities or as several outputs."""

from __future__ import annotations

from typing import Any

import pytest

from grutui.core.config import TrainConfig
from grutui.core.debug import SequenceTrace, trace_text
from grutui.core.numfmt import signed as num
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.core.tasks import FlipFlopTask, ModAddTask
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.debug import DebugPane
from grutui.ui.widgets.cursorbar import CursorBar
from tests.helpers import random_task_session, shown, until

SIZE = (80, 24)
CONFIGS = {
    "modadd": TrainConfig(task=ModAddTask(p=11), hidden=3),
    "flipflop": TrainConfig(task=FlipFlopTask(bits=3), hidden=2),
    "modadd-wide": TrainConfig(task=ModAddTask(p=7), hidden=40),
}


@pytest.fixture(scope="module")
def task_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunData]:
    root = tmp_path_factory.mktemp("tasks")
    out = {}
    for name, cfg in CONFIGS.items():
        with Session(random_task_session(root / name, cfg)) as s:
            out[name] = RunData.from_session(s)
    return out


def _app(data: RunData) -> GrutuiApp:
    return GrutuiApp(data=data, start_pane="debug")


async def _open(pilot: Any, app: GrutuiApp) -> DebugPane:
    await until(pilot, lambda: "step 1/" in shown(app, "#debug-trace"))
    pane = app.screen
    assert isinstance(pane, DebugPane)
    return pane


async def _type(pilot: Any, text: str) -> None:
    await pilot.press("i", "ctrl+a", "ctrl+k", *text, "enter")


def _trace(data: RunData, text: str) -> SequenceTrace:
    return trace_text(data.weights(data.last_epoch), data.config.task, text)


def _check_gates(text: str, st: SequenceTrace, t: int) -> None:
    """Every term of step ``t`` the pane lists, for each hidden unit, is the core's."""
    d = st.step_terms(t)
    for g in ("r", "z", "n"):
        for term in ("input", "pre", "act"):
            for v in d[g][term]:
                assert num(v) in text, (t, g, term)
    for v in d["h"]:
        assert num(v) in text


async def test_modadd_in_its_syntax_one_hot_columns_and_top_classes(
    task_data: dict[str, RunData],
) -> None:
    data = task_data["modadd"]
    app = _app(data)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _open(pilot, app)
        inp = pane.query_one("#debug-input")
        assert inp.value == "3 5" and inp.placeholder == "3 5"  # type: ignore[attr-defined]
        await _type(pilot, "4 9")
        st = _trace(data, "4 9")
        for t, token in enumerate((4, 9)):
            if t:
                await pilot.press("n")
            text = shown(app, "#debug-trace")
            assert f"step {t + 1}/2" in text
            assert f"x = (token={token}) → [one-hot {token}/11]" in text
            assert f"W_i[:,token={token}]+b_i" in text  # the column the one-hot selects
            _check_gates(text, st, t)
        strip = shown(app, "#debug-steps")
        assert strip.startswith("t  4  9")
        out = shown(app, "#debug-output")
        assert f"predicted {st.predicted}" in out and "expected 2" in out  # (4 + 9) mod 11
        for c, p in st.top():
            assert f"{c} {p:.3f}" in out
        await pilot.press("p")
        assert "step 1/2" in shown(app, "#debug-trace")


async def test_a_token_outside_the_vocabulary_is_an_inline_error(
    task_data: dict[str, RunData],
) -> None:
    app = _app(task_data["modadd"])
    async with app.run_test(size=SIZE) as pilot:
        pane = await _open(pilot, app)
        before = shown(app, "#debug-trace")
        await _type(pilot, "3 200")
        caret, message = shown(app, "#debug-error").splitlines()
        err = pane.query_one("#debug-error")
        assert str(err.render()).splitlines()[0] == " " * 3 + "^"  # under the "2", col 3
        assert caret == "^" and message == "column 3: 200 is outside the vocabulary 0..10"
        assert pane.query_one("#debug-input").value == "3 200"  # type: ignore[attr-defined]
        assert shown(app, "#debug-trace") == before  # the last good trace stays
        await _type(pilot, "3 10")
        assert shown(app, "#debug-error") == ""
        assert "x = (token=3)" in shown(app, "#debug-trace")


async def test_flipflop_steps_show_each_channel_and_every_output(
    task_data: dict[str, RunData],
) -> None:
    data = task_data["flipflop"]
    app = _app(data)
    async with app.run_test(size=SIZE) as pilot:
        pane = await _open(pilot, app)
        assert pane.query_one("#debug-input").placeholder == "+1 0 0; 0 0 0"  # type: ignore[attr-defined]
        seq = "+1 0 0; 0 -1 0; 0 0 0; -1 0 1"
        await _type(pilot, seq)
        st = _trace(data, seq)
        raw = ["in1=1 in2=0 in3=0", "in1=0 in2=-1 in3=0", "in1=0 in2=0 in3=0", "in1=-1 in2=0 in3=1"]
        for t, values in enumerate(raw):
            if t:
                await pilot.press("full_stop")
            text = shown(app, "#debug-trace")
            assert f"step {t + 1}/4  x = ({values})" in text
            assert "input W_i·x+b_i" in text
            _check_gates(text, st, t)
        out = shown(app, "#debug-output")
        assert out.startswith("output/expected")
        for k, (v, e) in enumerate(zip(st.scaled, (-1, -1, 1), strict=True)):
            assert f"{k + 1} {float(v):+.3f}/{e}" in out
        await pilot.press("n")  # clamped at the last step
        assert "step 4/4" in shown(app, "#debug-trace")


async def test_a_wide_model_of_another_task_keeps_its_unit_window(
    task_data: dict[str, RunData],
) -> None:
    app = _app(task_data["modadd-wide"])
    async with app.run_test(size=SIZE) as pilot:
        pane = await _open(pilot, app)
        per = len(pane.units_shown())
        assert 1 <= per < 40
        assert f"units 0–{per - 1} of 40" in shown(app, "#debug-trace")
        await pilot.press("j")
        assert f"units 1–{per} of 40" in shown(app, "#debug-trace")
        await pilot.press("J")
        assert f"units {per + 1}–{2 * per} of 40" in shown(app, "#debug-trace")
        await pilot.press("K", "k")
        assert f"units 0–{per - 1} of 40" in shown(app, "#debug-trace")
        assert "↑↓ units" in shown(app, "#debug-steps")


async def test_a_replayed_sequence_is_read_by_the_sessions_task(
    task_data: dict[str, RunData],
) -> None:
    app = _app(task_data["modadd"])
    async with app.run_test(size=SIZE) as pilot:
        pane = await _open(pilot, app)
        assert pane.set_sequence("7 8")
        await pilot.pause()
        assert "x = (token=7)" in shown(app, "#debug-trace")
        assert not pane.set_sequence("7 11")
        await pilot.pause()
        assert "outside the vocabulary" in shown(app, "#debug-error")
        assert "x = (token=7)" in shown(app, "#debug-trace")


async def test_a_task_without_axes_has_no_ood_tab(task_data: dict[str, RunData]) -> None:
    app = _app(task_data["flipflop"])
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, app)
        tabs = shown(app, "CursorBar")
        assert "Debug" in tabs and "OOD" not in tabs
        assert app.screen.query_one(CursorBar).display
        await pilot.press("4")
        await pilot.pause()
        assert app.current_mode == "debug"


@pytest.mark.parametrize("name", ["modadd", "flipflop"])
def test_snapshot_debug_of_another_task(
    snap_compare: Any, task_data: dict[str, RunData], name: str
) -> None:
    app = _app(task_data[name])
    assert snap_compare(app, press=("n",), terminal_size=SIZE)
