"""Command palette: every action the keys reach, generated from the bindings."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

if TYPE_CHECKING:
    pass


class GrutuiCommands(Provider):
    """Global actions and the current pane's, titled by their descriptions."""

    def _commands(self) -> list[tuple[str, str, str, DOMNode]]:
        from grutui.ui.app import PANES, GrutuiApp

        app = self.app
        if not isinstance(app, GrutuiApp):
            return []
        gapp = app
        out: list[tuple[str, str, str, DOMNode]] = []
        seen: set[str] = set()
        screen = self.screen
        for title, bindings in gapp.key_sections():
            spec = next((p for p in PANES if f"{p.title} pane" == title), None)
            namespace: DOMNode = gapp
            if spec is not None:
                if type(screen) is not spec.screen:
                    continue  # another pane's keys act on that pane
                namespace = screen
            for b in bindings:
                if b.action in seen or b.action.startswith("pane("):
                    continue
                seen.add(b.action)
                keys = gapp.get_key_display(b)
                out.append((b.tooltip or b.description, keys, b.action, namespace))
        for i, spec in enumerate(PANES, start=1):
            out.append((f"Show the {spec.title} pane", str(i), f"pane('{spec.mode}')", gapp))
        return out

    async def discover(self) -> Hits:
        for title, keys, action, ns in self._commands():
            yield DiscoveryHit(title, partial(self.app.run_action, action, ns), help=f"key: {keys}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, keys, action, ns in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self.app.run_action, action, ns),
                    help=f"key: {keys}",
                )
