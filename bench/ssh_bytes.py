"""Bytes to the terminal: what grutui costs over SSH.

    PYTHONPATH=. python bench/ssh_bytes.py [--presses 40] [--watch 10] [--size 80x24]

Runs ``grutui`` as a user would, under a pseudo-terminal of the given size, and counts
the bytes it writes to the terminal (what SSH would carry):

- per scrub key: ``grutui open`` on the demo session (or ``--session``); in each pane, ←/→ pressed
  ``--presses`` times (← first: the app opens at the last epoch), each key's bytes
  counted until the screen is quiet again. Goal: ≤ 1.5 KB per key (the mean: what a
  scrub carries) in every pane.
- while watching a live run: ``grutui new`` training the blog preset; in each pane, the
  bytes over ``--watch`` seconds. Goal: ≤ 5 KB/s.

The pane is switched with its digit key and the switch's own bytes are not counted.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from grutui.ui.panes.registry import PANES

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "sessions" / "blog-seed37"
RIGHT, LEFT = b"\x1b[C", b"\x1b[D"
KEY_GOAL = 1536  # bytes per scrub key
LIVE_GOAL = 5 * 1024  # bytes per second while watching


class Terminal:
    """A child process on a pty of a fixed size, with a byte count of its output."""

    def __init__(self, argv: list[str], size: tuple[int, int], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.total = 0
        self.last = time.monotonic()
        self.tail = b""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.total += len(chunk)
                self.last = time.monotonic()
                self.tail = (self.tail + chunk)[-4096:]

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def count(self) -> int:
        with self._lock:
            return self.total

    def settle(self, before: int, gap: float = 0.4, timeout: float = 30.0) -> None:
        """Wait for the reply to an input (output beyond byte ``before``; none within
        ``gap`` s means none), then until nothing was written for ``gap`` seconds (a frame
        is written at once, so a gap much longer than the frame period means the screen
        settled)."""
        end = time.monotonic() + timeout
        started = time.monotonic()
        while self.count() == before and time.monotonic() - started < gap * 3:
            time.sleep(0.005)
        while time.monotonic() < end:
            with self._lock:
                idle = time.monotonic() - self.last
            if idle >= gap:
                return
            time.sleep(min(gap - idle, 0.05) + 0.001)
        raise TimeoutError(f"the screen never settled; last output: {self.tail[-300:]!r}")

    def press(self, key: bytes, gap: float = 0.4) -> int:
        """Send ``key``; the bytes written in reply once the screen settled."""
        before = self.count()
        self.send(key)
        self.settle(before, gap)
        return self.count() - before

    def close(self) -> None:
        if self.proc.poll() is None:
            self.send(b"\x1b")
            time.sleep(0.2)
            self.send(b"q")
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.master)


def grutui(*args: str) -> list[str]:
    return [sys.executable, "-m", "grutui", *args]


def environment(term: str, data_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TERM=term, GRUTUI_DATA_DIR=data_dir, PYTHONPATH=str(ROOT))
    env.pop("NO_COLOR", None)
    env.pop("TEXTUAL", None)
    return env


def scrub_bytes(env: dict[str, str], size: tuple[int, int], presses: int, session: Path) -> None:
    term = Terminal(grutui("open", str(session)), size, env)
    try:
        term.settle(0, gap=1.0, timeout=60)
        print(f"scrubbing {session.name}: bytes per ←/→ key at {size[0]}x{size[1]}")
        for i, spec in enumerate(PANES[:9], start=1):
            term.press(str(i).encode(), gap=1.0)
            per: list[int] = []
            for n in range(presses):
                # the app opens at the last epoch: 3/4 of the presses left, then right,
                # so every key moves the cursor
                key = LEFT if n < presses * 3 // 4 else RIGHT
                per.append(term.press(key))
            mean, med, top = statistics.mean(per), statistics.median(per), max(per)
            ok = "ok" if mean <= KEY_GOAL else "MISSED"
            print(
                f"  {spec.mode:<12} mean {mean / 1024:5.2f} KB   median {med / 1024:5.2f} KB"
                f"   max {top / 1024:5.2f} KB   goal mean ≤ {KEY_GOAL / 1024:.1f} KB: {ok}"
            )
    finally:
        term.close()


def live_bytes(env: dict[str, str], size: tuple[int, int], watch: float) -> None:
    out = Path(env["GRUTUI_DATA_DIR"]) / "live"
    argv = grutui("new", "--preset", "blog", "--epochs", "100000", "--out", str(out))
    term = Terminal(argv, size, env)
    try:
        time.sleep(5.0)  # start-up: the app opens and training begins
        print(f"watching a live run (blog preset): bytes per second over {watch:.0f} s")
        for i, spec in enumerate(PANES[:9], start=1):
            term.send(str(i).encode())
            time.sleep(1.0)  # the switch itself is not counted
            before, t0 = term.count(), time.monotonic()
            time.sleep(watch)
            rate = (term.count() - before) / (time.monotonic() - t0)
            ok = "ok" if rate <= LIVE_GOAL else "MISSED"
            print(f"  {spec.mode:<12} {rate / 1024:6.2f} KB/s   goal ≤ 5 KB/s: {ok}")
    finally:
        term.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presses", type=int, default=40)
    ap.add_argument("--watch", type=float, default=10.0)
    ap.add_argument("--size", default="80x24")
    ap.add_argument("--term", default="xterm-256color")
    ap.add_argument("--only", choices=("scrub", "live"), default=None)
    ap.add_argument("--session", type=Path, default=DEMO, help="the session to scrub")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    tmp = tempfile.mkdtemp(prefix="grutui-bytes-")
    try:
        env = environment(args.term, tmp)
        print(f"TERM={args.term}")
        if args.only in (None, "scrub"):
            scrub_bytes(env, (w, h), args.presses, args.session.resolve())
        if args.only in (None, "live"):
            live_bytes(env, (w, h), args.watch)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
