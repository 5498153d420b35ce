"""Command palette: every action the keys reach, generated from the bindings."""

from __future__ import annotations

from functools import partial
from typing import Protocol, runtime_checkable

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from grutui.ui.panes.base import PaneScreen


@runtime_checkable
class KeyedApp(Protocol):
    """What the palette needs from the app (``GrutuiApp`` provides it)."""

    def global_bindings(self) -> list[Binding]: ...

    def pane_bindings(self, pane: type[PaneScreen]) -> list[Binding]: ...

    def get_key_display(self, binding: Binding) -> str: ...

    def pane_unavailable(self, mode: str) -> str | None: ...


def pane_applies(app: KeyedApp, action: str) -> bool:
    """False for a pane switch (``pane('ood')``) to a pane the session has not."""
    if not action.startswith("pane("):
        return True
    return app.pane_unavailable(action[len("pane(") :].strip("')\"")) is None


class GrutuiCommands(Provider):
    """Global actions and the current pane's, titled by their descriptions; the pane
    switches last."""

    def _commands(self) -> list[tuple[str, str, str, DOMNode]]:
        app = self.app
        if not isinstance(app, KeyedApp):
            return []
        sections: list[tuple[DOMNode, list[Binding]]] = [(self.app, app.global_bindings())]
        screen = self.screen
        if isinstance(screen, PaneScreen):  # another pane's keys act on that pane
            sections.append((screen, app.pane_bindings(type(screen))))
        out: list[tuple[str, str, str, DOMNode]] = []
        panes: list[tuple[str, str, str, DOMNode]] = []
        seen: set[str] = set()
        for namespace, bindings in sections:
            for b in bindings:
                if b.action in seen or not pane_applies(app, b.action):
                    continue
                seen.add(b.action)
                entry = (b.tooltip or b.description, app.get_key_display(b), b.action, namespace)
                (panes if b.action.startswith("pane(") else out).append(entry)
        return out + panes

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
