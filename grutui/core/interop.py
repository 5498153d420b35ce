"""Interop: import the blog's output files as a session; export metrics as CSV.

The blog's script (part 3) leaves beside it::

    train_losses.json   [float] * epochs            MSE in target/high units
    test_losses.json    [float | null] * epochs     raw units, null where not evaluated
    all_weights.json    [{param name: nested list}] one entry per evaluation epoch
                                                    (epoch % 49 == 0), after that epoch
    gru_adding_problem_model_epochs_N_hidden_H.pth  final state dict (optional)

Units match grutui's, so the import is a relabelling: snapshot epochs are the epochs
whose test loss is not null (0, 49, 98, …) plus the last epoch when the ``.pth`` is
there. The learning rate and wall time were not saved and are recorded as NaN. The
``.pth`` is read with ``torch.load(weights_only=True)`` only: never unpickled.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from grutui.core.config import TrainConfig, preset
from grutui.core.errors import GrutuiError
from grutui.core.layout import PARAM_NAMES
from grutui.core.runview import RunView

BLOG_EVERY = 49


class InteropError(GrutuiError):
    """Unreadable or inconsistent files to import or export."""


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InteropError(f"{path} not found (is this the blog's output directory?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InteropError(f"{path} is not readable JSON: {exc}") from None


def _params(raw: Any, where: str, shapes: dict[str, tuple[int, ...]] | None) -> dict:
    if not isinstance(raw, dict):
        raise InteropError(
            f"{where}: expected {{parameter name: values}}, got {type(raw).__name__}"
        )
    missing = [n for n in PARAM_NAMES if n not in raw]
    if missing:
        raise InteropError(f"{where}: missing parameter(s) {', '.join(missing)}")
    out = {}
    for n in PARAM_NAMES:
        try:
            a = np.asarray(raw[n], dtype=np.float32)
        except (TypeError, ValueError):
            raise InteropError(f"{where}: {n} is not a numeric array") from None
        if shapes is not None and a.shape != shapes[n]:
            raise InteropError(f"{where}: {n} has shape {a.shape}, expected {shapes[n]}")
        out[n] = a
    hs = out["gru.weight_hh_l0"].shape
    if len(hs) != 2 or hs[0] != 3 * hs[1] or out["gru.weight_ih_l0"].shape != (hs[0], 2):
        raise InteropError(f"{where}: not a GRU(2, H) state (gru.weight_hh_l0 shape {hs})")
    return out


def find_pth(src: Path) -> Path | None:
    found = sorted(src.glob("*.pth"))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InteropError(f"several .pth files in {src} ({names}): pass --pth FILE")
    return found[0] if found else None


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """A PyTorch state dict read with ``weights_only=True`` (no arbitrary unpickling)."""
    import torch

    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad or unsafe file
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InteropError(f"cannot load {path} with weights_only=True: {msg}") from None
    if not isinstance(sd, dict):
        raise InteropError(f"{path} holds a {type(sd).__name__}, not a state dict")
    return {k: v.detach().cpu().numpy() if hasattr(v, "detach") else v for k, v in sd.items()}


def import_blog(
    src: str | Path,
    out: str | Path,
    *,
    pth: str | Path | None = None,
    overwrite: bool = False,
    base: TrainConfig | None = None,
) -> Path:
    """Write the blog's output directory ``src`` as a session at ``out``."""
    src = Path(src)
    if not src.is_dir():
        raise InteropError(f"{src} is not a directory")
    train = _load_json(src / "train_losses.json")
    if not isinstance(train, list) or not train:
        raise InteropError(f"{src / 'train_losses.json'}: expected a non-empty list of losses")
    try:
        train_loss = np.array([math.nan if v is None else float(v) for v in train])
    except (TypeError, ValueError):
        raise InteropError(f"{src / 'train_losses.json'}: not a list of numbers") from None
    n = len(train_loss)
    test_path = src / "test_losses.json"
    test_loss = np.full(n, math.nan)
    evaluated: list[int] | None = None
    if test_path.exists():
        test = _load_json(test_path)
        if not isinstance(test, list) or len(test) != n:
            raise InteropError(
                f"{test_path}: expected a list of {n} entries (one per epoch), "
                f"got {len(test) if isinstance(test, list) else type(test).__name__}"
            )
        try:
            test_loss = np.array([math.nan if v is None else float(v) for v in test])
        except (TypeError, ValueError):
            raise InteropError(f"{test_path}: entries must be numbers or null") from None
        evaluated = [e for e, v in enumerate(test) if v is not None]
    weights_raw = _load_json(src / "all_weights.json")
    if not isinstance(weights_raw, list) or not weights_raw:
        raise InteropError(f"{src / 'all_weights.json'}: expected a non-empty list of states")
    first = _params(weights_raw[0], "all_weights.json[0]", None)
    shapes = {k: v.shape for k, v in first.items()}
    snaps = [first] + [
        _params(w, f"all_weights.json[{i}]", shapes) for i, w in enumerate(weights_raw[1:], 1)
    ]
    # the blog appends a state exactly when it evaluates: the non-null test epochs
    if evaluated is not None and len(evaluated) == len(snaps):
        snap_epochs = evaluated
    else:
        snap_epochs = [BLOG_EVERY * i for i in range(len(snaps))]
    if snap_epochs[-1] >= n:
        raise InteropError(
            f"all_weights.json has {len(snaps)} states (up to epoch {snap_epochs[-1]}) but "
            f"train_losses.json only {n} epochs"
        )
    by_epoch = dict(zip(snap_epochs, snaps, strict=True))
    pth_path = Path(pth) if pth is not None else find_pth(src)
    if pth_path is not None:
        if not pth_path.is_file():
            raise InteropError(f"{pth_path} not found")
        by_epoch[n - 1] = _params(load_state_dict(pth_path), str(pth_path), shapes)
    hidden = shapes["gru.weight_hh_l0"][1]
    cfg = (base or preset("blog")).replace(
        epochs=n, hidden=hidden, snapshot_every=BLOG_EVERY, eval_every=BLOG_EVERY
    )
    cfg.validate()
    try:
        _write_blog_session(out, cfg, overwrite, src, pth_path, by_epoch, train_loss, test_loss)
    except OSError as exc:
        raise InteropError(f"cannot write the session {out}: {exc}") from None
    return Path(out)


def _write_blog_session(
    out: str | Path,
    cfg: TrainConfig,
    overwrite: bool,
    src: Path,
    pth_path: Path | None,
    by_epoch: dict[int, dict[str, np.ndarray]],
    train_loss: np.ndarray,
    test_loss: np.ndarray,
) -> None:
    from grutui.core.records import EpochRecord
    from grutui.core.writer import SessionWriter

    n = len(train_loss)
    current = by_epoch[min(by_epoch)]
    with SessionWriter(out, cfg, overwrite=overwrite) as writer:
        writer.event(
            "import",
            None,
            source="blog",
            dir=str(src.resolve()),
            pth=str(pth_path) if pth_path else None,
            snapshots=sorted(by_epoch),
        )
        for e in range(n):
            snap = e in by_epoch
            if snap:
                current = by_epoch[e]
            rec = EpochRecord(
                epoch=e,
                train_loss=train_loss[e : e + 1],
                test_loss=None if math.isnan(test_loss[e]) else test_loss[e : e + 1],
                lr=np.array([math.nan]),
                wall_time=math.nan,
                weights={k: v[None] for k, v in current.items()},
            )
            writer.append(rec, snapshot=snap)
        writer.event("finish", n - 1, source="blog")


def metrics_csv(session: RunView) -> str:
    """Per-epoch metrics as CSV: epoch, wall_time, then train_loss, test_loss and lr per
    member (suffixed ``_m{k}`` for ensembles). Empty cells where there is no value."""
    m = session.metrics
    k = session.members
    names = ("train_loss", "test_loss", "lr")
    head = ["epoch", "wall_time"]
    for j in range(k):
        head += [n if k == 1 else f"{n}_m{j}" for n in names]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)

    def cell(v: float) -> str:
        return repr(float(v)) if math.isfinite(v) else ""

    for i in range(session.n_epochs):
        row = [str(int(m.epoch[i])), cell(m.wall_time[i])]
        for j in range(k):
            row += [cell(getattr(m, n)[i, j]) for n in names]
        w.writerow(row)
    return buf.getvalue()


def export_csv(session: RunView, dest: str | Path) -> None:
    """Write ``metrics_csv`` to ``dest`` (``-`` for stdout)."""
    text = metrics_csv(session)
    if str(dest) == "-":
        sys.stdout.write(text)
        return
    try:
        Path(dest).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InteropError(f"cannot write {dest}: {exc.strerror or exc}") from None
