"""Debug pane: typed sequences, inline errors, step-through equal to the core trace."""

from __future__ import annotations

from textual.pilot import Pilot

from grutui.core.debug import trace_sequence
from grutui.core.numfmt import signed as num
from grutui.core.rundata import RunData
from grutui.core.sequence import parse_sequence
from grutui.ui.app import GrutuiApp
from grutui.ui.panes.debug import DebugPane


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
