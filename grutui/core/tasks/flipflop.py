"""The N-bit flip-flop: N input channels of ±1 pulses, N outputs holding each channel's
last pulse (the first task of the solution-degeneracy study, background.md §4).

At every step each channel independently pulses with probability ``pulse_prob``, with
sign +1 or −1 at equal odds, and is 0 otherwise. Output ``i`` is the sign of channel
``i``'s last pulse, 0 before its first pulse. A regression of N outputs (MSE).

The engines read a network's output at a sequence's last step only, so the target is
the outputs' state at the last step (not, as in the study, at every step): the network
still has to hold every channel's state across the steps since its last pulse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from grutui.core.errors import ConfigError, SequenceError
from grutui.core.tasks.base import (
    DataclassOptions,
    DataShape,
    Feature,
    Output,
    SequenceData,
    Typed,
    encode,
)

MAX_STEPS = 10_000  # as the adding problem's debugger: longer sequences are unreadable
_PULSE = {"+1": 1.0, "1": 1.0, "-1": -1.0, "0": 0.0, "+0": 0.0, "-0": 0.0}


@dataclass(frozen=True)
class FlipFlopTask(DataclassOptions):
    """``bits`` channels over ``seq_len`` steps; ``train_split`` of ``n_samples`` train."""

    name: ClassVar[str] = "flipflop"

    bits: int = 3
    seq_len: int = 50
    pulse_prob: float = 0.05
    n_samples: int = 4000
    train_split: float = 0.8

    def validate(self) -> None:
        for name, lo in (("bits", 1), ("seq_len", 1), ("n_samples", 2)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
        if not 0.0 < self.pulse_prob <= 1.0:
            raise ConfigError(f"pulse_prob must be in (0, 1], got {self.pulse_prob}")
        if not 0.0 < self.train_split < 1.0:
            raise ConfigError(f"train_split must be in (0, 1), got {self.train_split}")
        n_train = self.data_shape().n_train
        if n_train < 1 or n_train >= self.n_samples:
            raise ConfigError("train_split leaves an empty train or test set")

    def features(self) -> tuple[Feature, ...]:
        return tuple(Feature(f"in{i + 1}") for i in range(self.bits))

    def output(self) -> Output:
        return Output("regression", dims=self.bits)

    def data_shape(self) -> DataShape:
        n_train = int(self.train_split * self.n_samples)
        return DataShape(n_train, self.n_samples - n_train, self.seq_len)

    def datasets(self, seed: int) -> tuple[SequenceData, SequenceData]:
        self.validate()
        rng = np.random.default_rng(seed)
        shape = (self.n_samples, self.seq_len, self.bits)
        pulses = rng.random(shape) < self.pulse_prob
        signs = rng.integers(0, 2, size=shape) * 2 - 1
        x = (pulses * signs).astype(np.float32)
        data = SequenceData(
            x, last_pulse(x), np.full(self.n_samples, self.seq_len, np.int64), self.features()
        )
        cut = self.data_shape().n_train
        return data.subset(slice(0, cut)), data.subset(slice(cut, None))

    def syntax(self) -> str:
        return "; ".join([" ".join(["+1", *["0"] * (self.bits - 1)]), " ".join(["0"] * self.bits)])

    def parse(self, text: str) -> Typed:
        """Steps separated by ``;``, each ``bits`` values of ``+1``, ``-1`` or ``0``."""
        steps: list[list[float]] = []
        offset = 0
        for group in text.split(";"):
            toks = [(m.group(), offset + m.start()) for m in re.finditer(r"\S+", group)]
            end = offset + len(group)
            offset = end + 1
            if not toks:
                continue
            if len(steps) >= MAX_STEPS:
                col = toks[0][1]
                raise SequenceError(
                    f"column {col + 1}: sequences are limited to {MAX_STEPS} steps", col
                )
            for tok, col in toks:
                if tok not in _PULSE:
                    raise SequenceError(f"column {col + 1}: expected +1, -1 or 0, got {tok!r}", col)
            if len(toks) != self.bits:
                col = toks[self.bits][1] if len(toks) > self.bits else end
                raise SequenceError(
                    f"column {col + 1}: a step has {self.bits} values (one per channel), "
                    f"got {len(toks)}",
                    col,
                )
            steps.append([_PULSE[t] for t, _ in toks])
        if not steps:
            raise SequenceError(f"empty sequence: type steps such as {self.syntax()}", 0)
        values = np.array(steps, np.float32)
        expected = tuple(float(v) for v in last_pulse(values[None])[0])
        return Typed(values, encode(self.features(), values)[None], expected[0], expected)

    def ood_axes(self) -> None:
        return None


def last_pulse(x: np.ndarray) -> np.ndarray:
    """(N, T, C) pulses → (N, C) float32: each channel's last non-zero value, else 0."""
    t = x.shape[1]
    steps = np.where(x != 0, np.arange(1, t + 1)[None, :, None], 0).max(axis=1)  # (N, C)
    at = np.maximum(steps - 1, 0)
    last = np.take_along_axis(x, at[:, None, :], axis=1)[:, 0]
    return np.where(steps > 0, last, 0).astype(np.float32)
