"""The adding problem's debugger syntax (``12:0 37:1``); it lives with the task in
``grutui.core.tasks.adding``, and is named here for the debugger and its tests."""

from grutui.core.tasks.adding import (
    MAX_STEPS,
    Step,
    format_sequence,
    parse_sequence,
    to_arrays,
)

__all__ = ["MAX_STEPS", "Step", "format_sequence", "parse_sequence", "to_arrays"]
