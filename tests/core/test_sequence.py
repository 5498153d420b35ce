"""Typed sequences: three accepted forms, errors that name the column at fault."""

from __future__ import annotations

import numpy as np
import pytest

from grutui.core.errors import SequenceError
from grutui.core.sequence import Step, format_sequence, parse_sequence, to_arrays

EXPECTED = [Step(12, 0), Step(37, 1), Step(12, 0), Step(21, 1)]


@pytest.mark.parametrize(
    "text",
    [
        "12:0 37:1 12:0 21:1",
        "12,0 37,1 12,0 21,1",
        "12 0; 37 1; 12 0; 21 1",
        "  12:0   37:1\t12:0 21:1  ",
        "12:0; 37:1; 12:0; 21:1;",
    ],
)
def test_accepted_forms(text: str) -> None:
    assert parse_sequence(text) == EXPECTED


def test_decimals_and_round_trip() -> None:
    steps = parse_sequence("1.5:1 .25:0")
    assert steps == [Step(1.5, 1), Step(0.25, 0)]
    assert parse_sequence(format_sequence(steps)) == steps


@pytest.mark.parametrize(
    "text, column, needle",
    [
        ("12:0 37:2", 8, "flag must be 0 or 1"),
        ("12:0 abc:1", 5, "value 'abc' is not a number"),
        ("12:0 37", 5, "expected value:flag"),
        ("12:0 37:", 8, "missing flag"),
        ("12:0 1:2:3", 5, "expected value:flag"),
        ("12 0; 37", 6, "expected 'value flag'"),
        ("   ", 0, "empty sequence"),
    ],
)
def test_errors_name_the_column(text: str, column: int, needle: str) -> None:
    with pytest.raises(SequenceError) as info:
        parse_sequence(text)
    assert info.value.column == column
    assert needle in str(info.value)
    assert f"column {column + 1}" in str(info.value) or column == 0


def test_to_arrays_scales_like_torch() -> None:
    x, expected = to_arrays(EXPECTED, 100)
    assert x.shape == (1, 4, 2) and x.dtype == np.float32
    assert x[0, 1, 0] == np.float32(37) / np.float32(100)
    assert expected == 58


@pytest.mark.parametrize(
    "text, column, needle",
    [
        ("1e30:1", 0, "value '1e30' is outside the task's range 0..99"),
        ("12:0 -5:1", 5, "value '-5' is outside the task's range 0..99"),
        ("12:0 99999999999999999999999999:1", 5, "outside the task's range"),
        ("100:1", 0, "outside the task's range 0..99"),
        ("12 0; 1e999 1", 6, "outside the task's range"),
    ],
)
def test_values_outside_the_tasks_range_are_refused_at_their_column(
    text: str, column: int, needle: str
) -> None:
    from grutui.core.tasks import TaskConfig

    with pytest.raises(SequenceError) as info:
        parse_sequence(text, TaskConfig(high=100))
    assert info.value.column == column and needle in str(info.value)


def test_exponents_are_numbers() -> None:
    from grutui.core.tasks import TaskConfig

    assert parse_sequence("1e1:1 2.5E0:0", TaskConfig()) == [Step(10, 1), Step(2.5, 0)]
    assert parse_sequence("1e30:1") == [Step(1e30, 1)]  # no task: no range to check
    with pytest.raises(SequenceError, match="too large"):
        parse_sequence("1e999:1")


def test_sequences_have_a_length_limit() -> None:
    from grutui.core.sequence import MAX_STEPS

    assert len(parse_sequence(" ".join(["1:0"] * MAX_STEPS))) == MAX_STEPS
    text = " ".join(["1:0"] * (MAX_STEPS + 1))
    with pytest.raises(SequenceError, match=f"limited to {MAX_STEPS} steps") as info:
        parse_sequence(text)
    assert info.value.column == 4 * MAX_STEPS
