"""Parsing the sequences users type: ``12:0 37:1``, ``12,0 37,1`` or ``12 0; 37 1``."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from grutui.core.errors import SequenceError

_PAIR_SEP = re.compile(r"[:,]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@dataclass(frozen=True)
class Step:
    value: float
    flag: int


def _tokens(text: str) -> list[tuple[str, int]]:
    """Whitespace/semicolon separated tokens with their start columns."""
    return [(m.group(), m.start()) for m in re.finditer(r"[^\s;]+", text)]


def _number(tok: str, col: int, what: str) -> float:
    if not _NUMBER.match(tok):
        raise SequenceError(f"column {col + 1}: {what} {tok!r} is not a number", col)
    return float(tok)


def _flag(tok: str, col: int) -> int:
    if tok not in ("0", "1"):
        raise SequenceError(f"column {col + 1}: flag must be 0 or 1, got {tok!r}", col)
    return int(tok)


def parse_sequence(text: str) -> list[Step]:
    """Parse a typed sequence; raise ``SequenceError`` naming the column at fault.

    Forms: ``value:flag`` or ``value,flag`` pairs separated by spaces/semicolons, or
    ``value flag`` pairs separated by semicolons (``12 0; 37 1``).
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
            steps.append(Step(_number(v, vc, "value"), _flag(f, fc)))
    else:
        for tok, col in _tokens(text):
            parts = _PAIR_SEP.split(tok)
            if len(parts) != 2:
                raise SequenceError(f"column {col + 1}: expected value:flag, got {tok!r}", col)
            v, f = parts
            fc = col + len(v) + 1
            if not f:
                raise SequenceError(f"column {fc + 1}: missing flag after {v!r}", fc)
            steps.append(Step(_number(v, col, "value"), _flag(f, fc)))
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
