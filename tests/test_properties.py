"""Property-based tests (hypothesis): the sequence parser and the CLI's option
validation never fail in any way but their own one-line error."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from grutui.cli import main
from grutui.core.errors import SequenceError
from grutui.core.sequence import parse_sequence
from grutui.core.tasks import TaskConfig

FAST = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis/ left in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# text that looks like a sequence often enough to reach every branch of the parser
_pieces = st.sampled_from(
    [
        "12",
        "0",
        "1",
        "2",
        ":",
        ",",
        ";",
        " ",
        "\t",
        "-",
        "+",
        ".",
        "e",
        "E",
        "9" * 30,
        "1e30",
        "nan",
        "inf",
        "abc",
        "\n",
        "99",
        "100",
    ]
)
_seqlike = st.lists(_pieces, max_size=30).map("".join)


@FAST
@given(text=st.one_of(st.text(max_size=60), _seqlike), high=st.integers(1, 1000))
@example(text="1e30:1", high=100)
@example(text="-5:1", high=100)
@example(text="99999999999999999999999999:1", high=100)
def test_parser_gives_steps_or_a_located_sequence_error(text: str, high: int) -> None:
    task = TaskConfig(high=high)
    for t in (task, None):
        try:
            steps = parse_sequence(text, t)
        except SequenceError as exc:
            assert 0 <= exc.column <= len(text)
            assert "\n" not in str(exc)
            continue
        assert steps and all(s.flag in (0, 1) and math.isfinite(s.value) for s in steps)
        if t is not None:
            assert all(0 <= s.value <= high - 1 for s in steps)


class _WouldTrain(Exception):
    """Raised instead of training: the options were accepted."""


_FLOAT_OPTIONS = [
    "--lr",
    "--weight-decay",
    "--grad-clip",
    "--plateau-factor",
    "--min-lr",
    "--train-split",
]
_INT_OPTIONS = [
    "--hidden",
    "--epochs",
    "--batch-size",
    "--seed",
    "--eval-every",
    "--snapshot-every",
    "--plateau-patience",
    "--n-samples",
    "--high",
    "--threads",
]
_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "-0.0", "1e400", "0"]),
    st.text(max_size=8),
)
_ints = st.one_of(st.integers(-(2**40), 2**40).map(str), st.text(max_size=8))


@FAST
@given(
    option=st.one_of(
        st.tuples(st.sampled_from(_FLOAT_OPTIONS), _floats),
        st.tuples(st.sampled_from(_INT_OPTIONS), _ints),
    ),
)
def test_cli_option_validation_refuses_in_one_line_or_accepts(
    option: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from grutui.core.driver import RunDriver

    def would_train(*_a: object, **_k: object) -> RunDriver:
        raise _WouldTrain

    monkeypatch.setattr(RunDriver, "new", would_train)
    name, value = option
    out = tmp_path / "s"
    try:
        rc = main(["train", "--device", "cpu", "--out", str(out), f"{name}={value}"])
    except _WouldTrain:
        # accepted: never a value training cannot use
        if name in _FLOAT_OPTIONS:
            assert math.isfinite(float(value))
            assert float(value) >= 0
        else:
            assert int(value) >= 0
        return
    except SystemExit as exc:  # argparse: not a number at all
        rc = exc.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grutui: error: "), err
    assert not out.exists()
