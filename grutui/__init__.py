"""grutui: a terminal lab for watching small recurrent networks learn."""

__version__ = "0.1.0"
