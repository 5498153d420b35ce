"""The keys as declared: every ``Binding`` in the ``BINDINGS`` of a class and its bases,
with the user's keymap applied, for the help screen and the command palette.

Built from the class attributes (public API) rather than from a node's live binding
map, so the help can list the keys of panes that are not on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from textual.binding import Binding
from textual.dom import DOMNode


def declared_bindings(cls: type[DOMNode], keymap: Mapping[str, str] | None = None) -> list[Binding]:
    """``cls``'s bindings merged over its bases as Textual merges them (a subclass's
    binding for a key replaces its bases', in the base's place), one ``Binding`` per
    key; a binding whose id is in ``keymap`` carries the keys mapped there instead."""
    keys: dict[str, list[Binding]] = {}
    for base in reversed(cls.__mro__):
        if not issubclass(base, DOMNode):
            continue
        own: dict[str, list[Binding]] = {}
        for b in Binding.make_bindings(vars(base).get("BINDINGS", [])):
            own.setdefault(b.key, []).append(b)
        keys.update(own)
    flat = [b for bs in keys.values() for b in bs]
    return remap(flat, keymap) if keymap else flat


def remap(bindings: Iterable[Binding], keymap: Mapping[str, str]) -> list[Binding]:
    """``bindings`` with the keys of those ``keymap`` names by id replaced (a keymap
    entry may list several keys, comma-separated)."""
    out: list[Binding] = []
    done: set[str] = set()
    for b in bindings:
        if b.id is None or b.id not in keymap:
            out.append(b)
        elif b.id not in done:  # declared "x,ctrl+s" → the keymap's keys, listed once
            done.add(b.id)
            out.extend(Binding.make_bindings([b.with_key(keymap[b.id])]))
    return out


def help_rows(
    bindings: Iterable[Binding], key_display: Callable[[Binding], str]
) -> list[tuple[str, str]]:
    """(keys, description) per action, in declaration order: every key that reaches
    the action, and our own words for it (Textual's bindings carry no id)."""
    by_action: dict[str, tuple[list[str], str]] = {}
    for b in bindings:
        desc = b.tooltip or b.description or b.action.replace("_", " ")
        shown, _ = by_action.setdefault(b.action, ([], desc))
        keys = key_display(b)
        if keys in shown:  # "x,ctrl+s" with key_display="x": the second key by its name
            keys = key_display(replace(b, key_display=None))
        if keys not in shown:
            shown.append(keys)
        if b.id is not None:
            by_action[b.action] = (shown, desc)
    return [(", ".join(k), d) for k, d in by_action.values()]
