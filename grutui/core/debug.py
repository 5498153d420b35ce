"""A typed sequence run through the gate function: what ``grutui trace`` prints and
the debugger pane steps through (computed once; stepping is pure presentation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from grutui.core.gru import GATES, GRUWeights, Trace, gru_trace
from grutui.core.sequence import Step, to_arrays

# ``trace --json`` writes every term of every step: about 16 numbers per hidden unit per
# step, ~30 bytes each once indented, plus ~1 KB of keys per step (10,000 steps at
# hidden 64: 300 MB). Refused above:
TRACE_JSON_LIMIT = 64 * 2**20
_JSON_BYTES_PER_UNIT_STEP = 16 * 32


def check_trace_json_size(steps: int, hidden: int) -> int:
    """The estimated size of a JSON trace; ``ConfigError`` above ``TRACE_JSON_LIMIT``."""
    from grutui.core.errors import ConfigError

    est = steps * (hidden * _JSON_BYTES_PER_UNIT_STEP + 1000)
    if est > TRACE_JSON_LIMIT:
        raise ConfigError(
            f"a JSON trace of {steps} steps at hidden {hidden} would be about "
            f"{est / 2**20:.0f} MiB, over the {TRACE_JSON_LIMIT // 2**20} MiB limit: "
            "trace a shorter sequence, or drop --json (the text form is bounded per step)"
        )
    return est


@dataclass
class SequenceTrace:
    steps: list[Step]
    high: int
    x: np.ndarray  # (T, 2) model input
    trace: Trace  # batch of one
    output: float  # read-out, model units (target / high)
    expected: float  # sum of flagged values, raw units

    @property
    def output_x_high(self) -> float:
        return self.output * self.high

    def __len__(self) -> int:
        return len(self.steps)

    def step_terms(self, t: int) -> dict[str, Any]:
        """Every term of step ``t`` as lists over hidden units (JSON-ready)."""
        tr = self.trace
        out: dict[str, Any] = {
            "t": t,
            "value": self.steps[t].value,
            "flag": self.steps[t].flag,
            "x": self.x[t].tolist(),
            "h_prev": (tr.h0[0] if t == 0 else tr.h[0, t - 1]).tolist(),
        }
        for g in GATES:
            gt = tr.gate(g)
            d = {"input": gt.input[0, t].tolist(), "hidden": gt.hidden[0, t].tolist()}
            if g == "n":
                d["gated_hidden"] = tr.gated_hidden_n[0, t].tolist()
            d["pre"] = gt.pre[0, t].tolist()
            d["act"] = gt.act[0, t].tolist()
            out[g] = d
        out["h"] = tr.h[0, t].tolist()
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence": [[s.value, s.flag] for s in self.steps],
            "high": self.high,
            "hidden_size": int(self.trace.h.shape[-1]),
            "steps": [self.step_terms(t) for t in range(len(self.steps))],
            "output": self.output,
            "output_x_high": self.output_x_high,
            "expected": self.expected,
        }


def trace_sequence(params: Mapping[str, np.ndarray], steps: list[Step], high: int) -> SequenceTrace:
    x, expected = to_arrays(steps, high)
    tr = gru_trace(GRUWeights.from_params(params), x)
    return SequenceTrace(steps, high, x[0], tr, float(tr.output[0, 0]), expected)
