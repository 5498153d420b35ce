"""The OOD grid and its history against a slow reference: one torch.nn.GRU call per
sequence, unpadded, and a plain Python count of successes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from grutui.core.analysis.history import ood_history
from grutui.core.analysis.ood import OODEvaluator, OODView, format_grid, ood_at
from grutui.core.analysis.rowcache import ANALYSIS_NAME
from grutui.core.gru import GRUWeights, gru_output, gru_trace
from grutui.core.session import Session
from grutui.core.tasks import TaskConfig, ood_grid
from tests.helpers import make_session, random_params, synthetic_session, tiny_config


def reference_grid(params: dict[str, np.ndarray], samples: int, seed: int, high: int):
    """Per sequence through torch.nn.GRU; returns {(length, flags): (success, mean err)}."""
    hidden = params["gru.weight_hh_l0"].shape[1]
    gru = torch.nn.GRU(2, hidden, batch_first=True)
    lin = torch.nn.Linear(hidden, 1)
    with torch.no_grad():
        for name, p in [*gru.named_parameters(), *lin.named_parameters()]:
            key = ("gru." if "_l0" in name else "linear.") + name
            p.copy_(torch.tensor(np.asarray(params[key])))
    g = ood_grid(n_per_cell=samples, seed=seed, scale=high)
    out = {}
    for c, (length, k) in enumerate(g.cells):
        errs = []
        for i in range(c * samples, (c + 1) * samples):
            seq = g.data.x[i, :length].astype(np.float64).copy()
            seq[:, 0] /= high
            with torch.no_grad():
                o, _ = gru(torch.tensor(seq, dtype=torch.float32)[None])
                pred = float(lin(o[0, -1])) * high
            target = float(g.data.y[i])
            errs.append(abs(pred - target) / max(abs(target), 1.0))
        out[(length, k)] = (sum(e < 0.1 for e in errs) / samples, sum(errs) / samples)
    return out


@pytest.mark.parametrize("hidden", [1, 3])
def test_grid_matches_per_sequence_torch_reference(hidden: int) -> None:
    params = {k: v[0] for k, v in random_params(np.random.default_rng(hidden), hidden).items()}
    # outputs near 100 ± a GRU-dependent part: some samples succeed, some fail
    params["linear.weight"] = params["linear.weight"] * 0.1
    params["linear.bias"] = np.array([1.0], np.float32)
    ev = OODEvaluator(TaskConfig(), samples=20, seed=3)
    res = ev.evaluate(params)
    ref = reference_grid(params, 20, 3, 100)
    assert len(res.cells) == 26  # 8 lengths × 4 flags minus flags > length
    for length, k in res.cells:
        cell = res.cell(length, k)
        s_ref, e_ref = ref[(length, k)]
        assert cell.success_rate == pytest.approx(s_ref, abs=1 / 20 + 1e-9)
        assert cell.mean_rel_error == pytest.approx(e_ref, rel=1e-4, abs=1e-5)
    assert res.success.max() > 0 and res.success.min() < 1  # not vacuous


def test_blog_distribution_marks_only_length4_two_flags() -> None:
    ev = OODEvaluator(TaskConfig(), samples=5)
    marked = [c for c, m in zip(ev.cells, ev.in_distribution, strict=True) if m]
    assert marked == [(4, 2)]
    general = OODEvaluator(TaskConfig(flavour="general", min_len=2, max_len=3, max_flags=2), 5)
    marked = [c for c, m in zip(general.cells, general.in_distribution, strict=True) if m]
    assert marked == [(2, 1), (2, 2), (3, 1), (3, 2)]


def test_table_layout_and_text_grid() -> None:
    params = {k: v[0] for k, v in random_params(np.random.default_rng(0), 2).items()}
    res = OODEvaluator(TaskConfig(), samples=10).evaluate(params, epoch=7)
    t = res.table("success")
    assert t.shape == (4, 8)
    assert np.isnan(t[3, 2])  # 4 flags cannot fit in length 3
    assert t[1, 3] == res.cell(4, 2).success_rate
    text = format_grid(res)
    assert "*" in text.splitlines()[3]  # the row for 2 flags carries the (4, 2) mark
    js = res.to_json()
    assert js["epoch"] == 7 and len(js["cells"]) == 26


def test_lean_output_equals_trace_output_on_mixed_lengths() -> None:
    p = {k: v[0] for k, v in random_params(np.random.default_rng(5), 4).items()}
    w = GRUWeights.from_params(p)
    g = ood_grid(n_per_cell=7)
    order = np.random.default_rng(0).permutation(len(g.data))  # unsorted lengths
    x, lengths = g.data.model_input()[order], g.data.lengths[order]
    np.testing.assert_allclose(gru_output(w, x, lengths), gru_trace(w, x, lengths).output, 0, 1e-6)


def test_diverged_weights_give_inf_error_not_crash() -> None:
    p = {k: v[0] for k, v in random_params(np.random.default_rng(0), 1).items()}
    p["linear.bias"] = np.array([np.nan], np.float32)
    res = OODEvaluator(TaskConfig(), samples=4).evaluate(p)
    assert np.all(res.success == 0) and np.all(np.isinf(res.mean_rel_error))
    assert res.to_json()["cells"][0]["mean_rel_error"] is None


@pytest.mark.slow
def test_ood_at_uses_session_snapshot(tmp_path: Path) -> None:
    path = make_session(tmp_path / "s", tiny_config(hidden=2))
    with Session(path) as s:
        res = ood_at(s, "last", samples=10)
        direct = OODEvaluator(s.config.task, 10).evaluate(s.weights(s.last_epoch))
    np.testing.assert_array_equal(res.success, direct.success)
    assert res.epoch == 5


def _synthetic(tmp_path: Path, epochs: int) -> Path:
    rng = np.random.default_rng(1)
    ws = [random_params(rng, 2) for _ in range(epochs)]
    return synthetic_session(tmp_path / "syn", ws, np.linspace(1, 0.1, epochs))


def test_history_matches_per_epoch_grid_and_caches(tmp_path: Path) -> None:
    path = _synthetic(tmp_path, 7)
    with Session(path) as s:
        h = ood_history(s, samples=8, stride=2)
        assert list(h.epochs) == [0, 2, 4, 6] and h.computed == 4
        for i, e in enumerate(h.epochs):
            ref = OODEvaluator(s.config.task, 8).evaluate(s.weights(int(e)))
            np.testing.assert_array_equal(h.success[i], ref.success)
            np.testing.assert_array_equal(h.mean_rel_error[i], ref.mean_rel_error)
        assert (path / ANALYSIS_NAME).is_file()
        again = ood_history(s, samples=8, stride=2)
        assert again.computed == 0  # all from the cache
        np.testing.assert_array_equal(again.success, h.success)
        other = ood_history(s, samples=8, stride=3)  # another key: computed afresh
        assert other.computed == 3
        assert h.at(5).epoch == 4


def test_history_cache_extends_when_session_grows(tmp_path: Path) -> None:
    from grutui.core.records import EpochRecord

    rng = np.random.default_rng(2)
    path = tmp_path / "grow"
    from grutui.core.writer import SessionWriter

    cfg = tiny_config(epochs=10, hidden=2)
    w = SessionWriter(path, cfg)

    def rec(e: int) -> EpochRecord:
        return EpochRecord(e, np.ones(1), None, np.ones(1), 0.0, random_params(rng, 2))

    for e in range(4):
        w.append(rec(e))
    w._f.flush()
    with Session(path) as s:
        first = ood_history(s, samples=5)
        assert list(first.epochs) == [0, 1, 2, 3]
    for e in range(4, 7):
        w.append(rec(e))
    w.close()
    with Session(path) as s:
        grown = ood_history(s, samples=5)
        assert grown.computed == 3 and list(grown.epochs) == list(range(7))
        fresh = ood_history(s, samples=5, use_cache=False)
        np.testing.assert_array_equal(grown.success, fresh.success)


def test_history_cache_invalidated_when_session_rewritten(tmp_path: Path) -> None:
    path = _synthetic(tmp_path, 3)
    with Session(path) as s:
        old = ood_history(s, samples=5)
    rng = np.random.default_rng(99)
    import shutil

    keep = (path / ANALYSIS_NAME).read_bytes()
    shutil.rmtree(path)
    synthetic_session(path, [random_params(rng, 2) for _ in range(3)], np.ones(3))
    (path / ANALYSIS_NAME).write_bytes(keep)  # a stale cache left beside a new run
    with Session(path) as s:
        new = ood_history(s, samples=5)
        assert new.computed == 3
        ref = OODEvaluator(s.config.task, 5).evaluate(s.weights(0))
    np.testing.assert_array_equal(new.success[0], ref.success)
    assert not np.array_equal(new.mean_rel_error, old.mean_rel_error)


def test_history_stops_early_and_resumes(tmp_path: Path) -> None:
    path = _synthetic(tmp_path, 5)
    calls = []
    with Session(path) as s:
        part = ood_history(
            s,
            samples=4,
            should_stop=lambda: len(calls) >= 2,
            on_progress=lambda d, t: calls.append((d, t)),
        )
        assert not part.complete and len(part) == 2 and calls == [(1, 5), (2, 5)]
        rest = ood_history(s, samples=4)
        assert rest.complete and rest.computed == 3


def test_view_caches_by_snapshot(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    ws = [random_params(rng, 1) for _ in range(9)]
    path = synthetic_session(tmp_path / "v", ws, np.ones(9), snapshot_every=4)
    with Session(path) as s:
        assert list(s.snapshot_epochs) == [0, 4, 8]
        view = OODView(s, samples=5, max_cached=2)
        a = view.at(5)
        assert a.epoch == 4 and view.at(7) is a  # same snapshot: no recomputation
        ref = OODEvaluator(s.config.task, 5).evaluate(s.weights(4))
        np.testing.assert_array_equal(a.success, ref.success)
        view.at(0)
        view.at(8)  # evicts epoch 4 (least recently used)
        assert view.at(6) is not a and view.at(6).epoch == 4
