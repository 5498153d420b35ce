"""How one number spreads over an ensemble's members: median, quartiles, the best and
worst member, and the members outside 1.5 IQR of the quartiles (Tukey's fences).

``grutui info`` and the Seeds pane both summarise a large ensemble with it, so the two
agree on what an outlier is. Non-finite values (diverged members) are left out and
counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FENCE = 1.5  # IQRs beyond the quartiles that make an outlier


@dataclass(frozen=True)
class Spread:
    count: int  # members with a finite value
    missing: int  # members without one (None, nan, inf)
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    min: float | None = None
    max: float | None = None
    argmin: int | None = None  # member index
    argmax: int | None = None
    low: tuple[int, ...] = ()  # outliers below q1 - FENCE·IQR, lowest first
    high: tuple[int, ...] = ()  # outliers above q3 + FENCE·IQR, highest first

    @property
    def outliers(self) -> tuple[int, ...]:
        return self.low + self.high

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "missing": self.missing,
            "median": self.median,
            "q1": self.q1,
            "q3": self.q3,
            "min": self.min,
            "max": self.max,
            "argmin": self.argmin,
            "argmax": self.argmax,
            "outliers": list(self.outliers),
        }


def spread(values: Any) -> Spread:
    """``values[m]`` is member m's number (None or non-finite when it has none)."""
    v = np.array([np.nan if x is None else float(x) for x in values], dtype=float)
    ok = np.isfinite(v)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return Spread(count=0, missing=len(v))
    f = v[idx]
    q1, med, q3 = (float(x) for x in np.percentile(f, [25, 50, 75]))
    iqr = q3 - q1
    lo_m = idx[f < q1 - FENCE * iqr]
    hi_m = idx[f > q3 + FENCE * iqr]
    return Spread(
        count=len(idx),
        missing=len(v) - len(idx),
        median=med,
        q1=q1,
        q3=q3,
        min=float(f.min()),
        max=float(f.max()),
        argmin=int(idx[np.argmin(f)]),
        argmax=int(idx[np.argmax(f)]),
        low=tuple(int(m) for m in lo_m[np.argsort(v[lo_m], kind="stable")]),
        high=tuple(int(m) for m in hi_m[np.argsort(-v[hi_m], kind="stable")]),
    )
