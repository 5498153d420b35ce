"""How grutui writes numbers, for the CLI and the UI alike (pure Python: no textual,
rich or torch, so ``grutui info`` stays light).

Each function is one format; two exist only where the text really differs (snapshot
and CLI tests compare it byte for byte).
"""

from __future__ import annotations

import math
from typing import Any

DASH = "—"  # the UI's missing value (no test loss yet, a member without a result)
NA = "n/a"  # the CLI's (plain ASCII for scripts)


def json_number(v: Any) -> float | None:
    """A number for JSON, which has no NaN or infinity: None where ``v`` is not finite
    (a diverged run's weights and losses)."""
    f = float(v)
    return f if math.isfinite(f) else None


def sig(v: float | None, digits: int, missing: str = DASH) -> str:
    """``v`` to ``digits`` significant digits (``%g``: ``nan``/``inf`` spelled out);
    ``missing`` for None."""
    return missing if v is None else f"{float(v):.{digits}g}"


def finite_sig(v: float | None, digits: int = 4) -> str:
    """Like ``sig``, but a non-finite value is missing too (live loss labels)."""
    if v is None or not math.isfinite(v):
        return DASH
    return f"{v:.{digits}g}"


def signed(v: float, decimals: int = 4) -> str:
    """Fixed decimals with a sign, so columns of gate terms line up (the debugger)."""
    return f"{v:+.{decimals}f}"


def size(n: float) -> str:
    """A byte count as GiB (one decimal) from 1 GiB on, else whole MiB (resource limits)."""
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def hms(seconds: int) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on (elapsed, ETA and replay clocks)."""
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def duration(seconds: float) -> str:
    """``hms`` of a measured duration, rounded; missing when not known (yet)."""
    if not math.isfinite(seconds) or seconds < 0:
        return DASH
    return hms(int(seconds + 0.5))


def members_loss(values: Any) -> str:
    """One member's loss, or an ensemble's median over its live members."""
    import numpy as np

    if len(values) == 1:
        return f"{float(values[0]):.4g}"
    live = values[np.isfinite(values)]
    return f"{float(np.median(live)):.4g} (median)" if len(live) else "nan"
