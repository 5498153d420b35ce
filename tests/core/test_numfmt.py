"""The number formats: each as the CLI and the panes print it."""

from __future__ import annotations

import math

import numpy as np

from grutui.core import numfmt


def test_sig_spells_missing_and_non_finite_values() -> None:
    assert numfmt.sig(0.000123456789, 3) == "0.000123"
    assert numfmt.sig(np.float32(2.5), 6) == "2.5"
    assert numfmt.sig(None, 3) == "—"
    assert numfmt.sig(None, 6, numfmt.NA) == "n/a"
    assert numfmt.sig(math.nan, 3) == "nan" and numfmt.sig(math.inf, 6) == "inf"


def test_finite_sig_treats_non_finite_as_missing() -> None:
    assert numfmt.finite_sig(1234.5678) == "1235"
    assert numfmt.finite_sig(0.012345) == "0.01235"
    assert numfmt.finite_sig(None) == numfmt.finite_sig(math.nan) == "—"
    assert numfmt.finite_sig(math.inf) == "—"


def test_signed_lines_up() -> None:
    assert numfmt.signed(0.5) == "+0.5000"
    assert numfmt.signed(-1.23456) == "-1.2346"
    assert len({len(numfmt.signed(v)) for v in (0.1, -0.9, 0.0)}) == 1


def test_clocks() -> None:
    assert numfmt.hms(0) == "0:00" and numfmt.hms(61) == "1:01"
    assert numfmt.hms(3600 + 62) == "1:01:02"
    assert numfmt.duration(59.6) == "1:00"
    assert numfmt.duration(math.nan) == numfmt.duration(-1.0) == "—"


def test_members_loss() -> None:
    assert numfmt.members_loss(np.array([0.123456])) == "0.1235"
    assert numfmt.members_loss(np.array([1.0, np.nan, 3.0, 2.0])) == "2 (median)"
    assert numfmt.members_loss(np.array([np.nan, np.nan])) == "nan"


def test_json_number() -> None:
    import numpy as np

    from grutui.core.numfmt import json_number

    assert json_number(np.float32(0.5)) == 0.5 and isinstance(json_number(np.int64(3)), float)
    assert [json_number(v) for v in (float("nan"), float("inf"), -np.inf)] == [None] * 3
