"""The session file's format: its names and version, and opening it safely.

Layout (documented in the README; readable with plain h5py, no pickle anywhere)::

    NAME/session.h5
      attrs: format="grutui-session", format_version, config (JSON), created, members, ...
      metrics/epoch        int64   (E,)
      metrics/train_loss   float64 (E, K)
      metrics/test_loss    float64 (E, K)   NaN where not evaluated
      metrics/lr           float64 (E, K)
      metrics/wall_time    float64 (E,)
      metrics/train_acc    float64 (E, K)   classification only; NaN where not evaluated
      metrics/test_acc     float64 (E, K)   (absent: NaN, as for regression and old files)
      metrics/weight_norm  float64 (E, K)   L2 norm of all parameters (absent in older files: NaN)
      weights/epoch        int64   (S,)     epoch of each snapshot row
      weights/<param>      float32 (S, K, *shape)   by PyTorch name, e.g. gru.weight_ih_l0
      init/<param>         float32 (K, *shape)      weights before the first epoch
    NAME/events.jsonl      one JSON object per line: {"t", "kind", "epoch", ...}

The writer (``grutui.core.writer``) uses HDF5's single-writer/multiple-reader mode and
flushes after each append, so a killed process leaves a readable file and another
process can read a session while it grows. Readers (``grutui.core.session``) take the
shortest of the growing datasets, so a write interrupted half-way is simply not seen.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

import h5py

from grutui.core.errors import SessionError

FORMAT = "grutui-session"
FORMAT_VERSION = 1
METRICS = ("train_loss", "test_loss", "lr")
# written for classification tasks only: a regression session's file is as it always was
ACCURACY = ("train_acc", "test_acc")
# written by every session since it was introduced; older files read as NaN
WEIGHT_NORM = "weight_norm"
# the per-member metrics a file may lack, read as NaN where absent
OPTIONAL = (*ACCURACY, WEIGHT_NORM)

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def open_read(path: Path) -> h5py.File:
    """Open a session file for reading, in SWMR mode when it was written that way."""
    try:
        return h5py.File(path, "r", libver="latest", swmr=True)
    except OSError:  # a file never switched to SWMR mode (e.g. written by other tools)
        return h5py.File(path, "r")


def _stored_eof(path: Path) -> int | None:
    """End-of-file address recorded in a version 2/3 superblock (None if not such a file)."""
    with path.open("rb") as fh:
        head = fh.read(48)
    if len(head) < 48 or not head.startswith(_HDF5_SIGNATURE) or head[8] not in (2, 3):
        return None
    if head[9] != 8:  # size of offsets
        return None
    base, _ext, eof = struct.unpack_from("<QQQ", head, 12)
    return int(base + eof)


def check_not_truncated(path: Path) -> None:
    """Refuse a file shorter than its superblock says.

    HDF5 skips this check for SWMR readers and then retries every failed metadata read
    with back-off, which makes a truncated file hang for minutes instead of failing.
    A live writer can be mid-flush, so look again briefly before calling it truncated.
    """
    size = path.stat().st_size
    if size == 0:
        raise SessionError(f"{path} is not a readable HDF5 file (empty, truncated or corrupt)")
    for attempt in range(4):
        eof = _stored_eof(path)
        size = path.stat().st_size
        if eof is None or size >= eof:
            return
        time.sleep(0.05 * (attempt + 1))
    raise SessionError(
        f"{path} is not a readable HDF5 file (empty, truncated or corrupt): "
        f"{size} bytes on disk, {eof} expected"
    )
