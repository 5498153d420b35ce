"""The heat maps' scales: sign and magnitude kept at every colour depth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rich.color import Color
from textual.app import App

from grutui.ui import colours
from grutui.ui.colours import (
    LEVELS,
    NEG_GLYPHS,
    NO_LEVEL,
    POS_GLYPHS,
    SHADES,
    ZERO_GLYPH,
    cell,
    colour_mode,
    error_colour,
    legend,
    levels,
    magnitude_scale,
    scale_rgb,
    success_colour,
)

SIGNED = [lv for lv in range(-LEVELS, LEVELS + 1) if lv]


def lab(lv: int) -> np.ndarray:
    return colours._lab(scale_rgb()[lv])


def test_levels_keep_sign_clip_and_mark_missing() -> None:
    x = np.array([-3.0, -1.0, -0.5, -0.01, 0.0, 0.01, 0.5, 1.0, 3.0, np.nan, np.inf])
    lv = levels(x, 1.0)
    assert lv.tolist() == [-8, -8, -4, 0, 0, 0, 4, 8, 8, NO_LEVEL, NO_LEVEL]
    assert np.all(np.diff(levels(np.linspace(-2, 2, 101), 1.0)) >= 0)  # monotone


def test_the_scale_is_diverging_and_even_in_lightness() -> None:
    zero = lab(0)
    assert abs(zero[1]) < 1 and abs(zero[2]) < 1  # a neutral grey at zero
    for sign in (1, -1):
        light = [lab(sign * k)[0] for k in range(LEVELS + 1)]
        steps = np.diff(light)
        assert np.all(steps > 0)  # magnitude: lighter, on both sides
        assert steps.max() - steps.min() < 0.5  # even steps in CIELAB lightness
    for k in range(1, LEVELS + 1):
        assert lab(k)[1] > 0 and lab(-k)[2] < 0  # red above zero, blue below
        assert abs(lab(k)[0] - lab(-k)[0]) < 0.5  # the same lightness either side


@pytest.mark.parametrize("mode", colours.MODES)
def test_every_mode_tells_the_sign_apart(mode: colours.Mode) -> None:
    for k in range(1, LEVELS + 1):
        assert cell(k, mode) != cell(-k, mode)
    if mode in ("16", "none"):  # glyph sets: distinct per sign even without colour
        pos = {cell(k, mode)[0] for k in range(1, LEVELS + 1)}
        neg = {cell(-k, mode)[0] for k in range(1, LEVELS + 1)}
        if mode == "none":
            assert pos <= set(POS_GLYPHS) and neg <= set(NEG_GLYPHS) and not pos & neg


def test_sixteen_colours_shade_by_magnitude_and_colour_by_sign() -> None:
    for sign in (1, -1):
        glyphs = [cell(sign * k, "16")[0] for k in range(1, LEVELS + 1)]
        assert [SHADES.index(g) for g in glyphs] == sorted(SHADES.index(g) for g in glyphs)
        assert glyphs[-1] == "█"
        hues = {cell(sign * k, "16")[1].color for k in range(1, LEVELS + 1)}
        for c in hues:
            assert c is not None
            r, _g, b = c.get_truecolor()
            assert (r > b) if sign > 0 else (b > r)
    assert cell(0, "16")[0] == ZERO_GLYPH


def test_no_colour_is_glyphs_alone() -> None:
    for lv in [*SIGNED, 0]:
        ch, style = cell(lv, "none")
        assert style.color is None and style.bgcolor is None
        assert ch in POS_GLYPHS if lv > 0 else ch in NEG_GLYPHS if lv < 0 else ch == ZERO_GLYPH
    sizes = [POS_GLYPHS.index(cell(k, "none")[0]) for k in range(1, LEVELS + 1)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # bigger glyph, bigger |w|
    assert cell(NO_LEVEL, "none")[0] == " "


def test_two_fifty_six_colours_are_palette_entries_of_the_right_hue() -> None:
    for k in range(1, LEVELS + 1):
        for sign in (1, -1):
            c = cell(sign * k, "256")[1].color
            assert c is not None and c.number is not None and 16 <= c.number <= 255
    strong = Color.parse(f"color({colours.nearest_256(scale_rgb()[LEVELS])})").get_truecolor()
    assert strong.red > strong.blue


def test_one_outlier_does_not_grey_the_rest() -> None:
    x = np.concatenate([np.linspace(-1, 1, 200), [50.0]])
    s = magnitude_scale(x)
    assert 0.9 < s < 2
    assert magnitude_scale(np.array([np.nan])) == 1.0
    assert magnitude_scale(np.zeros(4)) == 1.0


@pytest.mark.parametrize("mode", colours.MODES)
def test_the_legend_shows_both_ends_and_every_level(mode: colours.Mode) -> None:
    t = legend(0.84, mode)
    assert t.plain.startswith("-0.84 ") and "+0.84" in t.plain
    if mode == "none":
        assert NEG_GLYPHS[-1] in t.plain and POS_GLYPHS[-1] in t.plain


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({"NO_COLOR": "1", "COLORTERM": "truecolor"}, "none"),
        ({"TERM": "dumb"}, "none"),
        ({"TERM": "xterm"}, "16"),
        ({"TERM": "xterm-256color"}, "256"),
        ({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, "truecolor"),
    ],
)
def test_the_mode_follows_the_terminal(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], mode: str
) -> None:
    for k in ("NO_COLOR", "COLORTERM", "TERM"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert colour_mode(App()) == mode


def test_success_and_error_scales_at_every_depth() -> None:
    assert success_colour(0.0, "truecolor") == "rgb(200,60,60)"  # unchanged in colour
    assert success_colour(1.0, "truecolor") == "rgb(30,200,60)"
    bands = [success_colour(v, "16") for v in (0.0, 0.5, 1.0)]
    assert len(set(bands)) == 3
    assert success_colour(0.3, "none") == error_colour(0.3, "none") == ""
    assert error_colour(math.inf, "16") != error_colour(1e-4, "16")
    assert colours.on_colour("") == "bold"
