"""Colour scales every heat map shares, honest at any colour depth.

A signed value (a weight, a change) is quantised to a *level* in −LEVELS…LEVELS by its
ratio to a scale, and each level has one look per colour mode:

- truecolor / 256: a diverging scale interpolated in CIELAB from a dark neutral grey
  (0) to red (+) and blue (−) of equal lightness, so lightness grows evenly with
  magnitude on both sides and the hue carries the sign; in 256 colours each step is
  the nearest palette entry (in CIELAB) rather than the terminal's own rounding.
- 16 colours: sign by red/blue, magnitude by the shade glyphs ``·░▒▓█``.
- no colour (``NO_COLOR``, a dumb terminal): sign and magnitude by the glyph alone,
  ``-▾▼`` below zero and ``+▴▲`` above, ``·`` about zero.

The success scale (0 = fail … 1 = right) of the OOD and Seeds panes lives here too.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from rich.style import Style
from rich.text import Text

if TYPE_CHECKING:
    from textual.app import App

Mode = Literal["truecolor", "256", "16", "none"]
MODES: tuple[Mode, ...] = ("truecolor", "256", "16", "none")

MISSING = "rgb(90,90,90)"  # a NaN cell: nothing was measured there

LEVELS = 8  # magnitude steps per sign
NO_LEVEL = 127  # a NaN: no value (drawn blank)
SCALE_QUANTILE = 98  # the scale is this percentile of |x|: one outlier can't grey the rest

# the scale's ends in sRGB: zero, full positive, full negative (their lightness is equalised)
ZERO_RGB = (52, 52, 52)
POS_RGB = (250, 90, 70)
NEG_RGB = (75, 145, 255)

# 16 colours as the exact triplets rich's standard palette holds: the terminal gets that
# very colour index. (An ANSI name would first be turned into the theme's own RGB by
# Textual, which may then round to another index: its red came out magenta.)
ANSI16 = {
    "red": "rgb(170,0,0)",
    "green": "rgb(0,170,0)",
    "blue": "rgb(0,0,170)",
    "magenta": "rgb(170,0,170)",
    "bright_black": "rgb(85,85,85)",
    "bright_red": "rgb(255,85,85)",
    "bright_yellow": "rgb(255,255,85)",
    "bright_blue": "rgb(85,85,255)",
}

SHADES = "░▒▓█"  # 16 colours: magnitude by glyph, sign by colour
POS_GLYPHS = "+▴▲"  # no colour: magnitude and sign by glyph
NEG_GLYPHS = "-▾▼"
ZERO_GLYPH = "·"


_mode: Mode = "truecolor"


def use(mode: Mode) -> None:
    """Set the mode of the scales below when no mode is passed: the terminal's colour
    depth is one fact for the whole process, set by the app when it starts."""
    global _mode
    _mode = mode


def current() -> Mode:
    return _mode


def colour_mode(app: App[Any]) -> Mode:
    """The heat maps' mode for ``app``'s terminal: Textual reads ``NO_COLOR`` into
    ``App.no_color`` and rich the depth from ``TERM``/``COLORTERM`` (or
    ``TEXTUAL_COLOR_SYSTEM``); a dumb terminal has no colour system at all (Textual then
    sends truecolour anyway, so it is treated as no colour)."""
    if app.no_color:
        return "none"
    system = app.console.color_system
    if system is None:
        return "none"
    if system in ("standard", "windows"):
        return "16"
    return "256" if system == "256" else "truecolor"


# -- the diverging scale ---------------------------------------------------------


def _lab(rgb: tuple[float, float, float]) -> np.ndarray:
    """sRGB 0–255 → CIELAB (D65)."""
    c = np.asarray(rgb, float) / 255
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ c / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _rgb(lab: np.ndarray) -> tuple[int, int, int]:
    """CIELAB (D65) → sRGB 0–255, clipped to the gamut."""
    fy = (lab[0] + 16) / 116
    f = np.array([fy + lab[1] / 500, fy, fy - lab[2] / 200])
    xyz = np.where(f**3 > 216 / 24389, f**3, (116 * f - 16) / (24389 / 27))
    xyz = xyz * np.array([0.95047, 1.0, 1.08883])
    m = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])
    c = np.clip(m @ xyz, 0, 1)
    c = np.where(c > 0.0031308, 1.055 * c ** (1 / 2.4) - 0.055, 12.92 * c)
    r, g, b = (round(float(v) * 255) for v in c)
    return r, g, b


@cache
def scale_rgb() -> dict[int, tuple[int, int, int]]:
    """Level → sRGB: linear in CIELAB from zero to each end, the ends at one lightness."""
    zero, pos, neg = _lab(ZERO_RGB), _lab(POS_RGB), _lab(NEG_RGB)
    light = (pos[0] + neg[0]) / 2
    pos[0] = neg[0] = light
    out = {0: _rgb(zero)}
    for k in range(1, LEVELS + 1):
        t = k / LEVELS
        out[k] = _rgb(zero + (pos - zero) * t)
        out[-k] = _rgb(zero + (neg - zero) * t)
    return out


@cache
def _palette_lab() -> np.ndarray:
    """CIELAB of xterm's 256-colour palette entries 16–255 (cube and greys)."""
    steps = (0, 95, 135, 175, 215, 255)
    rgbs = [(steps[i // 36], steps[i // 6 % 6], steps[i % 6]) for i in range(216)]
    rgbs += [(8 + 10 * i,) * 3 for i in range(24)]
    return np.array([_lab(c) for c in rgbs])


def nearest_256(rgb: tuple[int, int, int]) -> int:
    """The xterm palette index (16–255) nearest ``rgb`` in CIELAB."""
    d = ((_palette_lab() - _lab(rgb)) ** 2).sum(axis=1)
    return 16 + int(np.argmin(d))


def levels(x: np.ndarray, scale: float) -> np.ndarray:
    """Each value's level (int8): round(x / scale · LEVELS) clipped to ±LEVELS; NaN →
    ``NO_LEVEL``. Vectorised: a whole heat map at once."""
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x)
    s = scale if scale > 0 and math.isfinite(scale) else 1.0
    lv = np.clip(np.rint(np.where(ok, x, 0.0) / s * LEVELS), -LEVELS, LEVELS)
    return np.where(ok, lv, NO_LEVEL).astype(np.int8)


def level(x: float, scale: float) -> int:
    return int(levels(np.array([x]), scale)[0])


def magnitude_scale(x: np.ndarray) -> float:
    """The scale the levels are relative to: a high percentile of the finite |x| (the
    largest few saturate instead of pushing everything else to grey); 1 if none."""
    a = np.abs(np.asarray(x, np.float64))
    a = a[np.isfinite(a)]
    if not a.size:
        return 1.0
    s = float(np.percentile(a, SCALE_QUANTILE))
    return s if s > 0 else float(a.max()) or 1.0


def _colour(lv: int, mode: Mode) -> str | None:
    if mode == "none" or lv == NO_LEVEL:
        return None
    if mode == "16":
        if lv == 0:
            return None
        hue = "red" if lv > 0 else "blue"
        return ANSI16[f"bright_{hue}" if abs(lv) > LEVELS // 2 else hue]
    rgb = scale_rgb()[lv]
    if mode == "256":
        return f"color({nearest_256(rgb)})"
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


def glyph(lv: int, mode: Mode) -> str:
    """A heat-map cell's character for level ``lv``."""
    if lv == NO_LEVEL:
        return " "
    if mode in ("truecolor", "256"):
        return "█"
    if lv == 0:
        return ZERO_GLYPH
    m = abs(lv)
    if mode == "16":
        return SHADES[(m * len(SHADES) - 1) // LEVELS]
    return (POS_GLYPHS if lv > 0 else NEG_GLYPHS)[(m * len(POS_GLYPHS) - 1) // LEVELS]


@cache
def cell(lv: int, mode: Mode) -> tuple[str, Style]:
    """(glyph, style) of a heat-map cell at level ``lv``."""
    c = _colour(lv, mode)
    return glyph(lv, mode), Style(color=c, dim=mode != "none" and lv == 0 and c is None)


@cache
def text_style(lv: int, mode: Mode) -> Style:
    """The style of a number at level ``lv`` (its sign is in its digits)."""
    return Style(color=_colour(lv, mode))


def legend(scale: float, mode: Mode, what: str = "") -> Text:
    """One line: the scale's ends and every level's cell between them."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"{-scale:+.2g} ", style="dim")
    for lv in range(-LEVELS, LEVELS + 1):
        ch, st = cell(lv, mode)
        t.append(ch, style=st)
    t.append(f" {scale:+.2g}", style="dim")
    if mode in ("16", "none"):
        t.append(f"  {ZERO_GLYPH} ≈ 0", style="dim")
    t.append(f"  {what}" if what else "", style="dim")
    return t


# -- the success scale ---------------------------------------------------------------


def success_colour(v: float, mode: Mode | None = None) -> str:
    """Red (0) → yellow → green (1); grey for NaN. In 16 colours three bands; with no
    colour the empty string (the cells print their number or a bar)."""
    mode = mode or _mode
    if mode == "none":
        return ""
    if math.isnan(v):
        return ANSI16["bright_black"] if mode == "16" else MISSING
    v = min(max(v, 0.0), 1.0)
    if mode == "16":
        return ANSI16["red" if v < 1 / 3 else "bright_yellow" if v < 2 / 3 else "green"]
    if v < 0.5:
        r, g = 200, int(60 + 280 * v)
    else:
        r, g = int(200 - 340 * (v - 0.5)), 200
    return f"rgb({r},{g},60)"


def error_fraction(v: float) -> float:
    """A relative error on 0…1, log-ish: 1e-3 (or less) → 0, 1 (100 %) or more → 1."""
    if math.isnan(v):
        return 0.0
    if not math.isfinite(v):
        return 1.0
    return min(max((math.log10(max(v, 1e-3)) + 3) / 3, 0.0), 1.0)


def error_colour(v: float, mode: Mode | None = None) -> str:
    """Green (small relative error) → red (≥ 1, i.e. 100 %), log-ish in between."""
    mode = mode or _mode
    if mode == "none":
        return ""
    if math.isnan(v):
        return ANSI16["bright_black"] if mode == "16" else MISSING
    if not math.isfinite(v):
        return ANSI16["magenta"] if mode == "16" else "rgb(200,40,200)"
    return success_colour(1 - error_fraction(v), mode)


def on_colour(colour: str) -> str:
    """A cell printed in black on ``colour``; just bold when there is no colour."""
    return f"bold black on {colour}" if colour else "bold"
