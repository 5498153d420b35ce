"""Headless core: tasks, GRU maths, training, session store, analyses.

Nothing under ``grutui.core`` may import textual or rich (a test enforces it), and
browsing-side modules (``gru``, ``tasks``, ``session``, ``sequence``) must not import
torch either, so the app opens a session fast.
"""
