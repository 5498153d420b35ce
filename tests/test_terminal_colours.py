"""What grutui sends a terminal that wants no colour: run under a pty as a user would."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from tests.helpers import DEMO

SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def colour_codes(out: bytes) -> list[bytes]:
    """The SGR sequences that set a colour (30–38, 40–48, 90–97, 100–107; not 39/49,
    the terminal's default colours)."""
    found = []
    for m in SGR.finditer(out):
        params = [int(p) for p in m.group(1).split(b";") if p]
        if any(30 <= p <= 38 or 40 <= p <= 48 or 90 <= p <= 97 or 100 <= p <= 107 for p in params):
            found.append(m.group())
    return found


def screen_bytes(env: dict[str, str], tmp: str) -> bytes:
    """Open the demo, wait until its cursor bar is drawn, quit; everything written."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "grutui", "open", str(DEMO)],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, "GRUTUI_DATA_DIR": tmp, **env},
        start_new_session=True,
    )
    os.close(child)
    out = b""
    sent_browse = sent_quit = False
    end = time.monotonic() + 60
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([main], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if not sent_browse and b"palette" in out:  # the footer: the screen is drawn
                os.write(main, b"2")  # Browse: the heat map's colours
                sent_browse = True
            elif sent_browse and not sent_quit and b"weights at epoch" in out:
                os.write(main, b"q")
                sent_quit = True
            if proc.poll() is not None and not ready:
                break
        assert sent_quit, out[-500:]
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    "env", [{"TERM": "dumb"}, {"TERM": "xterm-256color", "NO_COLOR": "1"}], ids=["dumb", "no_color"]
)
def test_no_colour_codes_reach_a_terminal_that_wants_none(
    env: dict[str, str], tmp_path: object
) -> None:
    out = screen_bytes(env, str(tmp_path))
    codes = colour_codes(out)
    assert b"Browse" in out
    assert not codes, codes[:5]


@pytest.mark.slow
def test_a_colour_terminal_gets_colour(tmp_path: object) -> None:
    # the same check finds colour where there is some: it can fail
    out = screen_bytes({"TERM": "xterm-256color"}, str(tmp_path))
    assert colour_codes(out)
