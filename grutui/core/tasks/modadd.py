"""Modular addition: ``(a + b) mod p`` as a two-token sequence, the grokking task.

Every pair ``(a, b)`` of ``[0, p)²`` is one sample: the network reads ``a`` then ``b``
(one token feature of vocabulary ``p``, one-hot) and classifies the sum mod ``p`` at the
second step. A seeded permutation of the ``p²`` pairs puts ``train_fraction`` of them in
the training set and the rest in the test set, so the test set is exactly the pairs never
seen. The whole training set fits one batch (the papers train full batch).

A learned embedding is not offered: the interface's token features are one-hot into the
GRU's input weights, whose columns already are a learned embedding of size ``3·hidden``
(``W_i[:, a]``); a separate embedding layer would be a parameter neither engine nor the
gate debugger knows.
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

MAX_P = 1000  # p² samples: a million pairs is already more than a toy's data set


@dataclass(frozen=True)
class ModAddTask(DataclassOptions):
    """``(a + b) mod p`` over all pairs, a seeded ``train_fraction`` of them to train on."""

    name: ClassVar[str] = "modadd"

    p: int = 97
    train_fraction: float = 0.4

    def validate(self) -> None:
        if isinstance(self.p, bool) or not isinstance(self.p, int) or not 2 <= self.p <= MAX_P:
            raise ConfigError(f"p must be an integer in [2, {MAX_P}], got {self.p!r}")
        if not 0.0 < self.train_fraction < 1.0:
            raise ConfigError(f"train_fraction must be in (0, 1), got {self.train_fraction}")
        n_train = self.data_shape().n_train
        if n_train < 1 or n_train >= self.p * self.p:
            raise ConfigError("train_fraction leaves an empty train or test set")

    def features(self) -> tuple[Feature, ...]:
        return (Feature("token", "token", vocab=self.p),)

    def output(self) -> Output:
        return Output("classification", classes=self.p)

    def data_shape(self) -> DataShape:
        n = self.p * self.p
        n_train = int(self.train_fraction * n)
        return DataShape(n_train, n - n_train, 2)

    def datasets(self, seed: int) -> tuple[SequenceData, SequenceData]:
        """All ``p²`` pairs in a seeded order; the first ``train_fraction`` train."""
        self.validate()
        order = np.random.default_rng(seed).permutation(self.p * self.p)
        a, b = np.divmod(order, self.p)
        x = np.stack([a, b], 1)[..., None].astype(np.float32)  # (N, 2, 1): token ids
        y = ((a + b) % self.p).astype(np.int64)
        data = SequenceData(x, y, np.full(len(y), 2, np.int64), self.features())
        cut = self.data_shape().n_train
        return data.subset(slice(0, cut)), data.subset(slice(cut, None))

    def syntax(self) -> str:
        return f"{min(3, self.p - 1)} {min(5, self.p - 1)}"  # in the vocabulary of any p

    def parse(self, text: str) -> Typed:
        """Two numbers in ``[0, p)``, separated by spaces (or ``+``, ``,``, ``;``)."""
        toks = [(m.group(), m.start()) for m in re.finditer(r"[^\s+,;]+", text)]
        if not toks:
            raise SequenceError(f"empty sequence: type two numbers such as {self.syntax()}", 0)
        ids: list[int] = []
        for tok, col in toks:
            if len(ids) == 2:
                raise SequenceError(f"column {col + 1}: expected two numbers (a b)", col)
            if not re.fullmatch(r"[0-9]+", tok):
                raise SequenceError(f"column {col + 1}: {tok!r} is not a whole number", col)
            if int(tok) >= self.p:
                raise SequenceError(
                    f"column {col + 1}: {tok} is outside the vocabulary 0..{self.p - 1}", col
                )
            ids.append(int(tok))
        if len(ids) < 2:
            col = len(text.rstrip())
            raise SequenceError(f"column {col + 1}: expected a second number (a b)", col)
        values = np.array(ids, np.float32)[:, None]
        return Typed(values, encode(self.features(), values)[None], float(sum(ids) % self.p))

    def ood_axes(self) -> None:
        return None
