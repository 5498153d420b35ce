"""Colour follows the terminal: none for NO_COLOR or a dumb terminal."""

from __future__ import annotations

import pytest

from grutui.ui.app import GrutuiApp, colourless


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TERM": "xterm-256color"}, False),
        ({"TERM": "xterm"}, False),
        ({"TERM": "xterm-256color", "NO_COLOR": ""}, True),  # set, even empty, counts
        ({"TERM": "dumb"}, True),
    ],
)
def test_colourless_reads_no_color_and_term(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: bool
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert colourless() is expected


async def test_no_color_sends_the_terminal_default_colours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Textual alone turns NO_COLOR into greys (still colour codes); with the
    # terminal's own colours its filter drops every colour
    monkeypatch.setenv("NO_COLOR", "1")
    app = GrutuiApp()
    assert app.ansi_color and app.no_color
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "xterm-256color")
    assert not GrutuiApp().ansi_color
