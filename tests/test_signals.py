"""SIGTERM and SIGHUP end ``grutui new`` like ``q``: the run stops with its stop
event, the app exits through its normal path (terminal restored)."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grutui.core.events import read_events
from grutui.core.paths import EVENTS_NAME
from tests.helpers import wait_until

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_the_run_and_quits(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "run"
    args = ["new", "--epochs", "100000", "--n-samples", "300", "--threads", "1", "--out", str(out)]
    main, child = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grutui", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        start_new_session=True,
    )
    os.close(child)
    events = out / EVENTS_NAME
    try:
        wait_until(lambda: events.is_file() and b'"clock"' in events.read_bytes(), 60)
        proc.send_signal(sig)
        while proc.poll() is None:  # keep the pty drained so the app never blocks
            try:
                os.read(main, 65536)
            except OSError:
                break
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    last = read_events(events)[-1]
    assert last["kind"] == "stop", last
    assert proc.returncode is not None and proc.returncode >= 0
