"""Parsing the sequences users type: ``12:0 37:1``, ``12,0 37,1`` or ``12 0; 37 1``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from grutui.core.errors import SequenceError
from grutui.core.tasks import TaskConfig

_PAIR_SEP = re.compile(r"[:,]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
MAX_STEPS = 10_000  # longer sequences are refused: a debugger steps through readable ones


@dataclass(frozen=True)
class Step:
    value: float
    flag: int


def _tokens(text: str) -> list[tuple[str, int]]:
    """Whitespace/semicolon separated tokens with their start columns."""
    return [(m.group(), m.start()) for m in re.finditer(r"[^\s;]+", text)]


def _number(tok: str, col: int, what: str, task: TaskConfig | None) -> float:
    if not _NUMBER.match(tok):
        raise SequenceError(f"column {col + 1}: {what} {tok!r} is not a number", col)
    v = float(tok)
    if task is not None:
        lo, hi = task.value_range
        if not lo <= v <= hi:
            raise SequenceError(
                f"column {col + 1}: {what} {tok!r} is outside the task's range {lo}..{hi}", col
            )
    elif not math.isfinite(v):
        raise SequenceError(f"column {col + 1}: {what} {tok!r} is too large", col)
    return v


def _flag(tok: str, col: int) -> int:
    if tok not in ("0", "1"):
        raise SequenceError(f"column {col + 1}: flag must be 0 or 1, got {tok!r}", col)
    return int(tok)


def _check_length(steps: list[Step], col: int) -> None:
    if len(steps) >= MAX_STEPS:
        raise SequenceError(f"column {col + 1}: sequences are limited to {MAX_STEPS} steps", col)


def parse_sequence(text: str, task: TaskConfig | None = None) -> list[Step]:
    """Parse a typed sequence; raise ``SequenceError`` naming the column at fault.

    Forms: ``value:flag`` or ``value,flag`` pairs separated by spaces/semicolons, or
    ``value flag`` pairs separated by semicolons (``12 0; 37 1``). With ``task``, values
    outside the task's value range are refused; at most ``MAX_STEPS`` pairs.
    """
    if not text.strip():
        raise SequenceError("empty sequence: type pairs such as 12:0 37:1", 0)
    steps: list[Step] = []
    if ";" in text and not _PAIR_SEP.search(text):
        # "12 0; 37 1": each ';'-separated group is one "value flag" pair
        offset = 0
        for group in text.split(";"):
            toks = [(m.group(), offset + m.start()) for m in re.finditer(r"\S+", group)]
            offset += len(group) + 1
            if not toks:
                continue
            if len(toks) != 2:
                col = toks[0][1]
                raise SequenceError(
                    f"column {col + 1}: expected 'value flag', got {len(toks)} item(s)", col
                )
            (v, vc), (f, fc) = toks
            _check_length(steps, vc)
            steps.append(Step(_number(v, vc, "value", task), _flag(f, fc)))
    else:
        for tok, col in _tokens(text):
            parts = _PAIR_SEP.split(tok)
            if len(parts) != 2:
                raise SequenceError(f"column {col + 1}: expected value:flag, got {tok!r}", col)
            v, f = parts
            fc = col + len(v) + 1
            if not f:
                raise SequenceError(f"column {fc + 1}: missing flag after {v!r}", fc)
            _check_length(steps, col)
            steps.append(Step(_number(v, col, "value", task), _flag(f, fc)))
    if not steps:
        raise SequenceError("empty sequence: type pairs such as 12:0 37:1", 0)
    return steps


def format_sequence(steps: list[Step]) -> str:
    return " ".join(f"{s.value:g}:{s.flag}" for s in steps)


def to_arrays(steps: list[Step], high: int) -> tuple[np.ndarray, float]:
    """Model input (1, T, 2) float32 — value / high as torch computes it — and the
    expected sum of flagged values (raw units)."""
    raw = np.array([[s.value, s.flag] for s in steps], dtype=np.float32)
    x = raw.copy()
    x[:, 0] /= np.float32(high)
    expected = float(sum(s.value for s in steps if s.flag))
    return x[None], expected
