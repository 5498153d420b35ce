"""Errors the CLI and the app turn into one clear line (never a traceback)."""


class GrutuiError(Exception):
    """Base class for user-facing errors."""


class ConfigError(GrutuiError, ValueError):
    """An invalid training configuration value."""


class SessionError(GrutuiError):
    """A missing, corrupt, foreign or too-new session."""


class NoEpochError(SessionError):
    """A session whose run ended before its first epoch: nothing will ever show.
    ``reason`` is the short form (an inline status line)."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path} has no epoch recorded: {reason}")
        self.reason = reason


class SequenceError(GrutuiError, ValueError):
    """A malformed sequence typed by the user.

    ``column`` is the 0-based offset in the text where the problem starts, so a UI can
    point at it without clearing what was typed.
    """

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column
