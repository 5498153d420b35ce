"""A third-party task package as the tests install it: a directory on ``sys.path`` with
a dist-info whose ``entry_points.txt`` declares the ``grutui.tasks`` entry points."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from grutui.core.errors import ConfigError, SequenceError
from grutui.core.tasks import (
    DataShape,
    Feature,
    OODAxes,
    OODSample,
    Output,
    SequenceData,
    Typed,
    encode,
)


@dataclass(frozen=True)
class FirstToken:
    """Which token came first? Token sequences of 2..``max_len`` steps, a continuous
    noise channel beside them (D = vocab + 1), ``vocab`` classes."""

    name = "firsttoken"

    vocab: int = 4
    max_len: int = 4
    n_samples: int = 240
    train_split: float = 0.75

    def validate(self) -> None:
        if self.vocab < 2 or self.max_len < 2:
            raise ConfigError("firsttoken needs vocab >= 2 and max_len >= 2")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FirstToken:
        return cls(**d)

    def features(self) -> tuple[Feature, ...]:
        return (Feature("token", "token", vocab=self.vocab), Feature("noise", scale=10.0))

    def output(self) -> Output:
        return Output("classification", classes=self.vocab)

    def data_shape(self) -> DataShape:
        n = int(self.train_split * self.n_samples)
        return DataShape(n, self.n_samples - n, self.max_len)

    def datasets(self, seed: int) -> tuple[SequenceData, SequenceData]:
        rng = np.random.default_rng(seed)
        n, t = self.n_samples, self.max_len
        tokens = rng.integers(0, self.vocab, size=(n, t))
        noise = rng.integers(-10, 11, size=(n, t))
        lengths = rng.integers(2, t + 1, size=n)
        pad = np.arange(t)[None, :] >= lengths[:, None]
        x = np.stack([tokens, noise], axis=2).astype(np.float32)
        x[pad] = 0.0
        data = SequenceData(x, tokens[:, 0].astype(np.int64), lengths, self.features())
        cut = int(self.train_split * n)
        return data.subset(slice(0, cut)), data.subset(slice(cut, None))

    def syntax(self) -> str:
        return "3:0 1:-2"

    def parse(self, text: str) -> Typed:
        rows = []
        for m in re.finditer(r"\S+", text):
            tok, _, noise = m.group().partition(":")
            if not tok.isdigit() or int(tok) >= self.vocab:
                col = m.start()
                raise SequenceError(f"column {col + 1}: token {tok!r} not in vocab", col)
            rows.append((float(tok), float(noise or 0)))
        if not rows:
            raise SequenceError("empty sequence", 0)
        raw = np.array(rows, np.float32)
        return Typed(raw, encode(self.features(), raw)[None], rows[0][0])

    def ood_axes(self) -> None:
        return None


@dataclass(frozen=True)
class FirstTokenGrid(FirstToken):
    """``FirstToken`` with an out-of-distribution grid: sequence length × noise
    amplitude (trained on lengths 2..``max_len`` and noise within ±10); length 1 has
    no sequence here, to leave cells out."""

    name = "firsttokengrid"

    def ood_axes(self) -> OODAxes:
        return OODAxes("length", "noise", tuple(range(1, 7)), (0, 10, 40))

    def ood_cell(self, row: int, col: int, n: int, rng: np.random.Generator) -> OODSample | None:
        if row < 2:
            return None
        tokens = rng.integers(0, self.vocab, size=(n, row))
        noise = rng.integers(-col, col + 1, size=(n, row))
        x = np.stack([tokens, noise], axis=2).astype(np.float32)
        lengths = np.full(n, row, np.int64)
        data = SequenceData(x, tokens[:, 0].astype(np.int64), lengths, self.features())
        return OODSample(data, row <= self.max_len and col <= 10)


@dataclass(frozen=True)
class AxesOnly(FirstToken):
    """Declares OOD axes but no ``ood_cell``: no grid can be drawn for it."""

    name = "axesonly"

    def ood_axes(self) -> OODAxes:  # type: ignore[override]
        return OODAxes("length", "noise", (2, 3), (0, 10))
