"""Where a session's files live, and where the app's own files for it go.

A session is a directory (``NAME/session.h5``, ``NAME/events.jsonl``, see
``grutui.core.h5format``). Opening one in the app also produces files: the recorded
user actions and bookmarks (``events.jsonl``), the strategy-history cache
(``analysis.h5``) and exports. They go into the session directory itself, except for
a session that is *read-only*: its directory is not writable, it holds a ``SHIPPED``
file (the demos shipped with grutui: a fresh clone, a tarball or a copy without git
must stay unchanged after one look), or its ``session.h5`` is tracked by git. Those
go to ``<per-user data dir>/sessions/<name>-<hash of the resolved path>/``; the data
dir is ``platformdirs.user_data_path("grutui")`` (e.g. ``~/.local/share/grutui``), or
``$GRUTUI_DATA_DIR`` when set.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

H5_NAME = "session.h5"
PART_NAME = "session.h5.part"  # a session being created (see SessionWriter)
EVENTS_NAME = "events.jsonl"
DATA_DIR_ENV = "GRUTUI_DATA_DIR"
SHIPPED_NAME = "SHIPPED"  # in a demo shipped with grutui: its directory is read-only
GIT_TIMEOUT = 2.0  # seconds; a git that takes longer counts as "not tracked"


def session_file(path: str | Path) -> Path:
    """The HDF5 file of a session given its directory (or the file itself)."""
    p = Path(path)
    if p.is_file():  # whatever its name: the file the user named is the one to judge
        return p
    return p / H5_NAME if p.is_dir() or p.suffix != ".h5" else p


def check_new_session_dir(text: str | Path) -> Path:
    """The directory ``text`` names for a new session; refuse one where no session can
    be created (empty text, a file, a device, a directory that is not writable), before
    anything is made on disk. Failures that only show when creating (``/proc``) are
    the writer's to report."""
    from grutui.core.errors import SessionError

    if not str(text).strip():
        raise SessionError("--out is empty: give a directory for the session")
    out = Path(text)
    p = out
    while not p.exists() and not p.is_symlink() and p.parent != p:
        p = p.parent
    if not p.is_dir():
        raise SessionError(f"--out {out}: {p} is not a directory")
    if not os.access(p, os.W_OK | os.X_OK):
        raise SessionError(f"--out {out}: {p} is not writable")
    return out


# the shipped session ``grutui`` opens on a fresh clone: the blog's run (the other
# shipped demos are opened by name)
FIRST_DEMO = "blog-seed37"


def find_sessions(root: str | Path = "sessions") -> list[Path]:
    """Session directories under ``root``: the user's own newest first, then the
    shipped demos and the ones git tracks (a clone gives their files the same moment,
    so the order is theirs, ``FIRST_DEMO`` first, then by name)."""
    r = Path(root)
    if not r.is_dir():
        return []
    found = [d for d in r.iterdir() if (d / H5_NAME).is_file()]
    marked = {d for d in found if (d / SHIPPED_NAME).is_file()}
    tracked = _tracked_names(r) if len(marked) < len(found) else set()
    shipped = marked | {d for d in found if d.name in tracked}
    own = sorted(
        (d for d in found if d not in shipped),
        key=lambda d: (d / H5_NAME).stat().st_mtime,
        reverse=True,
    )
    return own + sorted(shipped, key=lambda d: (d.name != FIRST_DEMO, d.name))


def data_root() -> Path:
    """The per-user data directory (``$GRUTUI_DATA_DIR`` overrides it: tests, CI)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    import platformdirs

    return platformdirs.user_data_path("grutui")


def _git_ls_files(directory: Path, *args: str) -> bytes | None:
    """``git ls-files ARGS`` in ``directory``: its output, or None where git is
    missing, the directory is in no repository or the call fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), "ls-files", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _tracked_names(root: Path) -> set[str]:
    """The directories under ``root`` whose session file git tracks, in one git call
    (``root`` may hold hundreds of sessions)."""
    out = _git_ls_files(root, "-z", "--", f"*/{H5_NAME}")
    paths = (Path(p) for p in (out or b"").decode(errors="replace").split("\0") if p)
    return {p.parent.name for p in paths if len(p.parts) == 2}


def is_tracked(session_dir: Path) -> bool:
    """Whether git tracks the session's file (no git, or not a repository: no)."""
    return _git_ls_files(session_dir, "--error-unmatch", "--", H5_NAME) is not None


_read_only: dict[Path, bool] = {}  # resolved directory -> decision, made once per process


def is_read_only(session_dir: str | Path) -> bool:
    """A session the app must not write into: an existing directory that is not
    writable, holds a ``SHIPPED`` file, or whose session file git tracks. Decided once
    per directory (it may run git), at the first look."""
    d = Path(session_dir).resolve()
    if d not in _read_only:
        if not d.is_dir():
            return False  # nothing there to keep clean; writing fails as it would
        _read_only[d] = not os.access(d, os.W_OK) or (d / SHIPPED_NAME).is_file() or is_tracked(d)
    return _read_only[d]


def store_dir(session_dir: str | Path, *, create: bool = False) -> Path:
    """Where the app's files for a session go: the session directory, or its directory
    under the per-user data dir when the session is read-only (see the module
    docstring). ``create`` makes the latter (``OSError`` if it cannot)."""
    d = Path(session_dir)
    if not is_read_only(d):
        return d
    r = d.resolve()
    key = hashlib.sha256(str(r).encode()).hexdigest()[:12]
    out = data_root() / "sessions" / f"{r.name}-{key}"
    if create:
        out.mkdir(parents=True, exist_ok=True)
    return out


def export_dir(session_dir: Path | None) -> Path:
    """Where exports of a run go: its store directory when the run has a directory on
    disk, else the working directory (a run held only in memory)."""
    if session_dir is None or not session_dir.is_dir():
        return Path.cwd()
    try:
        return store_dir(session_dir, create=True)
    except OSError:
        return Path.cwd()
