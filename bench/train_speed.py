"""Training speed: the blog's loop vs grutui's engines, in one process, alternating.

Not a test (timings depend on the machine and its load); prints per-model-epoch time
ratios against the blog's own loop (``tests/blog_reference.py``) on the blog's
configuration (hidden 1, batch 256, 8000 training sequences):

* single fast run vs the blog loop (goal >= 5x),
* 64-seed ensemble per model-epoch vs the blog loop (goal >= 50x),
* ensemble cost vs K (1, 8, 64, 256) and vs hidden size (1, 8, 64),
* snapshot writing (every epoch) as a share of a fast epoch, plain and buffered,
* the resume state every fast record carries (``fast.capture_fast``), timed inside the
  run, as a share of a fast epoch (it is included in the fast times above).

Usage: ``python bench/train_speed.py [--epochs N] [--reps R] [--quick]``. A few
minutes by default; ``--quick`` takes well under one. Run it on an otherwise idle
machine.

``--device cuda`` (or ``cpu``) prints instead one table for that device: the blog's
loop on it as the baseline (in this process, put back in train mode every epoch, which
cuDNN needs and the blog's script lacks), both engines on a single blog run, ensembles
of ``--k-large`` hidden-1 and ``--k-wide`` hidden-64 members, the set-up time of a
``--k-large`` ensemble with every member's own data, and the peak GPU memory of each
row (``torch.cuda.max_memory_allocated``). On a CPU pass smaller K, e.g.
``--device cpu --k-large 64 --k-wide 16``.

Data generation (the blog's generator, per seed) is set-up, timed once and excluded
from the epoch times; the K and hidden sweeps let every member share one seed's data
(the cost per epoch does not depend on the values).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grutui.core import fast
from grutui.core.buffered import DEFAULT_INTERVAL
from grutui.core.config import TrainConfig, preset
from grutui.core.records import EpochRecord
from grutui.core.state import TrainState
from grutui.core.tasks import Dataset, TaskConfig, make_datasets
from grutui.core.train import train
from grutui.core.writer import SessionWriter
from tests.blog_reference import run_blog


def blog_epoch(epochs: int, hidden: int, threads: int, device: str = "cpu") -> float:
    """Seconds per epoch of the blog's script: a run of ``epochs`` minus a run of 0
    (its data generation and set-up, ~0.3 s: keep ``epochs`` large enough)."""
    torch.set_num_threads(threads)
    cuda = device != "cpu"
    t0 = time.perf_counter()
    run_blog(0, hidden_size=hidden, device=device, train_mode=cuda)
    t1 = time.perf_counter()
    run_blog(epochs, hidden_size=hidden, device=device, train_mode=cuda)
    t2 = time.perf_counter()
    return max((t2 - t1) - (t1 - t0), 1e-9) / epochs


def grutui_epoch(cfg: TrainConfig) -> tuple[float, list[EpochRecord]]:
    """Seconds per epoch between the first and the last record (set-up excluded)."""
    recs: list[EpochRecord] = []
    t_first = 0.0
    for rec in train(cfg):
        recs.append(rec)
        if len(recs) == 1:
            t_first = time.perf_counter()
    return (time.perf_counter() - t_first) / max(1, len(recs) - 1), recs


_shared: dict[TaskConfig, tuple[Dataset, Dataset]] = {}


def _one_seed_data(task: TaskConfig, seed: int) -> tuple[Dataset, Dataset]:
    if task not in _shared:
        _shared[task] = make_datasets(task, 37)
    return _shared[task]


def ensemble(k: int, hidden: int = 1) -> TrainConfig:
    return preset("blog").replace(engine="fast", seeds=tuple(range(k)), hidden=hidden)


def write_cost(cfg: TrainConfig, recs: list[EpochRecord], block: int) -> float:
    """Seconds per epoch spent writing ``recs`` (every-epoch snapshots) to a session:
    ``block`` 0 record by record (``SessionWriter.append``), else in blocks of that many
    records (``append_many``, what ``BufferedWriter`` does once per interval). The
    records are cycled to 200 epochs (a long run's steady state); the first, which
    creates the datasets, is not timed."""
    recs = [dataclasses.replace(recs[i % len(recs)], epoch=i) for i in range(200)]
    with (
        tempfile.TemporaryDirectory() as d,
        SessionWriter(Path(d) / "s", cfg.replace(epochs=len(recs))) as sw,
    ):
        sw.append(recs[0])
        t0 = time.perf_counter()
        if block:
            for i in range(1, len(recs), block):
                sw.append_many(recs[i : i + block])
        else:
            for rec in recs[1:]:
                sw.append(rec)
        return (time.perf_counter() - t0) / (len(recs) - 1)


def capture_cost(cfg: TrainConfig) -> float:
    """Seconds per epoch spent in ``fast.capture_fast`` during a fast run of ``cfg``
    (timed around each call: exact however loaded the machine, unlike a difference of
    two noisy runs)."""
    real = fast.capture_fast
    spent: list[float] = []

    def timed(*args: Any) -> TrainState:
        t0 = time.perf_counter()
        st = real(*args)
        spent.append(time.perf_counter() - t0)
        return st

    fast.capture_fast = timed  # type: ignore[assignment]
    try:
        for _ in train(cfg):
            pass
    finally:
        fast.capture_fast = real
    return med(spent)


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def peak_memory(device: str) -> Callable[[], str]:
    """Reset the device's peak-memory counter; the returned call reads it (MiB)."""
    if device == "cpu":
        return lambda: "-"
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()

    def read() -> str:
        torch.cuda.synchronize()
        return f"{torch.cuda.max_memory_allocated() / 2**20:.0f}"

    return read


def device_table(device: str, epochs: int, k_large: int, k_wide: int) -> None:
    """The per-device table: every row against the blog's loop on the same device."""
    from grutui.core.device import device_label

    name = device_label(device)
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, device {name}")
    cuda = device != "cpu"
    run_blog(1, device=device, train_mode=cuda)  # warm-up (CUDA context, cuDNN plans)
    blogs: dict[int, float] = {}
    rows: list[tuple[str, int, float, str, int]] = []
    for hidden in (1, 64):  # the baseline at each row's hidden size, best thread setting
        mem = peak_memory(device)
        runs = max(2, epochs // (1 if hidden == 1 else 4))
        per = min(blog_epoch(runs, hidden, th, device) for th in sorted({1, os.cpu_count() or 1}))
        blogs[hidden] = per
        rows.append((f"blog loop (nn.GRU + DataLoader), hidden {hidden}", 1, per, mem(), hidden))

    def row(label: str, cfg: TrainConfig) -> None:
        read = peak_memory(device)
        per, _ = grutui_epoch(cfg.replace(device=device))
        rows.append((label, len(cfg.member_seeds), per, read(), cfg.hidden))

    single = preset("blog").replace(epochs=epochs)
    row("reference engine, blog preset", single.replace(engine="reference"))
    row("fast engine, blog preset", single.replace(engine="fast", epochs=2 * epochs))
    real = fast.make_datasets
    fast.make_datasets = _one_seed_data  # epoch timings: members share one data set
    try:
        row(f"fast, K={k_large}, hidden 1", ensemble(k_large).replace(epochs=max(3, epochs // 4)))
        row(f"fast, K={k_wide}, hidden 64", ensemble(k_wide, 64).replace(epochs=3))
    finally:
        fast.make_datasets = real
    print(f"\n{'path':<42}{'K':>6}{'ms/epoch':>10}{'ms/model-epoch':>16}{'vs blog':>9}{'MiB':>8}")
    for label, k, per, peak, hidden in rows:
        ratio = blogs[hidden] / (per / k)
        line = f"{label:<42}{k:>6}{per * 1e3:>10.2f}{per / k * 1e3:>16.4f}{ratio:>8.1f}x"
        print(f"{line}{peak:>8}")
    print("(vs blog: the blog loop's ms/epoch at the same hidden size and device over the")
    print(" row's ms/model-epoch; MiB: peak GPU memory allocated during the row)")

    # set-up with every member's own data (data generation, init, copies to the device)
    read = peak_memory(device)
    cfg = ensemble(k_large).replace(epochs=1, device=device)
    t0 = time.perf_counter()
    first = next(fast.train_fast(cfg))
    setup = time.perf_counter() - t0 - first.wall_time  # minus the first epoch itself
    print(f"\nset-up of K={k_large} members (own data each): {setup:.1f} s, peak {read()} MiB")
    print(f"estimated device memory per member: {fast.member_bytes(cfg) / 2**20:.2f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=20, help="epochs per timed run")
    ap.add_argument("--reps", type=int, default=3, help="alternating repetitions")
    ap.add_argument("--quick", action="store_true", help="fewer epochs, reps and sweep points")
    ap.add_argument("--device", default=None, help="cpu or cuda[:N]: the per-device table")
    ap.add_argument("--k-large", type=int, default=4096, help="hidden-1 ensemble size")
    ap.add_argument("--k-wide", type=int, default=256, help="hidden-64 ensemble size")
    a = ap.parse_args()
    if a.device is not None:
        if a.device.startswith("cuda") and not torch.cuda.is_available():
            sys.exit(f"train_speed: --device {a.device}: CUDA is not available here")
        device_table(a.device, a.epochs, a.k_large, a.k_wide)
        return
    epochs, reps = (8, 1) if a.quick else (a.epochs, a.reps)
    cores = os.cpu_count() or 1
    print(f"torch {torch.__version__}, {cores} cores, load {os.getloadavg()[0]:.2f}")

    run_blog(1)  # warm-up: first-call costs would otherwise land on one measurement
    t0 = time.perf_counter()
    make_datasets(preset("blog").task, 1)
    data_s = time.perf_counter() - t0
    fast.make_datasets = _one_seed_data  # the sweeps share one data set

    blog_threads = sorted({1, cores})
    times: dict[str, list[float]] = {}

    def add(name: str, f: Callable[[], float]) -> None:
        times.setdefault(name, []).append(f())

    base = preset("blog").replace(epochs=epochs)
    fast1 = base.replace(engine="fast", epochs=2 * epochs)
    ens64 = ensemble(64).replace(epochs=epochs)
    fast_recs: list[EpochRecord] = []
    for _ in range(reps):  # alternate, so drifting load hits every path alike
        for th in blog_threads:
            add(f"blog loop, {th} thread(s)", functools.partial(blog_epoch, epochs, 1, th))
        add("grutui reference engine", lambda: grutui_epoch(base)[0])
        s, fast_recs = grutui_epoch(fast1)
        times.setdefault("grutui fast, 1 seed", []).append(s)
        add("grutui fast, 64 seeds", lambda: grutui_epoch(ens64)[0])
    blog = min(med(times[f"blog loop, {th} thread(s)"]) for th in blog_threads)

    print(f"\nblog configuration, median of {reps} alternating run(s) of {epochs} epochs")
    print(f"{'path':<32}{'ms/epoch':>10}{'models':>8}{'ms/model-epoch':>16}{'vs blog':>9}")
    for name, ts in times.items():
        k = 64 if "64 seeds" in name else 1
        per = med(ts)
        print(f"{name:<32}{per * 1e3:>10.1f}{k:>8}{per / k * 1e3:>16.3f}{blog / (per / k):>8.1f}x")
    print("(vs blog: against the faster blog-loop thread setting)")

    print("\nensemble cost vs K (hidden 1)")
    print(f"{'K':>5}{'ms/epoch':>10}{'ms/model-epoch':>16}{'vs blog':>9}")
    for k in (1, 8) if a.quick else (1, 8, 64, 256):
        per, _ = grutui_epoch(ensemble(k).replace(epochs=max(3, epochs // (1 + k // 64))))
        print(f"{k:>5}{per * 1e3:>10.1f}{per / k * 1e3:>16.3f}{blog / (per / k):>8.1f}x")

    k_h = 8 if a.quick else 64
    print(f"\nensemble cost vs hidden size (K = {k_h}; blog loop at the same hidden size)")
    print(f"{'hidden':>6}{'ms/epoch':>10}{'ms/model-epoch':>16}{'blog ms/epoch':>15}{'vs blog':>9}")
    for h in (1, 8) if a.quick else (1, 8, 64):
        e = 3 if h == 64 else max(3, epochs // 2)
        per, _ = grutui_epoch(ensemble(k_h, h).replace(epochs=e))
        b = min(blog_epoch(max(3, epochs // 4), h, th) for th in blog_threads)
        row = f"{h:>6}{per * 1e3:>10.1f}{per / k_h * 1e3:>16.3f}{b * 1e3:>15.1f}"
        print(f"{row}{b / (per / k_h):>8.1f}x")

    f1 = med(times["grutui fast, 1 seed"])
    f64 = med(times["grutui fast, 64 seeds"])
    ens_recs = grutui_epoch(ens64)[1]
    interval = DEFAULT_INTERVAL
    print(f"\nsnapshot writing, every epoch (buffered: one block per {interval:g} s of epochs)")
    print(f"{'run':<16}{'plain ms/epoch':>16}{'share':>8}{'buffered ms/epoch':>19}{'share':>8}")
    for name, per, cfg, recs in (
        ("fast, 1 seed", f1, fast1, fast_recs),
        ("fast, 64 seeds", f64, ens64, ens_recs),
    ):
        p = write_cost(cfg, recs, 0)
        b = write_cost(cfg, recs, max(1, int(interval / per)))
        print(f"{name:<16}{p * 1e3:>16.3f}{p / per:>8.1%}{b * 1e3:>19.3f}{b / per:>8.1%}")
    print("\nresume state captured with every fast record (median per epoch)")
    print(f"{'run':<16}{'ms/epoch':>10}{'share':>8}")
    for name, per, cfg in (("fast, 1 seed", f1, fast1), ("fast, 64 seeds", f64, ens64)):
        c = capture_cost(cfg)
        print(f"{name:<16}{c * 1e3:>10.3f}{c / per:>8.2%}")
    print(f"\nset-up: data generation {data_s:.2f} s per seed (blog generator), excluded above")
    print(f"bench wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
