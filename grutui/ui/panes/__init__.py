"""The app's panes, one Textual mode each (registered in ``grutui.ui.app.PANES``)."""
