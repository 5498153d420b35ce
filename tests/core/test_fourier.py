"""The Fourier analysis: known spectra and circles, the gradient against torch's autograd,
the survival history's cache (round trip, incremental growth, invalidation)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from grutui.cli import main
from grutui.core.analysis import fourier
from grutui.core.analysis.rowcache import ANALYSIS_NAME
from grutui.core.config import TrainConfig, preset
from grutui.core.errors import ConfigError
from grutui.core.layout import param_shapes
from grutui.core.rundata import RunData
from grutui.core.session import Session
from grutui.core.tasks import ModAddTask
from tests.helpers import tiny_circles_argv

P = 11
TINY = tiny_circles_argv(P, 6)


@pytest.fixture(scope="module")
def modadd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny modular-addition session trained by the real command line."""
    out = tmp_path_factory.mktemp("fourier") / "modadd"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def orthonormal(d: int, n: int, seed: int = 0) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, n)))
    return q.T  # (n, d), orthonormal rows


# -- known answers ---------------------------------------------------------------------


def test_signal_and_circles_of_known_cosines() -> None:
    p, d = 23, 12
    a = np.arange(p)[:, None]
    c3, c7, s7 = orthonormal(d, 3)
    emb = 2.0 * np.cos(2 * np.pi * 3 * a / p) * c3  # frequency 3, amplitude 2, cos only
    emb += np.cos(2 * np.pi * 7 * a / p) * c7 + np.sin(2 * np.pi * 7 * a / p) * s7
    emb += 5.0  # a constant offset is frequency 0: not counted
    sig = fourier.signal(emb)
    expected = np.zeros(p // 2)
    expected[3 - 1] = p  # ‖2·c·p/2‖
    expected[7 - 1] = p / 2 * np.sqrt(2)  # cos and sin of unit amplitude
    np.testing.assert_allclose(sig, expected, atol=1e-9)
    assert fourier.circles(sig).nonzero()[0].tolist() == [2, 6]  # k = 3 and 7
    spec = fourier.Spectrum(0, 0, p, sig)
    assert spec.circle_frequencies == [3, 7]
    assert spec.threshold == pytest.approx(2 * expected.mean())


def test_signal_of_the_input_weights_uses_the_token_columns() -> None:
    cfg = preset("circles").replace(**{"task.p": 13, "hidden": 2})
    cols = fourier.token_columns(cfg)
    assert cols is not None and cols.vocab == 13 and cols.start == 0
    w_ih = np.random.default_rng(1).normal(size=(6, 13))
    emb = fourier.embedding(w_ih, cols)
    assert emb.shape == (13, 6)
    np.testing.assert_array_equal(emb, w_ih.T)


def test_a_pure_frequency_projects_on_a_circle() -> None:
    p, d, k = 31, 9, 5
    theta = 2 * np.pi * k * np.arange(p) / p
    c, s = orthonormal(d, 2, seed=3)
    emb = 1.5 * (np.cos(theta)[:, None] * c + np.sin(theta)[:, None] * s) + 0.7
    pts = fourier.circle_points(emb, k)
    radius = np.hypot(pts[:, 0], pts[:, 1])
    np.testing.assert_allclose(radius, 1.5, rtol=1e-9)
    # token a sits at angle ∓2πka/p: consecutive tokens step by 2πk/p, all one way round
    steps = np.angle(np.exp(1j * np.diff(np.arctan2(pts[:, 1], pts[:, 0]))))
    np.testing.assert_allclose(np.abs(steps), 2 * np.pi * k / p, atol=1e-9)
    assert len(np.unique(np.sign(steps))) == 1
    with pytest.raises(ConfigError, match=r"frequency must be in 1\.\.15"):
        fourier.circle_points(emb, 16)


def test_unavailable_for_a_task_without_tokens() -> None:
    assert fourier.unavailable(preset("circles")) is None
    why = fourier.unavailable(preset("blog"))
    assert why is not None and "token input" in why and "\n" not in why
    with pytest.raises(ConfigError, match="token input"):
        fourier.require_columns(preset("flipflop"))


# -- the gradient ------------------------------------------------------------------------


def test_embedding_gradient_matches_torch_autograd() -> None:
    torch = pytest.importorskip("torch")
    from grutui.core.model import AddingGRU
    from grutui.core.tasks import make_datasets

    cfg = TrainConfig(task=ModAddTask(p=7, train_fraction=0.6), hidden=3, seed=4)
    shapes = param_shapes(cfg.hidden, cfg.input_size, cfg.output_size)
    rng = np.random.default_rng(2)
    params = {n: rng.normal(scale=0.8, size=s).astype(np.float32) for n, s in shapes.items()}
    grad = fourier.embedding_gradient(params, cfg, cfg.seed)

    model = AddingGRU(cfg.input_size, cfg.hidden, cfg.output_size, init="torch")
    model.load_numpy_params(params)
    train, _ = make_datasets(cfg.task, cfg.seed)
    x = torch.tensor(train.model_input())
    out = model(x, torch.tensor(train.lengths))
    torch.nn.functional.cross_entropy(out, torch.tensor(train.y)).backward()
    ref = model.gru.weight_ih_l0.grad.numpy().T  # (p, 3H): one row per token
    np.testing.assert_allclose(grad, ref, rtol=1e-4, atol=1e-7)


def test_gradient_chunks_agree_with_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = TrainConfig(task=ModAddTask(p=7, train_fraction=0.6), hidden=3, seed=4)
    shapes = param_shapes(cfg.hidden, cfg.input_size, cfg.output_size)
    rng = np.random.default_rng(5)
    params = {n: rng.normal(size=s).astype(np.float32) for n, s in shapes.items()}
    whole = fourier.embedding_gradient(params, cfg, 0)
    monkeypatch.setattr(fourier, "GRAD_CHUNK", 5)
    np.testing.assert_allclose(fourier.embedding_gradient(params, cfg, 0), whole, atol=1e-12)


# -- survival and its cache ----------------------------------------------------------------


def test_survival_matches_the_spectrum_at_every_snapshot(modadd: Path) -> None:
    with Session(modadd) as s:
        surv = fourier.survival_history(s, use_cache=False)
        assert surv.epochs.tolist() == s.snapshot_epochs.tolist()
        for i, e in enumerate(surv.epochs):
            np.testing.assert_allclose(surv.signal[i], fourier.fourier_at(s, int(e)).signal)
        init = s.initial_weights(0)
        assert init is not None
        sig0, grad0, growth0 = fourier.initial_terms(init, s.config, s.config.seed)
    np.testing.assert_allclose(surv.initial_signal, sig0)
    np.testing.assert_allclose(surv.initial_gradient, grad0)
    np.testing.assert_allclose(surv.initial_growth, growth0)
    assert surv.computed == len(surv) == 6


def test_survival_cache_round_trip_and_incremental(modadd: Path) -> None:
    with Session(modadd) as s:
        first = fourier.survival_history(s)
        assert first.computed == 6
        again = fourier.survival_history(s)
        assert again.computed == 0
        for name in ("epochs", "signal", "initial_signal", "initial_gradient", "initial_growth"):
            np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
        # a cache that holds a prefix (the run had fewer snapshots): only the rest runs
        with h5py.File(modadd / ANALYSIS_NAME, "a") as f:
            f[fourier.group_name(0)].attrs["rows"] = 2
        grown = fourier.survival_history(s)
        assert grown.computed == 4
        np.testing.assert_array_equal(grown.signal, first.signal)
        assert fourier.survival_history(s).computed == 0
        # another member's group, or no cache, leaves this one alone
        assert fourier.survival_history(s, use_cache=False).computed == 6


def test_survival_extends_a_previous_result_in_memory(modadd: Path) -> None:
    with Session(modadd) as s:
        data = RunData.from_session(s)
    full = fourier.survival_history(data, use_cache=False)
    part = fourier.Survival(
        full.epochs[:3],
        full.signal[:3],
        full.initial_signal,
        full.initial_gradient,
        full.initial_growth,
        vocab=P,
    )
    grown = fourier.survival_history(data, use_cache=False, previous=part)
    assert grown.computed == 3
    np.testing.assert_array_equal(grown.signal, full.signal)
    # a previous result that is not a prefix (another run) is not trusted
    wrong = fourier.Survival(
        full.epochs[:3] + 1, full.signal[:3], *(np.zeros(P // 2) for _ in range(3)), vocab=P
    )
    assert fourier.survival_history(data, use_cache=False, previous=wrong).computed == 6


def test_a_session_rewritten_in_place_recomputes(modadd: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    with Session(out) as s:
        assert fourier.survival_history(s).computed == 6
    assert main(["train", *TINY, "--seed", "3", "--out", str(out), "--force"]) == 0
    with Session(out) as s:
        again = fourier.survival_history(s)
        assert again.computed == 6
        np.testing.assert_allclose(
            again.signal, fourier.survival_history(s, use_cache=False).signal
        )


def test_ranking_and_summary_of_a_known_history() -> None:
    # k=1 and k=2 are circles at the start; k=2 (the strongest) survives, k=1 dies, and
    # k=4 (the weakest, but with the largest gradient) becomes one
    init = np.array([5.0, 6.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0])
    grad = np.array([0.1, 0.2, 0.05, 0.9, 0.01, 0.02, 0.03, 0.04])
    last = np.array([1.0, 10.0, 1.0, 10.0, 0.5, 0.5, 0.5, 0.5])  # 2×mean = 6
    surv = fourier.Survival(
        np.array([0, 10]), np.stack([init, last]), init, grad, np.zeros(8), vocab=17
    )
    ranks = surv.ranking()
    assert [r.k for r in ranks] == [2, 1, 3, 5, 6, 7, 8, 4]  # ties by frequency
    by_k = {r.k: r for r in ranks}
    assert [by_k[k].gradient_rank for k in (4, 2, 1)] == [1, 2, 3]
    assert [k for k in sorted(by_k) if by_k[k].survived] == [2, 4]
    assert [k for k in sorted(by_k) if by_k[k].circle_at_start] == [1, 2]
    summ = surv.summary()
    assert summ["circles_at_start"] == 2 and summ["circles_at_end"] == 2
    assert summ["survivors"] == [2, 4]
    assert summ["survivors_in_top_signal"] == 1  # k=2 (rank 1); k=4 is rank 8
    assert summ["survivors_in_top_gradient"] == 2  # k=4 (1) and k=2 (2)
    assert summ["survivor_signal_ranks"] == [1, 8]
    assert summ["chance"] == 0.5
    # ranks of init 2,1,3,(4..7 for k=5..8),8 against last (k=2,4 first): Spearman by hand
    ri = np.array([2, 1, 3, 8, 4, 5, 6, 7], float)
    rl = np.array([3, 1, 4, 2, 5, 6, 7, 8], float)
    expected = 1 - 6 * ((ri - rl) ** 2).sum() / (8 * (64 - 1))
    assert summ["spearman_signal"] == pytest.approx(expected)
    assert fourier.spearman(np.arange(5.0), -np.arange(5.0)) == pytest.approx(-1)
    assert fourier.spearman(np.ones(5), np.arange(5.0)) is None
    np.testing.assert_allclose(surv.ratio[1], last / 6.0)
    assert surv.row(5) == 0 and surv.row(10) == 1 and surv.row(-3) == 0
