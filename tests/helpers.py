"""What the tests share: paths, tiny configs and sessions, and waiting on a condition.

Fixtures pytest must discover stay in the conftest files; they build on these.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from grutui.core.config import TrainConfig, preset
from grutui.core.driver import record_run
from grutui.core.layout import PARAM_NAMES, param_shapes
from grutui.core.records import EpochRecord
from grutui.core.train import train
from grutui.core.writer import SessionWriter

if TYPE_CHECKING:  # a subprocess that only writes sessions need not import textual
    from textual.app import App
    from textual.pilot import Pilot
    from textual.widget import Widget

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "sessions" / "blog-seed37"
MODADD_DEMO = REPO / "sessions" / "modadd-grokking"  # a grokking run (README: Demo sessions)
FLIPFLOP_DEMO = REPO / "sessions" / "flipflop"
# a third-party task package as pip leaves it (the ``plugin_tasks`` fixture installs it)
PLUGIN = REPO / "tests" / "data" / "plugin"

POLL = 0.02  # seconds between two looks at a condition


def child_env(env: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment of a child Python that runs this tree's grutui: ``env`` (default:
    this process's) with the repository first on ``PYTHONPATH`` and this process's
    entries kept after it: where the dependencies were installed with ``pip --target``
    (the GPU check's), they are found only there."""
    out = dict(os.environ if env is None else env)
    inherited = os.environ.get("PYTHONPATH")
    out["PYTHONPATH"] = os.pathsep.join([str(REPO), *([inherited] if inherited else [])])
    out.update(extra)
    return out


# -- the command line -------------------------------------------------------------------


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``grutui argv``; assert it was refused with one error line and status 2."""
    from grutui.cli import main

    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grutui: error: "), err
    return lines[0]


# -- waiting ----------------------------------------------------------------------------


async def until(pilot: Pilot[Any], cond: Callable[[], object], timeout: float = 20.0) -> None:
    """Let the app run until ``cond()`` holds (fail after ``timeout`` s), then let it
    process what arrived with it, so the caller can assert on what widgets show."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        await pilot.pause(POLL)
    await pilot.pause()


def shown(app: App[Any], selector: str) -> str:
    """The text a widget of the current screen shows (its lines, stripped); for a
    container, its displayed children's lines side by side."""
    return "\n".join(line.strip() for line in _lines(app.screen.query_one(selector)))


def _lines(w: Widget) -> list[str]:
    parts = [c for c in w.children if c.display]
    if not parts:
        return [line.text for line in w.render_lines(w.region.reset_offset)]
    rows = [_lines(c) for c in parts]
    return ["".join(r[y] if y < len(r) else "" for r in rows) for y in range(max(map(len, rows)))]


def wait_until(cond: Callable[[], object], timeout: float = 20.0) -> None:
    """``until`` for code outside an app: poll ``cond()`` from this thread."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(POLL)


# -- configs and sessions ---------------------------------------------------------------


def tiny_config(**changes: object) -> TrainConfig:
    """The blog preset shrunk to run in well under a second."""
    base = {
        "epochs": 6,
        "task.n_samples": 300,
        "batch_size": 64,
        "eval_every": 2,
        "threads": 1,
        "device": "cpu",
    }
    base.update(changes)
    return preset("blog").replace(**base)


def tiny_modadd_config(**changes: object) -> TrainConfig:
    """Modular addition with p = 7 in the grokking preset's style (AdamW, full batch,
    every epoch evaluated), small enough to train in well under a second."""
    from grutui.core.tasks import ModAddTask

    task = ModAddTask(p=7, train_fraction=0.5)
    base: dict[str, object] = {
        "task": task,
        "hidden": 8,
        "optimizer": "adamw",
        "lr": 1e-2,
        "weight_decay": 1.0,
        "batch_size": task.data_shape().n_train,
        "grad_clip": None,
        "plateau_factor": None,
        "epochs": 4,
        "eval_every": 1,
        "seed": 0,
    }
    base.update(changes)
    return tiny_config().replace(**base)


def tiny_circles_argv(p: int, epochs: int, snapshot_every: int = 1) -> list[str]:
    """``grutui train`` options for a tiny modular-addition run (the circles preset at
    ``p``, half the pairs trained, hidden 4): what the Fourier tests train."""
    return [
        "--preset", "circles", "--task-option", f"p={p}", "--task-option", "train_fraction=0.5",
        "--hidden", "4", "--epochs", str(epochs), "--snapshot-every", str(snapshot_every),
        "--threads", "1", "--device", "cpu",
    ]  # fmt: skip


def make_session(path: Path, cfg: TrainConfig | None = None) -> Path:
    """A session trained for real and recorded as ``grutui train`` records it."""
    cfg = cfg or tiny_config()
    with SessionWriter(path, cfg) as w:
        w.event("start", None, source="test")
        record_run(train(cfg), w)
    return path


def random_params(rng: np.random.Generator, hidden: int, members: int = 1) -> dict:
    shapes = param_shapes(hidden)
    return {
        n: rng.normal(scale=0.7, size=(members, *shapes[n])).astype(np.float32) for n in PARAM_NAMES
    }


def synthetic_session(
    path: Path,
    weights: Sequence[dict[str, np.ndarray]],
    train_loss: np.ndarray,
    *,
    snapshot_every: int = 1,
    initial: dict[str, np.ndarray] | None = None,
    test_loss: np.ndarray | None = None,
    cfg: TrainConfig | None = None,
) -> Path:
    """A session written from records whose weights and losses the test controls: one
    record per epoch; ``weights[e]`` and ``train_loss[e]`` carry the member axis
    (K, ...). Weights are snapshotted every ``snapshot_every`` epochs. ``cfg``: the
    session's config (its epochs and snapshot stride are set here), by default the
    tiny blog config at the weights' hidden size."""
    epochs = len(weights)
    hidden = int(weights[0]["gru.weight_hh_l0"].shape[-1])
    base = tiny_config(hidden=hidden) if cfg is None else cfg
    cfg = base.replace(epochs=epochs, snapshot_every=snapshot_every)
    tl = np.asarray(train_loss, float).reshape(epochs, -1)
    with SessionWriter(path, cfg) as w:
        for e in range(epochs):
            k = tl.shape[1]
            te = None if test_loss is None else np.atleast_1d(test_loss[e])
            w.append(
                EpochRecord(
                    epoch=e,
                    train_loss=tl[e],
                    test_loss=te,
                    lr=np.full(k, 1e-3),
                    wall_time=float(e),
                    weights=weights[e],
                    initial_weights=initial if e == 0 else None,
                )
            )
    return path


def random_task_session(path: Path, cfg: TrainConfig, epochs: int = 3, seed: int = 0) -> Path:
    """A session of ``cfg``'s task (its input and output sizes) holding seeded random
    weights, a snapshot every epoch: fixed numbers without training."""
    from grutui.core.tasks import input_size
    from grutui.core.tasks.registry import describe

    features, out = describe(cfg.task)
    shapes = param_shapes(cfg.hidden, input_size(features), out.size)
    rng = np.random.default_rng(seed)
    weights = [
        {n: rng.normal(scale=0.7, size=(1, *shapes[n])).astype(np.float32) for n in PARAM_NAMES}
        for _ in range(epochs)
    ]
    loss = 1.0 / np.arange(1, epochs + 1)
    return synthetic_session(path, weights, loss, cfg=cfg.replace(eval_every=1))


# -- git -------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` (with an identity for commits); its stdout."""
    ident = ("-c", "user.name=t", "-c", "user.email=t@t")
    done = subprocess.run(
        ["git", "-C", str(repo), *ident, *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def tracked_copy(src: Path, repo: Path) -> Path:
    """``src`` committed in a fresh repository at ``repo/sessions/NAME`` (the shipped
    demo as a fresh clone has it)."""
    repo.mkdir()
    git(repo, "init", "-q")
    dest = repo / "sessions" / src.name
    shutil.copytree(src, dest)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a session")
    return dest


# -- replays ----------------------------------------------------------------------------

REPLAY_EPOCHS = 40  # a replay_session's epochs
REPLAY_T0 = 1_700_000_000.0  # unix time of the first epoch in write_replay_log's logs


def replay_session(path: Path, epochs: int = REPLAY_EPOCHS, members: int = 1) -> Path:
    """A run with one epoch per (synthetic) second of training, a snapshot each epoch."""
    rng = np.random.default_rng(0)
    weights = [random_params(rng, 2, members) for _ in range(epochs)]
    loss = np.repeat(np.linspace(1.0, 0.01, epochs)[:, None], members, axis=1)
    return synthetic_session(path, weights, loss)


def write_replay_log(path: Path, events: list[dict[str, Any]]) -> None:
    """Replace the session's event log: epoch e appeared at REPLAY_T0 + e (the clock
    event's anchor), then ``events``."""
    from grutui.core.paths import EVENTS_NAME

    lines = [{"t": REPLAY_T0, "kind": "clock", "epoch": 0, "wall_time": 0.0}, *events]
    (path / EVENTS_NAME).write_text("".join(json.dumps(ev) + "\n" for ev in lines))


class FakeClock:
    """A replay's clock that moves only when a test sets ``now``."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now
