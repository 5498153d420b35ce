"""Debug pane: typed sequences, inline errors, step-through equal to the core trace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual.pilot import Pilot

from grutui.core.debug import trace_sequence
from grutui.core.numfmt import signed as num
from grutui.core.rundata import RunData
from grutui.core.sequence import parse_sequence
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.debug import DEFAULT_SEQUENCE, DebugPane
from tests.helpers import random_params, synthetic_session, until


def _text(app: GrutuiApp, sel: str) -> str:
    return str(app.screen.query_one(sel).render())


def _trace_text(app: GrutuiApp) -> str:
    w = app.screen.query_one("#debug-trace")
    return "\n".join(line.text for line in w.render_lines(w.region.reset_offset))  # type: ignore[attr-defined]


async def _type(pilot: object, app: GrutuiApp, text: str) -> None:
    await pilot.press("i", "ctrl+a", "ctrl+k", *text, "enter")  # type: ignore[attr-defined]


async def test_step_through_shows_the_core_trace(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="debug")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("home", *["right"] * 3)  # epoch 3: still learning
        assert app.epoch == 3
        for seq in ("12:0 37:1 12:0 21:1", "12,0 37,1", "12 0; 37 1"):
            await _type(pilot, app, seq)
            await _check_steps(pilot, app, demo_data, seq)


async def _check_steps(pilot: Pilot[object], app: GrutuiApp, demo_data: RunData, seq: str) -> None:
    st = trace_sequence(demo_data.weights(3), parse_sequence(seq), demo_data.high)
    for t in range(len(st)):
        if t:
            await pilot.press("n")
        d = st.step_terms(t)
        shown = _trace_text(app)
        assert f"step {t + 1}/{len(st)}" in shown
        for g in ("r", "z", "n"):
            for term in ("input", "pre", "act"):
                assert num(d[g][term][0]) in shown, (t, g, term)
        assert num(d["n"]["gated_hidden"][0]) in shown
        assert num(d["h"][0]) in shown
    await pilot.press("n")  # clamped at the last step
    assert f"step {len(st)}/{len(st)}" in _trace_text(app)
    await pilot.press("p")
    assert f"step {len(st) - 1}/{len(st)}" in _trace_text(app)
    out = _text(app, "#debug-output")
    assert f"{st.output_x_high:.4f}" in out and f"expected {st.expected:g}" in out


async def test_epoch_cursor_recomputes_the_trace(demo_data: RunData) -> None:
    app = GrutuiApp(data=demo_data, start_pane="debug")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        steps = parse_sequence("12:0 37:1 12:0 21:1")
        last = trace_sequence(demo_data.weights(demo_data.last_epoch), steps, demo_data.high)
        assert f"{last.output_x_high:.4f}" in _text(app, "#debug-output")
        await pilot.press("home")
        first = trace_sequence(demo_data.weights(0), steps, demo_data.high)
        assert f"{first.output_x_high:.4f}" in _text(app, "#debug-output")
        assert f"{last.output_x_high:.4f}" not in _text(app, "#debug-output")


CASES = [("12:0 37:2", "column 9"), ("12:0 abc:1", "column 6"), ("12:0 37", "column 6"), ("", "")]


async def test_malformed_sequence_shows_what_and_where_and_keeps_the_input(
    demo_data: RunData,
) -> None:
    app = GrutuiApp(data=demo_data, start_pane="debug")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for typed, where in CASES:
            before = _trace_text(app)
            await _type(pilot, app, typed)
            screen = app.screen
            assert isinstance(screen, DebugPane)
            err = _text(app, "#debug-error")
            assert where in err
            assert any(w in err for w in ("flag", "number", "expected", "empty")), err
            assert screen.query_one("#debug-input").value == typed  # type: ignore[attr-defined]
            assert _trace_text(app) == before  # the last good trace stays
            # fixing it clears the message
            await _type(pilot, app, "12:0 37:1")
            assert _text(app, "#debug-error") == ""
            assert "step 1/2" in _trace_text(app)


async def test_escape_leaves_the_field_and_arrows_return_to_the_cursor(
    demo_data: RunData,
) -> None:
    app = GrutuiApp(data=demo_data, start_pane="debug")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        last = demo_data.last_epoch
        await pilot.press("i", "left", "left")  # editing: arrows move the text cursor
        assert app.epoch == last
        await pilot.press("escape", "left")
        assert app.epoch == last - 1
        screen = app.screen
        assert isinstance(screen, DebugPane)
        assert screen.query_one("#debug-input").value == "12:0 37:1 12:0 21:1"  # type: ignore[attr-defined]


async def test_a_wide_model_scrolls_its_units_by_keyboard(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    weights = [random_params(rng, 64) for _ in range(3)]
    path = synthetic_session(tmp_path / "h64", weights, np.ones(3))
    app = GrutuiApp(session=path, start_pane="debug")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "step 1/4" in _trace_text(app))
        screen = app.screen
        assert isinstance(screen, DebugPane)
        shown = screen.units_shown()
        per = len(shown)
        assert shown.start == 0 and 1 <= per < 64
        first = _trace_text(app)
        # every gate of every unit shown fits the pane: z, n and h are not scrolled away
        h_line = next(i for i, line in enumerate(first.splitlines()) if line.startswith("h = "))
        assert h_line < screen.query_one("#debug-body").size.height
        assert f"units 0–{per - 1} of 64" in first
        assert "↑↓ units" in _text(app, "#debug-steps")
        st = trace_sequence(app.data.weights(2), parse_sequence(DEFAULT_SEQUENCE), app.data.high)  # type: ignore[union-attr]

        def rows(text: str) -> list[int]:  # the unit numbers listed under gate r
            lines = text.splitlines()
            at = next(i for i, line in enumerate(lines) if line.startswith("r "))
            return [int(line[5:9]) for line in lines[at : at + per]]

        await pilot.press("down")
        assert f"units 1–{per} of 64" in _trace_text(app)
        assert rows(_trace_text(app)) == list(range(1, per + 1))
        await pilot.press("J")  # a window on
        assert f"units {per + 1}–{2 * per} of 64" in _trace_text(app)
        await pilot.press("shift+up", "k")
        assert f"units 0–{per - 1} of 64" in _trace_text(app)
        await pilot.press("up")  # clamped at the first unit
        assert _trace_text(app) == first
        for _ in range(64):
            await pilot.press("J")
        text = _trace_text(app)
        assert f"units {64 - per}–63 of 64" in text  # clamped at the last
        assert rows(text) == list(range(64 - per, 64))
        assert num(st.step_terms(0)["z"]["act"][63]) in text  # the shown numbers are unit 63's
        await pilot.press("left")  # the epoch keys still move the cursor, the window stays
        assert app.epoch == 1 and f"units {64 - per}–63 of 64" in _trace_text(app)
