"""The Textual app (the only place textual and rich are used for the UI)."""
