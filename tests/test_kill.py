"""``kill -9`` of real training processes at random moments, many times.

A pre-warmed fork server (torch already imported) forks each ``grutui train`` /
``grutui resume`` so a kill can land anywhere — session creation, set-up, an epoch, an
HDF5 flush, a state save — without paying the interpreter start-up per kill. After
every kill the session must open, hold a contiguous run of epochs equal to an
uninterrupted run's, and ``resume`` must carry it to the end.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from grutui.core.errors import SessionError
from grutui.core.paths import H5_NAME, PART_NAME
from grutui.core.session import Session
from grutui.core.state import STATE_NAME, load_state
from grutui.core.train import train
from tests.helpers import REPO, child_env, tiny_config, wait_until

pytestmark = pytest.mark.slow  # spawns processes

EPOCHS = 1000  # the fast engine trains this in ~2 s: long enough for kills to land mid-run
ARGS = ["--epochs", str(EPOCHS), "--n-samples", "300", "--batch-size", "64"]
ARGS += ["--eval-every", "7", "--plateau-patience", "0", "--lr", "0.05", "--threads", "1"]
KILLS = 10
MAX_WINDOW = 10.0  # seconds: longer than a whole run takes even under heavy load

SERVER = r"""
import json, os, sys
import h5py, rich.progress, torch, torch.utils.data  # warm: a forked child trains at once
import grutui.cli, grutui.core.driver, grutui.core.model, grutui.core.resume, grutui.progress
torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # its first use imports for seconds
for line in sys.stdin:
    op, arg = json.loads(line)
    if op == "run":
        pid = os.fork()
        if pid == 0:
            null = os.open(os.devnull, os.O_WRONLY)
            err = os.open(os.environ["KILL_LOGS"] + f"/{os.getpid()}", os.O_WRONLY | os.O_CREAT)
            os.dup2(null, 1)
            os.dup2(err, 2)
            try:
                rc = grutui.cli.main(arg)
            except BaseException:
                rc = 99
            os._exit(rc)
        print(pid, flush=True)
    else:
        print(os.waitpid(arg, 0)[1], flush=True)
"""


class ForkServer:
    def __init__(self, logs: Path) -> None:
        logs.mkdir()
        self.logs = logs
        env = child_env(KILL_LOGS=str(logs))
        self.p = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )

    def _ask(self, op: str, arg: object) -> int:
        assert self.p.stdin is not None and self.p.stdout is not None
        self.p.stdin.write(json.dumps([op, arg]) + "\n")
        self.p.stdin.flush()
        return int(self.p.stdout.readline())

    def run(self, argv: list[str]) -> int:
        return self._ask("run", argv)

    def wait(self, pid: int) -> int:
        return self._ask("wait", pid)

    def close(self) -> None:
        assert self.p.stdin is not None
        self.p.stdin.close()
        self.p.wait(timeout=30)


def _check_intact(d: Path, ref_loss: np.ndarray, ref_w: dict[str, np.ndarray]) -> int:
    with Session(d) as s:
        n = s.n_epochs
        assert s.metrics.epoch.tolist() == list(range(n))
        np.testing.assert_array_equal(s.metrics.train_loss[:, 0], ref_loss[:n])
        assert s.snapshot_epochs.tolist() == list(range(n))
        for name in s.param_names:
            np.testing.assert_array_equal(s.weight_history(name), ref_w[name][:n])
    return n


def _check_not_started(d: Path) -> None:
    """A run killed before its first epoch: opening it says so, at whichever step of
    creating the session the kill landed."""
    if not d.exists():
        msg = "no session at"
    elif (d / PART_NAME).is_file():
        msg = "killed before its first epoch"
    else:  # the folder made, nothing in it yet
        msg = "not a grutui session"
    with pytest.raises(SessionError, match=msg):
        Session(d)


def _floor(d: Path) -> int:
    """The first epoch a resume would train; -1 without a saved state."""
    return load_state(d).epoch + 1 if (d / STATE_NAME).is_file() else -1


def _live_epochs(d: Path) -> int | None:
    try:
        with Session(d) as s:
            return s.n_epochs
    except SessionError:
        return None  # only while the file is being created


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    fs = ForkServer(tmp_path_factory.mktemp("fork") / "logs")
    yield fs
    fs.close()


def test_a_reader_follows_a_live_writer_without_harm(server: ForkServer, tmp_path: Path) -> None:
    d = tmp_path / "live"
    epochs = 100
    argv = ["train", *ARGS, "--epochs", str(epochs), "--flush-interval", "0", "--out", str(d)]
    pid = server.run(argv)  # every epoch written as it comes: the reader sees it grow
    wait_until((d / H5_NAME).exists, timeout=60)
    deadline = time.monotonic() + 60
    seen = []
    with Session(d) as s:
        while s.n_epochs < epochs:
            assert time.monotonic() < deadline
            s.refresh()
            n = s.n_epochs
            assert s.metrics.epoch.tolist() == list(range(n))  # never a half-written row
            assert len(s.snapshot_epochs) == n
            if n:
                w = s.weights(n - 1)
                assert all(np.isfinite(v).all() for v in w.values())
                seen.append((n, float(s.metrics.train_loss[n - 1, 0]), w))
            time.sleep(0.01)  # the reader's pace: it looks while the writer writes
    assert os.WEXITSTATUS(server.wait(pid)) == 0
    assert len({n for n, _, _ in seen}) > 5  # it really read a growing file
    with Session(d) as s:  # what the reader saw is what the file holds
        for n, loss, w in seen:
            assert s.metrics.train_loss[n - 1, 0] == loss
            for k, v in s.weights(n - 1).items():
                np.testing.assert_array_equal(v, w[k])


def test_kill_9_at_random_moments_then_resume(server: ForkServer, tmp_path: Path) -> None:
    cfg = tiny_config(
        epochs=EPOCHS, eval_every=7, plateau_patience=0, lr=0.05, **{"task.n_samples": 300}
    )
    recs = list(train(cfg))
    ref_loss = np.array([r.train_loss[0] for r in recs])
    ref_w = {k: np.stack([r.weights[k][0] for r in recs]) for k in recs[0].weights}
    assert len({float(r.lr[0]) for r in recs}) > 1  # the plateau schedule acts in the run
    rnd = random.Random(1234)
    # The kill moment is drawn from a window that follows this machine's pace: it grows
    # while kills land before a run has written anything and shrinks when a run finishes
    # before its kill or was killed after its last state save (that run must then be
    # whole, and a fresh run takes the next kills).
    # So every one of the KILLS kills lands, on a fast idle machine as under load.
    window = 1.0
    d, finished, kills, tries = tmp_path / "run0", 0, 0, 0
    while kills < KILLS or not 0 <= _floor(d) < EPOCHS:
        tries += 1
        assert tries <= 10 * KILLS, f"{kills} kills landed in {tries} tries"
        floor = max(_floor(d), 0)
        if floor == EPOCHS:  # killed after its last state save: the run is whole
            assert _check_intact(d, ref_loss, ref_w) == EPOCHS
            window /= 1.5  # that kill came too late to interrupt anything
            finished += 1
            d = tmp_path / f"run{finished}"
            continue
        before = (_live_epochs(d) or 0) if (d / H5_NAME).exists() else 0
        argv = ["resume", str(d)] if floor else ["train", *ARGS, "--out", str(d), "--force"]
        pid = server.run(argv)
        time.sleep(rnd.uniform(0.0, window))  # the kill moment
        seen = _live_epochs(d) if (d / H5_NAME).exists() else None
        os.kill(pid, signal.SIGKILL)
        status = server.wait(pid)
        if os.WIFEXITED(status):  # finished before its kill
            log = (server.logs / str(pid)).read_text()
            assert os.WEXITSTATUS(status) == 0, f"{argv}: {log}"
            assert _check_intact(d, ref_loss, ref_w) == EPOCHS
            window /= 1.5
            finished += 1
            d = tmp_path / f"run{finished}"
            continue
        assert os.WTERMSIG(status) == signal.SIGKILL
        kills += 1
        if not (d / H5_NAME).exists():  # killed before the first epoch was recorded
            _check_not_started(d)
            window = min(window * 1.5, MAX_WINDOW)
            continue
        n = _check_intact(d, ref_loss, ref_w)
        if seen is not None:
            assert n >= min(seen, floor)
        if n <= before:
            window = min(window * 1.5, MAX_WINDOW)
    assert kills >= KILLS
    # the real entry point finishes the run: same numbers as never killed
    env = child_env()
    p = subprocess.run(
        [sys.executable, "-m", "grutui", "resume", str(d)],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert p.returncode == 0, p.stderr
    assert _check_intact(d, ref_loss, ref_w) == EPOCHS
    with Session(d) as s:
        kinds = [e["kind"] for e in s.events()]
    assert kinds.count("resume") >= 1 and kinds[-1] == "finish"
