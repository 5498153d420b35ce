"""The adding problem: ``(value, flag)`` sequences, target = sum of flagged values.

Two flavours:

* ``blog`` reproduces the blog's generator call for call, including its quirk of
  drawing the sequence length and the flag count once for the whole data set, and its
  exact consumption of numpy's legacy RNG (so seed 37 gives the blog's data).
* ``general`` draws a length in ``[min_len, max_len]`` and a flag count in
  ``[min_flags, max_flags]`` per sample.

Sequences are stored right-padded with zeros plus a ``lengths`` array; the model reads
its output at step ``length - 1``, which makes padding irrelevant.

``AddingTask`` is the first implementation of the task interface (``tasks.base.Task``);
its JSON (``to_dict``) is what sessions have always stored under ``task``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from grutui.core.errors import ConfigError, SequenceError
from grutui.core.tasks.base import (
    DataclassOptions,
    DataShape,
    Feature,
    OODAxes,
    OODSample,
    Output,
    Task,
    Typed,
)
from grutui.core.tasks.registry import ood_cells

Flavour = Literal["blog", "general"]

# the task options only one flavour reads: setting one for the other flavour would be
# silently ignored, so callers that know which options the user set refuse it
FLAVOUR_FIELDS: dict[str, tuple[str, ...]] = {
    "blog": ("seq_len", "delta"),
    "general": ("min_len", "max_len", "min_flags", "max_flags"),
}


def foreign_fields(flavour: str, names: Iterable[str]) -> list[str]:
    """Those of ``names`` (task option names) that ``flavour`` ignores."""
    own = FLAVOUR_FIELDS.get(flavour, ())
    others = {f for fl, fs in FLAVOUR_FIELDS.items() if fl != flavour for f in fs}
    return [n for n in names if n in others and n not in own]


@dataclass(frozen=True)
class AddingTask(DataclassOptions):
    """The adding problem's options and its description for engines and debugger."""

    name: ClassVar[str] = "adding"

    flavour: Flavour = "blog"
    n_samples: int = 10_000
    train_split: float = 0.8
    high: int = 100
    # blog flavour: nominal length and the blog's length jitter ``delta``
    seq_len: int = 4
    delta: float = 0.0
    # general flavour
    min_len: int = 2
    max_len: int = 8
    min_flags: int = 1
    max_flags: int = 4

    def validate(self) -> None:
        if self.flavour not in ("blog", "general"):
            raise ConfigError(f"task flavour must be 'blog' or 'general', not {self.flavour!r}")
        if self.n_samples < 2:
            raise ConfigError(f"n_samples must be at least 2, got {self.n_samples}")
        if not 0.0 < self.train_split < 1.0:
            raise ConfigError(f"train_split must be in (0, 1), got {self.train_split}")
        n_train = int(self.train_split * self.n_samples)
        if n_train < 1 or n_train >= self.n_samples:
            raise ConfigError("train_split leaves an empty train or test set")
        if self.high < 1:
            raise ConfigError(f"high must be at least 1, got {self.high}")
        if self.flavour == "blog":
            if not 0.0 <= self.delta < 1.0:
                raise ConfigError(f"delta must be in [0, 1), got {self.delta}")
            lo = int(self.seq_len * (1 - self.delta)) if self.delta > 0 else self.seq_len
            if lo < 4:
                # the blog's randint(2, min(len - 1, 4)) needs len >= 4
                raise ConfigError(f"blog flavour needs sequences of length >= 4, got {lo}")
        else:
            if not 1 <= self.min_len <= self.max_len:
                raise ConfigError(
                    f"need 1 <= min_len <= max_len, got min_len={self.min_len} "
                    f"max_len={self.max_len}"
                )
            if not 0 <= self.min_flags <= self.max_flags:
                raise ConfigError(
                    f"need 0 <= min_flags <= max_flags, got min_flags={self.min_flags} "
                    f"max_flags={self.max_flags}"
                )
            if self.min_flags > self.max_len:
                raise ConfigError(
                    f"min_flags={self.min_flags} cannot fit in sequences of at most "
                    f"{self.max_len} steps"
                )

    @property
    def value_range(self) -> tuple[int, int]:
        """The values the task draws, inclusive: what a typed sequence may use."""
        return (0, self.high - 1)

    def in_distribution(self, length: int, flags: int) -> bool:
        """Whether a (length, flag count) cell can occur in the training data."""
        if self.flavour == "blog":
            if self.delta > 0:
                lo = int(self.seq_len * (1 - self.delta))
                hi = int(self.seq_len * (1 + self.delta)) - 1
            else:
                lo = hi = self.seq_len
            # num_ones = randint(2, min(L - 1, 4)) -> 2 .. min(L-1, 4) - 1
            return lo <= length <= hi and 2 <= flags <= max(2, min(length - 1, 4) - 1)
        return self.min_len <= length <= self.max_len and self.min_flags <= flags <= min(
            self.max_flags, length
        )

    # -- the task interface -------------------------------------------------------------
    def features(self) -> tuple[Feature, ...]:
        return (Feature("value", "continuous", scale=self.high), Feature("flag"))

    def output(self) -> Output:
        return Output("regression", scale=self.high)

    def datasets(self, seed: int) -> tuple[Dataset, Dataset]:
        return adding_datasets(self, seed)

    def data_shape(self) -> DataShape:
        n_train = int(self.train_split * self.n_samples)
        if self.flavour == "blog":
            longest = max(self.seq_len, int(self.seq_len * (1 + self.delta)))
        else:
            longest = self.max_len
        return DataShape(n_train, self.n_samples - n_train, longest)

    def syntax(self) -> str:
        return "12:0 37:1"

    def parse(self, text: str) -> Typed:
        steps = parse_sequence(text, self)
        x, expected = to_arrays(steps, self.high)
        values = np.array([[s.value, s.flag] for s in steps], dtype=np.float32)
        return Typed(values, x, expected)

    def ood_axes(self) -> OODAxes:
        return OODAxes("length", "flags", tuple(range(1, 9)), tuple(range(1, 5)))

    def ood_cell(self, row: int, col: int, n: int, rng: np.random.Generator) -> OODSample | None:
        """``n`` sequences of length ``row`` with ``col`` flags, values in the blog's
        out-of-distribution range 10–89 whatever ``high`` (inputs are still divided by
        ``high``); none where the flags cannot fit."""
        if col > row:
            return None
        low, high = OOD_VALUES
        block = general_generator(rng, n, row, row, col, col, low, high)
        data = Dataset(block.x, block.y, block.lengths, self.high)
        return OODSample(data, self.in_distribution(row, col))


# the values of the out-of-distribution grid's sequences, [low, high): the blog's
OOD_VALUES = (10, 90)


# the adding problem's config under the name sessions, tests and benches have always used
TaskConfig = AddingTask


@dataclass
class Dataset:
    """Raw sequences: ``x[..., 0]`` values (not divided by high), ``x[..., 1]`` flags."""

    x: np.ndarray  # float32 (N, T, 2), right-padded
    y: np.ndarray  # float32 (N,), raw sum of flagged values
    lengths: np.ndarray  # int64 (N,)
    high: int = 100
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def fixed_length(self) -> bool:
        return bool(np.all(self.lengths == self.x.shape[1]))

    def model_input(self) -> np.ndarray:
        """What the network sees: ``value / high`` (float32, as torch divides) and flag."""
        x = self.x.copy()
        x[..., 0] /= np.float32(self.high)
        return x

    def subset(self, sl: slice) -> Dataset:
        return Dataset(self.x[sl], self.y[sl], self.lengths[sl], self.high, dict(self.meta))


def blog_generator(
    rng: np.random.RandomState, n: int, seq_len: int = 6, high: int = 1, delta: float = 0.6
) -> tuple[np.ndarray, np.ndarray]:
    """The blog's ``adding_problem_generator``, drawing from ``rng`` in the same order.

    Returns the blog's ``X`` (float64, N×L×2) and ``Y`` (float64, N×1) unchanged.
    """
    actual_seq_len = (
        rng.randint(int(seq_len * (1 - delta)), int(seq_len * (1 + delta)))
        if delta > 0
        else seq_len
    )
    num_ones = rng.randint(2, min(actual_seq_len - 1, 4))
    x_num = rng.randint(low=0, high=high, size=(n, actual_seq_len, 1))
    x_mask = np.zeros((n, actual_seq_len, 1))
    # the blog: for each sample, positions = rng.choice(L, size=num_ones, replace=False)
    positions = legacy_choices(rng, n, actual_seq_len, num_ones)
    rows = np.arange(n)[:, None]
    x_mask[rows, positions] = 1
    y = x_num[rows, positions, 0].sum(axis=1, keepdims=True).astype(np.float64)
    return np.append(x_num, x_mask, axis=2), y


def _mask(i: int) -> int:
    for s in (1, 2, 4, 8, 16):
        i |= i >> s
    return i


def legacy_choices(
    rng: np.random.RandomState, n: int, pop: int, k: int, block: int = 0
) -> np.ndarray:
    """``n`` successive ``rng.choice(pop, size=k, replace=False)`` results, (n, k),
    bit for bit, vectorised (an ensemble generates one data set per seed).

    Legacy ``choice`` without replacement is ``permutation(pop)[:k]``: a Fisher–Yates
    shuffle whose index for slot ``i`` is the first 32-bit output ``u`` with
    ``u & mask(i) <= i``. On a block of raw outputs (``randint(0, 2**32,
    dtype=uint32)`` draws exactly one each) this finds, for every possible start, the
    outputs a sample starting there would take and where the next sample starts; one
    cheap walk along those starts picks the samples' outputs. ``rng`` ends up past the
    last block drawn (the blog draws nothing after these). ``block``: outputs drawn at a
    time (0: enough for all samples but in rare cases).
    """
    steps = [(i, _mask(i)) for i in range(pop - 1, 0, -1)]
    arr = np.tile(np.arange(pop, dtype=np.int64), (n, 1))
    if n == 0 or not steps:
        return arr[:, :k].copy()
    block = block or max(1024, 2 * n * len(steps))
    raw = rng.randint(0, 2**32, size=block, dtype=np.uint32)
    while True:
        size = len(raw)
        lost = size + 1  # "no accepted output left in the block"
        pos = np.arange(size + 2, dtype=np.int32)
        pos[-1] = lost
        picks = []
        for i, m in steps:
            masked = (raw & np.uint32(m)).astype(np.int32)
            if m == i:  # every output is accepted: the step takes the next one
                taken = np.where(pos < size, pos, lost).astype(np.int32)
            else:  # the first accepted output at or after each position
                accepted = np.flatnonzero(masked <= i).astype(np.int32)
                accepted = np.append(accepted, np.int32(lost))
                taken = accepted[np.searchsorted(accepted, pos)]
            picks.append((taken, masked))
            pos = np.minimum(taken + 1, lost).astype(np.int32)
        # where the sample starting at each position ends, -1 if the block runs out first
        follow = np.where(picks[-1][0] != lost, pos, -1).tolist()
        starts = [0] * n
        p = 0
        for s in range(n):
            nxt = follow[p]
            if nxt < 0:  # the block ran out: draw another, walk again
                break
            starts[s] = p
            p = nxt
        else:
            break
        raw = np.concatenate([raw, rng.randint(0, 2**32, size=block, dtype=np.uint32)])
    at = np.array(starts)
    rows = np.arange(n)
    for (i, _), (taken, masked) in zip(steps, picks, strict=True):
        j = masked[taken[at]]
        swap = arr[:, i].copy()
        arr[:, i] = arr[rows, j]
        arr[rows, j] = swap
    return arr[:, :k].copy()


def general_generator(
    rng: np.random.Generator,
    n: int,
    min_len: int,
    max_len: int,
    min_flags: int,
    max_flags: int,
    low: int,
    high: int,
) -> Dataset:
    """Per-sample length and flag count; values uniform in ``[low, high)``."""
    lengths = rng.integers(min_len, max_len + 1, size=n)
    flags = rng.integers(min_flags, max_flags + 1, size=n)
    flags = np.minimum(flags, lengths)
    values = rng.integers(low, high, size=(n, max_len)).astype(np.float32)
    steps = np.arange(max_len)
    valid = steps[None, :] < lengths[:, None]
    # random positions among the valid steps: rank random keys, flag the k smallest
    keys = np.where(valid, rng.random((n, max_len)), np.inf)
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    mask = (ranks < flags[:, None]) & valid
    values = np.where(valid, values, 0.0).astype(np.float32)
    x = np.stack([values, mask.astype(np.float32)], axis=2)
    y = (values * mask).sum(axis=1).astype(np.float32)
    return Dataset(x, y, lengths.astype(np.int64), high)


def adding_datasets(task: AddingTask, seed: int) -> tuple[Dataset, Dataset]:
    """Train and test sets for ``task``.

    For ``blog`` this consumes ``np.random.RandomState(seed)`` exactly as the blog's
    script consumes the global RNG after ``np.random.seed(seed)``.
    """
    task.validate()
    if task.flavour == "blog":
        x64, y64 = blog_generator(
            np.random.RandomState(seed), task.n_samples, task.seq_len, task.high, task.delta
        )
        x = x64.astype(np.float32)
        y = y64[:, 0].astype(np.float32)
        full = Dataset(x, y, np.full(len(x), x.shape[1], dtype=np.int64), task.high)
    else:
        full = general_generator(
            np.random.default_rng(seed),
            task.n_samples,
            task.min_len,
            task.max_len,
            task.min_flags,
            task.max_flags,
            0,
            task.high,
        )
    n_train = int(task.train_split * task.n_samples)
    return full.subset(slice(0, n_train)), full.subset(slice(n_train, None))


@dataclass
class OODGrid:
    """The adding problem's out-of-distribution grid in raw values: one block of
    ``n_per_cell`` sequences per cell."""

    cells: list[tuple[int, int]]  # (length, flags) per cell, row-major
    data: Dataset  # all cells concatenated, cell c at rows [c*n, (c+1)*n)
    n_per_cell: int

    def cell_index(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.cells)), self.n_per_cell)


def ood_grid(
    lengths: range = range(1, 9),
    flags: range = range(1, 5),
    n_per_cell: int = 200,
    scale: int = 100,
    seed: int = 0,
) -> OODGrid:
    """The cells ``AddingTask.ood_cell`` draws for a model of ``high = scale`` (the
    grid the OOD analysis scores, here with raw values), every (length, flag count)
    with ``flags <= length``, zero-padded to the longest."""
    axes = OODAxes("length", "flags", tuple(lengths), tuple(flags))
    drawn = ood_cells(AddingTask(high=scale), axes, n_per_cell, seed)
    t_max = max(lengths)
    xs = []
    for _, sample in drawn:
        pad = np.zeros((n_per_cell, t_max, 2), dtype=np.float32)
        pad[:, : sample.data.x.shape[1]] = sample.data.x
        xs.append(pad)
    ys = np.concatenate([s.data.y for _, s in drawn])
    ls = np.concatenate([s.data.lengths for _, s in drawn])
    data = Dataset(np.concatenate(xs), ys, ls, scale)
    return OODGrid([c for c, _ in drawn], data, n_per_cell)


# -- the debugger's syntax ------------------------------------------------------------

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


def _number(tok: str, col: int, what: str, task: Task | None) -> float:
    if not _NUMBER.match(tok):
        raise SequenceError(f"column {col + 1}: {what} {tok!r} is not a number", col)
    v = float(tok)
    if isinstance(task, AddingTask):
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


def parse_sequence(text: str, task: Task | None = None) -> list[Step]:
    """Parse a typed sequence; raise ``SequenceError`` naming the column at fault.

    Forms: ``value:flag`` or ``value,flag`` pairs separated by spaces/semicolons, or
    ``value flag`` pairs separated by semicolons (``12 0; 37 1``). With an adding
    ``task``, values outside its value range are refused; at most ``MAX_STEPS`` pairs.
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
