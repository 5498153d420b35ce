"""The fast engine and ensembles: same trajectories as the reference trainer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from grutui.core import fast
from grutui.core.buffered import BufferedWriter
from grutui.core.config import TrainConfig, format_seeds, parse_seeds
from grutui.core.errors import ConfigError
from grutui.core.records import EpochRecord
from grutui.core.session import Session
from grutui.core.tasks import Dataset, legacy_choices, make_datasets
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.helpers import REPO, child_env, tiny_config

TOL = 1e-5


def poison_seed(monkeypatch: pytest.MonkeyPatch, poisoned_seed: int = 3) -> None:
    """Make the fast engine's member with ``poisoned_seed`` diverge: its targets are so
    large that the squared error overflows float32."""
    real = fast.make_datasets

    def poisoned(task: Any, seed: int) -> tuple[Dataset, Dataset]:
        tr, te = real(task, seed)
        if seed == poisoned_seed:
            tr = Dataset(tr.x, np.full_like(tr.y, 1e25), tr.lengths, tr.high)
        return tr, te

    monkeypatch.setattr(fast, "make_datasets", poisoned)


def _run(cfg: TrainConfig) -> list[EpochRecord]:
    return list(train(cfg))


def _assert_same(ref: list[EpochRecord], got: list[EpochRecord], member: int = 0) -> None:
    """Record by record: losses (relative), lr, weights (absolute), event kinds."""
    assert len(got) == len(ref)
    for r, g in zip(ref, got, strict=True):
        assert g.epoch == r.epoch
        np.testing.assert_allclose(g.train_loss[member], r.train_loss[0], rtol=TOL)
        assert (g.test_loss is None) == (r.test_loss is None)
        if r.test_loss is not None and g.test_loss is not None:
            np.testing.assert_allclose(g.test_loss[member], r.test_loss[0], rtol=TOL)
        assert g.lr[member] == r.lr[0]
        for name, w in r.weights.items():
            np.testing.assert_allclose(g.weights[name][member], w[0], atol=TOL, rtol=0)
        mine = [e for e in g.events if e.get("member", member) == member]
        assert [e["kind"] for e in mine] == [e["kind"] for e in r.events]
        assert g.diverged == r.diverged
    if ref[0].initial_weights is not None:
        assert got[0].initial_weights is not None
        for name, w in ref[0].initial_weights.items():
            np.testing.assert_array_equal(got[0].initial_weights[name][member], w[0])


def test_fast_equals_reference_with_lr_changes() -> None:
    # patience 0 and a large lr: the plateau schedule fires several times
    cfg = tiny_config(engine="reference", epochs=10, eval_every=1, plateau_patience=0, lr=0.05)
    ref = _run(cfg)
    assert any(e["kind"] == "lr_change" for r in ref for e in r.events)
    _assert_same(ref, _run(cfg.replace(engine="fast")))


def test_fast_equals_reference_variable_lengths_wider_gru() -> None:
    cfg = tiny_config(engine="reference", **{"task.flavour": "general", "hidden": 3, "epochs": 5})
    ref = _run(cfg)
    _assert_same(ref, _run(cfg.replace(engine="fast")))


def test_fast_equals_reference_without_clip_or_schedule() -> None:
    cfg = tiny_config(
        engine="reference", grad_clip=None, plateau_factor=None, weight_decay=0.0, epochs=4
    )
    _assert_same(_run(cfg), _run(cfg.replace(engine="fast")))


def test_ensemble_members_equal_single_runs() -> None:
    seeds = (0, 5, 37)
    base = tiny_config(engine="reference", epochs=6, eval_every=1, plateau_patience=1, lr=0.02)
    ens = _run(base.replace(engine="fast", seeds=seeds))
    assert ens[0].members == 3
    assert all(r.weights["gru.weight_hh_l0"].shape == (3, 3, 1) for r in ens)
    for i, s in enumerate(seeds):
        _assert_same(_run(base.replace(seed=s)), ens, member=i)  # the reference trainer
        _assert_same(_run(base.replace(seed=s, engine="fast")), ens, member=i)
    # members really differ (data and init depend on the seed)
    assert len({float(v) for v in ens[-1].train_loss}) == 3


def test_ensemble_of_variable_length_members() -> None:
    base = tiny_config(engine="reference", **{"task.flavour": "general", "hidden": 2, "epochs": 3})
    ens = _run(base.replace(engine="fast", seeds=(1, 2)))
    for i, s in enumerate((1, 2)):
        _assert_same(_run(base.replace(seed=s)), ens, member=i)


def test_ensemble_members_of_different_lengths() -> None:
    # blog flavour with jitter: each seed draws its own sequence length, so members are
    # padded to the longest and read out at their own last step
    base = tiny_config(engine="reference", **{"task.seq_len": 10, "task.delta": 0.5, "epochs": 3})
    seeds = (1, 4, 6)
    lengths = {make_datasets(base.task, s)[0].x.shape[1] for s in seeds}
    assert len(lengths) > 1
    ens = _run(base.replace(engine="fast", seeds=seeds))
    for i, s in enumerate(seeds):
        _assert_same(_run(base.replace(seed=s)), ens, member=i)


def test_divergence_same_as_reference() -> None:
    cfg = tiny_config(engine="reference", lr=1e30, grad_clip=None, epochs=5)
    ref = _run(cfg)
    assert ref[-1].diverged and len(ref) == 1
    got = _run(cfg.replace(engine="fast"))
    assert len(got) == 1 and got[0].diverged
    assert got[0].events == [
        {"kind": "diverged", "train_loss": got[0].events[0]["train_loss"], "test_loss": None}
    ]


def test_one_diverging_member_is_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    poison_seed(monkeypatch)
    base = tiny_config(engine="reference", epochs=4, eval_every=1)
    ens = _run(base.replace(engine="fast", seeds=(1, 3)))
    assert len(ens) == 4 and not ens[-1].diverged
    div = [e for e in ens[0].events if e["kind"] == "diverged"]
    assert div == [
        {"kind": "diverged", "train_loss": div[0]["train_loss"], "test_loss": None, "member": 1}
    ]
    assert all(np.isnan(r.train_loss[1]) for r in ens[1:])
    assert all(r.test_loss is not None and np.isnan(r.test_loss[1]) for r in ens[1:])
    frozen = [r.weights["linear.bias"][1] for r in ens]
    assert all(np.array_equal(frozen[0], f, equal_nan=True) for f in frozen)
    monkeypatch.undo()
    _assert_same(_run(base.replace(seed=1, engine="fast")), ens, member=0)


def test_should_stop_drops_the_epoch() -> None:
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 6  # mid second epoch (4 batches an epoch)

    recs = list(fast.train_fast(tiny_config(engine="fast"), stop))
    assert [r.epoch for r in recs] == [0]


@pytest.mark.parametrize(
    "text, seeds",
    [("0-3", (0, 1, 2, 3)), ("0,3,7", (0, 3, 7)), ("0-2,12", (0, 1, 2, 12)), ("5", (5,))],
)
def test_parse_seeds(text: str, seeds: tuple[int, ...]) -> None:
    assert parse_seeds(text) == seeds


def test_format_seeds_round_trips() -> None:
    for seeds in [(0, 1, 2, 3), (0, 3, 7), (0, 1, 2, 12, 13), (5,)]:
        assert parse_seeds(format_seeds(seeds)) == seeds
    assert format_seeds((0, 1, 2, 7)) == "0-2,7"


@pytest.mark.parametrize("text", ["", "a", "3-1", "1,1", "0-3,2", "1-", "-1"])
def test_parse_seeds_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_seeds(text)


def test_config_seeds_validation_and_json() -> None:
    cfg = tiny_config(engine="fast", seeds=(4, 2))
    back = TrainConfig.from_json(cfg.to_json())
    assert back == cfg and back.seeds == (4, 2) and back.member_seeds == (4, 2)
    assert tiny_config().member_seeds == (37,)
    for bad in (
        {"engine": "turbo"},
        {"engine": "reference", "seeds": (1, 2)},  # the reference engine trains one model
        {"engine": "fast", "seeds": (1, 1)},
        {"engine": "fast", "seeds": (-1,)},
    ):
        with pytest.raises(ConfigError):
            tiny_config(**bad).validate()


def test_buffered_writer_writes_in_blocks(tmp_path: Path) -> None:
    cfg = tiny_config(engine="reference", epochs=5)
    recs = _run(cfg)
    with SessionWriter(tmp_path / "s", cfg) as sw:
        bw = BufferedWriter(sw, interval=1e9)
        for r in recs[:3]:
            bw.append(r)
        assert bw.n_epochs == 3
        with Session(tmp_path / "s") as s:
            assert s.n_epochs == 1  # the first record goes out at once, the rest wait
        bw.event("note", 2)  # an event flushes the epochs it follows
        with Session(tmp_path / "s") as s:
            assert s.n_epochs == 3
        for r in recs[3:]:
            bw.append(r)  # the final epoch flushes
        with Session(tmp_path / "s") as s:
            assert s.n_epochs == 5
    with SessionWriter(tmp_path / "u", cfg) as sw:
        for r in recs:
            sw.append(r)
    with Session(tmp_path / "s") as a, Session(tmp_path / "u") as b:
        np.testing.assert_array_equal(a.metrics.train_loss, b.metrics.train_loss)
        np.testing.assert_array_equal(a.snapshot_epochs, b.snapshot_epochs)
        np.testing.assert_array_equal(
            a.weight_history("gru.weight_ih_l0"), b.weight_history("gru.weight_ih_l0")
        )
        assert [e["kind"] for e in a.events()] == ["clock", "note"]  # clock: replay anchor


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grutui", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=child_env({"PATH": "/usr/bin:/bin"}),
    )


@pytest.mark.slow
def test_cli_seeds_writes_members(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    tiny = ["--epochs", "3", "--n-samples", "200", "--batch-size", "64", "--threads", "1"]
    p = _cli("train", *tiny, "--seeds", "0-1,7", "--out", str(out))
    assert p.returncode == 0, p.stderr
    with Session(out) as s:
        assert s.members == 3 and s.n_epochs == 3
        assert s.config.seeds == (0, 1, 7) and s.config.engine == "fast"
        assert s.weights(2, member=2)["gru.weight_ih_l0"].shape == (3, 2)
        assert s.metrics.train_loss.shape == (3, 3)
    info = _cli("info", str(out), "--members")  # by default an ensemble is summarised
    assert info.returncode == 0 and "seeds=0-1,7" in info.stdout and "member 2:" in info.stdout
    summary = _cli("info", str(out))
    assert summary.returncode == 0 and "member 2:" not in summary.stdout
    assert "median" in summary.stdout and "diverged  0 members" in summary.stdout


@pytest.mark.parametrize(
    "args, msg",
    [
        (["--seeds", "3-1"], "runs backwards"),
        (["--seeds", "0-3", "--engine", "reference"], "reference engine trains one model"),
        (["--engine", "turbo"], "engine must be"),
    ],
)
@pytest.mark.slow
def test_cli_bad_seeds_or_engine(tmp_path: Path, args: list[str], msg: str) -> None:
    p = _cli("train", *args, "--out", str(tmp_path / "x"))
    assert p.returncode == 2
    assert p.stderr.startswith("grutui: error:") and msg in p.stderr
    assert p.stderr.count("\n") == 1
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("pop, k", [(4, 2), (4, 3), (5, 2), (9, 3), (2, 1)])
def test_legacy_choices_replays_rng_choice(pop: int, k: int) -> None:
    """The fast data path behind every ensemble member's blog data set."""
    for seed in (0, 7, 37):
        ref = np.random.RandomState(seed)
        want = np.stack([ref.choice(pop, size=k, replace=False) for _ in range(700)])
        got = legacy_choices(np.random.RandomState(seed), 700, pop, k)
        np.testing.assert_array_equal(got, want)
        # blocks far too small for all samples: the walk resumes on fresh outputs
        small = legacy_choices(np.random.RandomState(seed), 700, pop, k, block=64)
        np.testing.assert_array_equal(small, want)


@pytest.mark.slow
def test_shuffles_drawn_ahead_on_threads_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # what a GPU run does (next epoch's shuffles on host threads, members split over
    # workers) gives the serial CPU path's records and resume states exactly
    cfg = tiny_config(engine="fast", seeds=tuple(range(130)), epochs=5, eval_every=2)
    serial = _run(cfg)
    monkeypatch.setattr(fast, "PREFETCH", True)
    monkeypatch.setattr(fast.os, "cpu_count", lambda: 4)  # two shuffle workers
    ahead = _run(cfg)
    for a, b in zip(serial, ahead, strict=True):
        np.testing.assert_array_equal(a.train_loss, b.train_loss)
        for name, w in a.weights.items():
            np.testing.assert_array_equal(w, b.weights[name])
        assert a.state is not None and b.state is not None
        for name, arr in a.state.arrays.items():
            np.testing.assert_array_equal(arr, b.state.arrays[name], err_msg=name)
    # and a run resumed from a prefetching run's state continues it exactly
    resumed = list(train(cfg.replace(epochs=7), resume=ahead[2].state))
    full = _run(cfg.replace(epochs=7))
    for a, b in zip(full[3:], resumed, strict=True):
        for name, w in a.weights.items():
            np.testing.assert_array_equal(w, b.weights[name])


def test_member_memory_estimate_names_the_largest_ensemble() -> None:
    cfg = tiny_config(engine="fast", seeds=tuple(range(10)))
    per = fast.member_bytes(cfg)
    assert per > 0
    assert fast.member_bytes(cfg.replace(hidden=64)) > per
    assert fast.member_bytes(cfg.replace(**{"task.n_samples": 3000})) > per
    import torch

    msg = fast.out_of_memory(cfg, torch.device("cpu"), free=int(3.5 * per))
    assert "an ensemble of 10 members" in msg and "at most 3 members fit" in msg


@pytest.mark.parametrize(
    "changes",
    [
        {},  # three full batches and a partial one
        {"task.flavour": "general", "hidden": 3},
        {"seeds": (1, 2, 3), "eval_every": 1, "plateau_patience": 0, "lr": 0.05},
    ],
)
def test_graphed_epoch_maths_on_the_cpu(
    changes: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the CUDA-graph path with its capture replaced by a plain call of the captured body:
    # static buffers, per-batch Adam factors and the eager tail batch, checked on the CPU
    cfg = tiny_config(engine="fast", epochs=6, **changes)
    eager = _run(cfg)
    monkeypatch.setattr(fast, "CUDA_GRAPHS", True)
    monkeypatch.setattr(fast.EpochGraph, "_build", lambda self: SimpleNamespace(replay=self._body))
    graphed = _run(cfg)
    for a, b in zip(eager, graphed, strict=True):
        assert [e["kind"] for e in a.events] == [e["kind"] for e in b.events]
        np.testing.assert_array_equal(a.lr, b.lr)
        np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=TOL)
        for name, w in a.weights.items():
            np.testing.assert_allclose(w, b.weights[name], atol=TOL, rtol=0)
    assert graphed[-1].state is not None
    assert graphed[-1].state.meta["fast"]["step"] == eager[-1].state.meta["fast"]["step"]  # type: ignore[union-attr]


def test_no_shuffle_is_drawn_on_a_thread_while_the_graph_is_captured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the next epoch's draw pins memory (a CUDA call), which a capture forbids in any
    # thread: the capture waits for it
    seen: list[str] = []
    shuffles: list[fast.Shuffles] = []
    settle = fast.Shuffles.settle

    def settle_and_note(self: fast.Shuffles) -> None:
        settle(self)
        shuffles.append(self)
        seen.append("settled")

    def build(self: fast.EpochGraph) -> SimpleNamespace:
        pending = shuffles[-1]._next if shuffles else None
        seen.append("idle" if pending is not None and pending.done() else "drawing")
        return SimpleNamespace(replay=self._body)

    monkeypatch.setattr(fast, "PREFETCH", True)
    monkeypatch.setattr(fast, "CUDA_GRAPHS", True)
    monkeypatch.setattr(fast.Shuffles, "settle", settle_and_note)
    monkeypatch.setattr(fast.EpochGraph, "_build", build)
    recs = _run(tiny_config(engine="fast", epochs=3))
    assert len(recs) == 3
    assert seen == ["settled", "idle"]  # settled once, before the one capture


def test_a_capture_that_fails_trains_eagerly_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny_config(engine="fast", epochs=3)
    eager = _run(cfg)

    def refuse(self: fast.EpochGraph) -> None:
        raise RuntimeError(
            "CUDA error: operation not permitted when stream is capturing\n"
            "CUDA kernel errors might be asynchronously reported"
        )

    monkeypatch.setattr(fast, "CUDA_GRAPHS", True)
    monkeypatch.setattr(fast.EpochGraph, "_build", refuse)
    fallback = _run(cfg)
    assert fallback[0].device == (
        "cpu (no CUDA graph: CUDA error: operation not permitted when stream is capturing)"
    )
    assert fallback[1].device is None
    for a, b in zip(eager, fallback, strict=True):
        np.testing.assert_array_equal(a.train_loss, b.train_loss)
        for name, w in a.weights.items():
            np.testing.assert_array_equal(w, b.weights[name])
