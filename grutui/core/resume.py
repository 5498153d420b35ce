"""``grutui resume``: can a stopped or killed run continue, and from where.

The state (``grutui.core.state``) is saved after the first epoch, then as often as
costs at most 1 % of the time, and always when a run stops, finishes or diverges.
Epochs recorded after the saved state (a ``kill -9`` between two saves) are dropped and
recomputed: with the same state they come out the same, so the session reads as one
uninterrupted run. ``--epochs N`` sets the new total
number of epochs (the epoch numbers stay 0-based: training ends after epoch N-1).
``RunDriver.resume`` (``grutui.core.driver``) runs the continuation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grutui.core.config import TrainConfig
from grutui.core.errors import SessionError
from grutui.core.session import Session
from grutui.core.state import TrainState, load_state
from grutui.core.writer import SessionWriter


@dataclass
class ResumePlan:
    config: TrainConfig  # the config to continue with (epochs possibly raised)
    state: TrainState
    recorded: int  # epochs recorded in the session before the resume
    discarded: int  # of those, epochs after the saved state (to be recomputed)


def plan_resume(path: str | Path, epochs: int | None = None) -> ResumePlan:
    """Check that ``path`` can be resumed; every refusal is a one-line ``SessionError``."""
    with Session(path) as s:
        cfg = s.config
        last = s.last_epoch
        recorded = s.n_epochs
        sdir = s.dir
    state = load_state(sdir)
    if state.engine != cfg.engine:
        raise SessionError(
            f"{sdir}: the saved state is for the {state.engine!r} engine, the session's "
            f"config says {cfg.engine!r}"
        )
    if state.meta.get("diverged"):
        raise SessionError(
            f"{sdir}: training diverged at epoch {state.epoch} (non-finite loss); "
            "resuming would continue from non-finite weights"
        )
    if state.epoch > last:
        raise SessionError(
            f"{sdir}: the saved state (epoch {state.epoch}) is ahead of the recorded epochs "
            f"(last {last}); the session is inconsistent"
        )
    if epochs is not None:
        if epochs < 1:
            raise SessionError(f"--epochs must be a positive integer, got {epochs}")
        cfg = cfg.replace(epochs=epochs)
    if state.epoch + 1 >= cfg.epochs:
        hint = (
            "pass a larger --epochs to train further"
            if epochs is None
            else f"--epochs must exceed {state.epoch + 1}"
        )
        raise SessionError(
            f"{sdir}: already trained through epoch {state.epoch} of {cfg.epochs}; {hint}"
        )
    cfg.validate()
    return ResumePlan(cfg, state, recorded, last - state.epoch)


def open_for_resume(path: str | Path, plan: ResumePlan) -> SessionWriter:
    """Reopen the session for appending after the state's epoch; log the ``resume``."""
    writer = SessionWriter(path, plan.config, resume_after=plan.state.epoch)
    writer.event(
        "resume",
        plan.state.epoch,
        source="snapshot",
        from_epoch=plan.state.epoch,
        discarded=plan.discarded,
        epochs=plan.config.epochs,
    )
    return writer
