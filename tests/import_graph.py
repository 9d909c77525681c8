"""The import graph of the `idp` package, and the layering rules it must keep.

Run `python -m tests.import_graph` to print which package imports which, any import cycle
among modules and any import that breaks the layering; tests/test_layout.py checks the same.
Every import counts, at module level or inside a function, under `if TYPE_CHECKING` or not.
A module importing `idp.a.b` depends on `idp.a.b` only (not on the package `idp.a` that
Python also runs first).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "idp"

# Left to right: a package may import only packages in a layer to its right. Packages in
# one layer are peers and do not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("web",),
    ("api",),
    ("admin",),
    ("federation",),
    ("oauth",),
    ("identity",),
    ("keys", "mail"),
    ("core",),
    ("db", "settings", "errors"),
]
# On top: may import anything. Only cli and wsgi import app.
TOP = {"app", "cli", "wsgi", "models"}
APP_IMPORTERS = {"cli", "wsgi"}
# Stands alone: runs inside other people's API servers.
ALONE = {"resource"}
MIGRATIONS_MAY_IMPORT = {"models", "db", "settings"}

Graph = dict[str, set[str]]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """The idp modules that the module `name` at `path` imports, wherever the import is."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, is_package)
            for alias in node.names:
                # `from idp.web import oauth` imports the module idp.web.oauth.
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - node.level + 1]
    return ".".join([*anchor, node.module] if node.module else anchor)


def module_graph() -> Graph:
    """Every idp module and the idp modules it imports."""
    found = modules()
    known = set(found)
    graph: Graph = {}
    for name, path in found.items():
        targets = {_nearest(target, known) for target in imported(path, name, known)}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def _nearest(target: str, known: set[str]) -> str:
    """The module itself, or for `import idp.a.b.attr` its nearest known module."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target if target.startswith("idp") else ""


def package_of(module: str) -> str:
    """`idp.web.oauth` -> `web`; `idp.db` -> `db`; `idp` -> `idp`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph(graph: Graph) -> Graph:
    packages: Graph = {}
    for module, targets in graph.items():
        here = package_of(module)
        packages.setdefault(here, set()).update(
            package_of(t) for t in targets if package_of(t) != here
        )
    return packages


def cycles(graph: Graph) -> list[list[str]]:
    """One cycle (a -> ... -> a) for every strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(sorted(group), graph) for group in groups]


def _cycle_in(group: list[str], graph: Graph) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    return group


def allowed(importer: str, imported: str) -> bool:
    """Whether package `importer` may import package `imported` (both as `package_of` names)."""
    if imported == importer or (importer in TOP and imported != "app"):
        return True
    if imported == "app":
        return importer in APP_IMPORTERS
    if importer == "migrations":
        return imported in MIGRATIONS_MAY_IMPORT
    if importer in ALONE or imported in ALONE | TOP | {"migrations", "idp"}:
        return False
    layer = {package: depth for depth, names in enumerate(LAYERS) for package in names}
    if importer not in layer or imported not in layer:
        return False
    return layer[imported] > layer[importer]


def violations(graph: Graph) -> list[str]:
    """Every import of one module by another that the layering forbids."""
    return [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if not allowed(package_of(module), package_of(target))
    ]


def main() -> int:
    graph = module_graph()
    print("Packages and the packages they import:")
    for package, targets in sorted(package_graph(graph).items()):
        print(f"  {package:<10} -> {', '.join(sorted(targets)) or '(nothing)'}")
    found = cycles(graph)
    print("Module cycles:" if found else "Module cycles: none")
    for cycle in found:
        print("  " + " -> ".join(cycle))
    wrong = violations(graph)
    print("Imports against the layering:" if wrong else "Imports against the layering: none")
    for line in wrong:
        print("  " + line)
    return 1 if found or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
