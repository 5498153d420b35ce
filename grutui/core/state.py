"""Training state for ``grutui resume``: arrays + JSON in ``SESSION/state.h5``, never pickle.

The state of a run at the end of an epoch is the model's parameters, the optimiser's
and scheduler's state dicts and the RNG state(s) that later shuffles draw from. Torch
state dicts are split by a tiny codec (``encode``/``decode``): every tensor becomes an
HDF5 dataset, everything else a JSON document with ``{"__array__": name}`` where the
tensor was. Reading it back never executes anything from the file.

Crash safety: the state is written to ``state.h5.tmp``, flushed and fsynced, then
renamed over ``state.h5`` (atomic on POSIX), so a kill at any moment leaves either the
previous complete state or the new one. The file lives beside ``session.h5`` so the
session's own layout (format version 1) is unchanged; a session without it (recorded
before this existed, or killed before its first save) simply cannot be resumed.

Layout::

    SESSION/state.h5
      attrs: format = "grutui-state", format_version = 1, epoch (last complete epoch),
             wall_time (seconds of training up to it), engine, saved (unix time),
             meta (JSON: optimiser/scheduler state with array references, ...),
             index (JSON: {name: [dtype, shape, offset, nbytes]})
      arrays   uint8 (N,): every array's bytes, at the offsets of ``index``; names like
               model/gru.weight_ih_l0, optimizer/state/0/exp_avg, rng/torch (uint8:
               torch.get_rng_state())
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from grutui.core.errors import SessionError

STATE_NAME = "state.h5"
STATE_FORMAT = "grutui-state"
STATE_VERSION = 1


@dataclass
class TrainState:
    """Everything needed to continue a run after epoch ``epoch``."""

    epoch: int
    wall_time: float
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    engine: str = "reference"


# -- state-dict codec ------------------------------------------------------------------


def encode(obj: Any, prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-able copy of a (torch) state dict; tensors/arrays go to ``arrays``.

    Dicts with non-string keys (an optimiser's ``state`` is keyed by int) and tuples
    (Adam's ``betas``) are tagged so ``decode`` gives back the same types.
    """
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # a torch tensor
        arrays[prefix] = obj.detach().cpu().numpy().copy()
        return {"__array__": prefix}
    if isinstance(obj, np.ndarray):
        arrays[prefix] = obj.copy()
        return {"__array__": prefix}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: encode(v, f"{prefix}/{k}", arrays) for k, v in obj.items()}
        return {"__items__": [[k, encode(v, f"{prefix}/{k}", arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, f"{prefix}/{i}", arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode(v, f"{prefix}/{i}", arrays) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a training state")


def decode(obj: Any, arrays: dict[str, np.ndarray], as_tensor: Any = None) -> Any:
    """Inverse of ``encode``; ``as_tensor`` (e.g. ``torch.from_numpy``) wraps arrays."""
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            try:
                arr = arrays[obj["__array__"]]
            except KeyError:
                raise SessionError(f"training state lacks array {obj['__array__']!r}") from None
            return as_tensor(arr.copy()) if as_tensor is not None else arr
        if set(obj) == {"__items__"}:
            return {k: decode(v, arrays, as_tensor) for k, v in obj["__items__"]}
        if set(obj) == {"__tuple__"}:
            return tuple(decode(v, arrays, as_tensor) for v in obj["__tuple__"])
        return {k: decode(v, arrays, as_tensor) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v, arrays, as_tensor) for v in obj]
    return obj


# -- the file --------------------------------------------------------------------------


def state_path(session_dir: str | Path) -> Path:
    return Path(session_dir) / STATE_NAME


def save_state(session_dir: str | Path, state: TrainState, *, fsync: bool = True) -> Path:
    """Write ``state`` atomically (temp file, fsync, rename) and return its path."""
    final = state_path(session_dir)
    tmp = final.with_name(final.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        a = f.attrs
        a["format"] = STATE_FORMAT
        a["format_version"] = STATE_VERSION
        a["epoch"] = int(state.epoch)
        a["wall_time"] = float(state.wall_time)
        a["engine"] = state.engine
        a["saved"] = time.time()
        a["meta"] = json.dumps(state.meta)
        # one byte blob + a JSON index: creating a dataset per array cost ~5x more
        index: dict[str, list[Any]] = {}
        parts: list[bytes] = []
        offset = 0
        for name, arr in state.arrays.items():
            arr = np.ascontiguousarray(arr)
            raw = arr.tobytes()
            index[name] = [arr.dtype.str, list(arr.shape), offset, len(raw)]
            parts.append(raw)
            offset += len(raw)
        a["index"] = json.dumps(index)
        f.create_dataset("arrays", data=np.frombuffer(b"".join(parts) or b"", np.uint8))
    if fsync:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(tmp, final)
    if fsync:  # make the rename itself durable
        try:
            dfd = os.open(final.parent, os.O_RDONLY)
        except OSError:
            return final
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)
    return final


def load_state(session_dir: str | Path) -> TrainState:
    """Read ``SESSION/state.h5``; every problem is a one-line ``SessionError``."""
    p = state_path(session_dir)
    if not p.is_file():
        raise SessionError(
            f"{Path(session_dir)} has no saved training state ({STATE_NAME}): it was recorded "
            "before grutui saved resumable state, imported, or killed before its first epoch"
        )
    try:
        with h5py.File(p, "r") as f:
            a = f.attrs
            if a.get("format") != STATE_FORMAT:
                raise SessionError(f"{p} is not a grutui training state")
            version = int(a.get("format_version", 0))
            if version > STATE_VERSION:
                raise SessionError(
                    f"{p} was written by a newer grutui (state format {version}): upgrade grutui"
                )
            blob = np.asarray(f["arrays"][()], np.uint8).tobytes()
            arrays = _unpack(json.loads(a["index"]), blob)
            meta = json.loads(a["meta"])
            return TrainState(
                epoch=int(a["epoch"]),
                wall_time=float(a["wall_time"]),
                arrays=arrays,
                meta=meta if isinstance(meta, dict) else {},
                engine=str(a.get("engine", "reference")),
            )
    except SessionError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise SessionError(f"{p} is not a readable training state ({exc})") from None


def _unpack(index: Any, blob: bytes) -> dict[str, np.ndarray]:
    """Arrays from the blob; only plain numeric dtypes (never objects)."""
    if not isinstance(index, dict):
        raise ValueError("array index is not an object")
    out: dict[str, np.ndarray] = {}
    for name, (dtype, shape, offset, nbytes) in index.items():
        dt = np.dtype(str(dtype))
        if dt.kind not in "biufc" or dt.hasobject:
            raise ValueError(f"array {name!r} has a non-numeric dtype {dt}")
        if not (int(offset) >= 0 and int(offset) + int(nbytes) <= len(blob)):
            raise ValueError(f"array {name!r} lies outside the stored data")
        raw = blob[int(offset) : int(offset) + int(nbytes)]
        out[str(name)] = np.frombuffer(raw, dt).reshape([int(n) for n in shape]).copy()
    return out


class StateSaver:
    """Persists the newest offered state, spending at most ``max_overhead`` of the time.

    A save costs a few milliseconds (a small HDF5 file plus fsync). After a save that
    took ``c`` seconds the next one waits ``c / max_overhead`` (1 %: a 5 ms save → every
    0.5 s), so training is not slowed measurably whatever the disk, and a ``kill -9``
    loses only that much training, which ``resume`` recomputes. The first offer is saved
    at once. ``before_save`` runs first (the writer flushes ``session.h5`` there) so the
    saved epoch is never ahead of the metrics on disk.
    """

    def __init__(
        self,
        session_dir: Path,
        max_overhead: float = 0.01,
        before_save: Callable[[], None] | None = None,
    ) -> None:
        self.dir = session_dir
        self.max_overhead = max_overhead
        self.before_save = before_save
        self.pending: TrainState | None = None
        self.saved_epoch: int | None = None
        self._due = 0.0

    def offer(self, state: TrainState, *, force: bool = False) -> bool:
        """Keep ``state`` as the newest; save it if due. True if saved now."""
        self.pending = state
        if force or time.monotonic() >= self._due:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Save the pending state now (no-op when there is none)."""
        st = self.pending
        if st is None:
            return
        t0 = time.monotonic()
        if self.before_save is not None:
            self.before_save()
        save_state(self.dir, st)
        self.saved_epoch = st.epoch
        self.pending = None
        now = time.monotonic()
        self._due = now + (now - t0) / self.max_overhead if self.max_overhead > 0 else now


# -- torch objects <-> state (imports torch lazily: browsing code never needs it) ------


def capture_torch(
    epoch: int,
    wall_time: float,
    model: Any,
    optimizer: Any,
    scheduler: Any = None,
    *,
    engine: str = "reference",
    extra: dict[str, Any] | None = None,
) -> TrainState:
    """Snapshot a model, its optimiser and scheduler, and torch's RNGs (copies)."""
    import torch

    arrays: dict[str, np.ndarray] = {}
    for n, p in model.named_parameters():
        arrays[f"model/{n}"] = p.detach().cpu().numpy().copy()
    meta: dict[str, Any] = {"optimizer": encode(optimizer.state_dict(), "optimizer", arrays)}
    if scheduler is not None:
        meta["scheduler"] = encode(scheduler.state_dict(), "scheduler", arrays)
    # DataLoader shuffles (sampler seed and the iterator's base seed) draw from torch's
    # global CPU generator; the CUDA ones are kept too in case a model draws there.
    arrays["rng/torch"] = torch.get_rng_state().numpy().copy()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            arrays[f"rng/cuda/{i}"] = s.numpy().copy()
    if extra:
        meta.update(extra)
    return TrainState(epoch, wall_time, arrays, meta, engine)


def restore_torch(state: TrainState, model: Any, optimizer: Any, scheduler: Any = None) -> None:
    """Inverse of ``capture_torch`` onto freshly built objects of the same shapes."""
    import torch

    params = {n[len("model/") :]: a for n, a in state.arrays.items() if n.startswith("model/")}
    names = [n for n, _ in model.named_parameters()]
    if sorted(params) != sorted(names):
        raise SessionError("training state does not match the model (different parameters)")
    with torch.no_grad():
        for n, p in model.named_parameters():
            if tuple(params[n].shape) != tuple(p.shape):
                raise SessionError(
                    f"training state does not match the model: {n} is "
                    f"{tuple(params[n].shape)}, the config gives {tuple(p.shape)}"
                )
            p.copy_(torch.from_numpy(params[n].copy()))
    optimizer.load_state_dict(decode(state.meta["optimizer"], state.arrays, torch.from_numpy))
    if scheduler is not None:
        if "scheduler" not in state.meta:
            raise SessionError("training state has no learning-rate scheduler state")
        scheduler.load_state_dict(decode(state.meta["scheduler"], state.arrays))
    torch.set_rng_state(torch.from_numpy(state.arrays["rng/torch"].copy()))
    cuda = sorted(
        (k for k in state.arrays if k.startswith("rng/cuda/")),
        key=lambda k: int(k.rsplit("/", 1)[1]),
    )
    if cuda and torch.cuda.is_available():
        states = [torch.from_numpy(state.arrays[k].copy()) for k in cuda]
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)
