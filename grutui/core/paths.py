"""Where a session's files live: a session is a directory holding ``session.h5`` and
``events.jsonl`` (see ``grutui.core.h5format``).
"""

from __future__ import annotations

from pathlib import Path

H5_NAME = "session.h5"
PART_NAME = "session.h5.part"  # a session being created (see SessionWriter)
EVENTS_NAME = "events.jsonl"


def session_file(path: str | Path) -> Path:
    """The HDF5 file of a session given its directory (or the file itself)."""
    p = Path(path)
    return p / H5_NAME if p.is_dir() or p.suffix != ".h5" else p


def find_sessions(root: str | Path = "sessions") -> list[Path]:
    """Session directories under ``root``, newest first."""
    r = Path(root)
    if not r.is_dir():
        return []
    found = [d for d in r.iterdir() if (d / H5_NAME).is_file()]
    return sorted(found, key=lambda d: (d / H5_NAME).stat().st_mtime, reverse=True)
