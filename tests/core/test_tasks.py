"""Task generators: the blog flavour reproduces the blog's data; general and OOD grids
honour their ranges."""

from __future__ import annotations

import numpy as np
import pytest

from grutui.core.errors import ConfigError
from grutui.core.tasks import TaskConfig, make_datasets, ood_grid
from tests.blog_reference import adding_problem_generator


@pytest.mark.parametrize("seed", [37, 0])
def test_blog_flavour_is_the_blogs_data(seed: int) -> None:
    np.random.seed(seed)  # the blog seeds the global legacy RNG and calls its generator
    x_ref, y_ref = adding_problem_generator(10_000, seq_len=4, high=100, delta=0)
    train, test = make_datasets(TaskConfig(), seed)
    np.testing.assert_array_equal(np.concatenate([train.x, test.x]), x_ref.astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([train.y, test.y]), y_ref[:, 0])
    assert len(train) == 8000 and len(test) == 2000


def test_blog_quirk_every_sequence_has_length_4_and_2_flags() -> None:
    train, _ = make_datasets(TaskConfig(), 37)
    assert train.x.shape[1] == 4 and train.fixed_length
    assert set(train.x[..., 1].sum(axis=1).tolist()) == {2.0}


def test_blog_flavour_with_delta_matches_the_blog() -> None:
    np.random.seed(5)
    x_ref, y_ref = adding_problem_generator(500, seq_len=10, high=50, delta=0.5)
    train, test = make_datasets(TaskConfig(n_samples=500, seq_len=10, high=50, delta=0.5), 5)
    np.testing.assert_array_equal(np.concatenate([train.x, test.x]), x_ref.astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([train.y, test.y]), y_ref[:, 0])


def test_general_flavour_ranges_and_targets() -> None:
    task = TaskConfig(
        flavour="general", n_samples=4000, min_len=2, max_len=9, min_flags=1, max_flags=3, high=50
    )
    train, test = make_datasets(task, 1)
    for ds in (train, test):
        assert ds.lengths.min() >= 2 and ds.lengths.max() <= 9
        steps = np.arange(ds.x.shape[1])
        pad = steps[None, :] >= ds.lengths[:, None]
        assert np.all(ds.x[pad] == 0), "padding must be zero"
        flags = ds.x[..., 1].sum(axis=1)
        assert flags.min() >= 1 and flags.max() <= 3
        assert np.all(flags <= ds.lengths)
        vals = ds.x[..., 0][~pad]
        assert vals.min() >= 0 and vals.max() <= 49
        np.testing.assert_array_equal(ds.y, (ds.x[..., 0] * ds.x[..., 1]).sum(axis=1))
    # every length and flag count actually occurs
    assert set(np.unique(train.lengths)) == set(range(2, 10))
    assert set(np.unique(train.x[..., 1].sum(axis=1))) == {1.0, 2.0, 3.0}


def test_model_input_divides_values_as_float32() -> None:
    train, _ = make_datasets(TaskConfig(n_samples=20), 3)
    mi = train.model_input()
    np.testing.assert_array_equal(mi[..., 0], train.x[..., 0] / np.float32(100))
    np.testing.assert_array_equal(mi[..., 1], train.x[..., 1])
    assert mi.dtype == np.float32


def test_ood_grid_cells_and_values() -> None:
    g = ood_grid(n_per_cell=50, seed=4)
    assert len(g.cells) == sum(1 for length in range(1, 9) for k in range(1, 5) if k <= length)
    idx = g.cell_index()
    for c, (length, k) in enumerate(g.cells):
        rows = idx == c
        assert np.all(g.data.lengths[rows] == length)
        x = g.data.x[rows, :length]
        assert np.all(x[..., 1].sum(axis=1) == k)
        assert x[..., 0].min() >= 10 and x[..., 0].max() <= 89
    # a cell's sample does not depend on the grid's extent
    small = ood_grid(lengths=range(4, 5), flags=range(2, 3), n_per_cell=50, seed=4)
    c = g.cells.index((4, 2))
    np.testing.assert_array_equal(small.data.x[:, :4], g.data.x[idx == c, :4])


def test_in_distribution_of_the_blog_task() -> None:
    t = TaskConfig()
    inside = [(n, k) for n in range(1, 9) for k in range(1, 5) if t.in_distribution(n, k)]
    assert inside == [(4, 2)]


@pytest.mark.parametrize(
    "bad",
    [
        {"flavour": "nope"},
        {"n_samples": 1},
        {"train_split": 1.0},
        {"high": 0},
        {"seq_len": 3},
        {"flavour": "general", "min_len": 5, "max_len": 2},
        {"flavour": "general", "min_flags": 9, "max_flags": 9},
    ],
)
def test_invalid_task_configs_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        TaskConfig(**bad).validate()  # type: ignore[arg-type]
