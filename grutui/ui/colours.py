"""Colour scales the analysis panes share (rich style strings)."""

from __future__ import annotations

import math

MISSING = "rgb(90,90,90)"  # a NaN cell: nothing was measured there


def success_colour(v: float) -> str:
    """Red (0) → yellow → green (1); grey for NaN."""
    if math.isnan(v):
        return MISSING
    v = min(max(v, 0.0), 1.0)
    if v < 0.5:
        r, g = 200, int(60 + 280 * v)
    else:
        r, g = int(200 - 340 * (v - 0.5)), 200
    return f"rgb({r},{g},60)"


def error_colour(v: float) -> str:
    """Green (small relative error) → red (≥ 1, i.e. 100 %), log-ish in between."""
    if math.isnan(v):
        return MISSING
    if not math.isfinite(v):
        return "rgb(200,40,200)"
    t = min(max((math.log10(max(v, 1e-3)) + 3) / 3, 0.0), 1.0)  # 1e-3 → 0, 1 → 1
    return success_colour(1 - t)
