"""The import graph of the ``grutui`` package: no cycles, and core never reaches up.

Every module is parsed (not imported); an edge is any import that runs: at module
level or inside a function, but not under ``if TYPE_CHECKING:`` (type hints only).
Importing ``a.b.c`` also runs ``a`` and ``a.b``, so those are edges too.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
from pathlib import Path

import grutui

ROOT = Path(grutui.__file__).parent


def _modules() -> dict[str, Path]:
    mods = {"grutui": ROOT / "__init__.py"}
    for info in pkgutil.walk_packages([str(ROOT)], prefix="grutui."):
        spec = importlib.util.find_spec(info.name)
        assert spec is not None and spec.origin is not None, info.name
        mods[info.name] = Path(spec.origin)
    return mods


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that execute, skipping ``if TYPE_CHECKING:`` bodies (their
    ``else:`` branch runs, so it counts)."""
    out: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def import_graph() -> dict[str, set[str]]:
    """Module → the ``grutui`` modules importing it runs."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        package = name if is_pkg else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets.add(base)
            for a in node.names:  # `from pkg import submodule`
                if f"{base}.{a.name}" in mods:
                    targets.add(f"{base}.{a.name}")
        edges = {p for t in targets for p in _with_parents(t) if p in mods}
        edges -= set(_with_parents(name))  # a module's own packages are already running
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_the_graph_sees_every_module_and_known_edges() -> None:
    graph = import_graph()
    assert "grutui.core.session" in graph and "grutui.ui.app" in graph
    assert "grutui.ui.panes.base" in graph["grutui.ui.app"]
    # a function-level import counts (the CLI imports its subcommands lazily)
    assert "grutui.ui.app" in graph["grutui.cli"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_core_never_imports_the_ui_or_the_cli() -> None:
    graph = import_graph()
    bad = {
        (m, t)
        for m, ts in graph.items()
        if m.startswith("grutui.core")
        for t in ts
        if t.startswith(("grutui.ui", "grutui.cli"))
    }
    assert bad == set()
