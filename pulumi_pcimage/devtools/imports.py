"""The package's import graph, read from the source with `ast` (nothing is imported).

    python -m pulumi_pcimage.devtools.imports            # one line per group: what it imports, then any cycle
    python -m pulumi_pcimage.devtools.imports --modules  # one line per module
    python -m pulumi_pcimage.devtools.imports --root DIR # the pulumi_pcimage folder of another checkout

Groups are the first part of a module's name (`lifecycle.core` is in `lifecycle`, `package.server` in
`package`). tests/unit/test_arrows.py holds the graph to the rules in DESIGN.md ("Intended shape").
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """`lifecycle/core.py` -> `lifecycle.core`; a package's `__init__.py` is the package itself."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def internal_imports(path: Path, root: Path = PACKAGE) -> set[str]:
    """The pulumi_pcimage modules `path` imports, as dotted names below the package (`package.server`)."""
    parts = path.relative_to(root).with_suffix("").parts
    package = list(parts[:-1])  # a module's own package; for __init__ that is the package itself
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)]
            names = [node.module] if node.module else [alias.name for alias in node.names]
            found.update(".".join([*base, name]) for name in names)
        elif isinstance(node, ast.ImportFrom) and node.module == "pulumi_pcimage":  # from pulumi_pcimage import x
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pulumi_pcimage."):
            found.add(node.module.removeprefix("pulumi_pcimage."))
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("pulumi_pcimage.") for a in node.names
                         if a.name.startswith("pulumi_pcimage."))
    return found


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the modules it imports (a name the source imports that is no module, e.g. a name a package
    re-exports, is kept as written)."""
    return {module_name(p, root): internal_imports(p, root) for p in sorted(root.rglob("*.py"))}


def top(name: str) -> str:
    return name.split(".")[0]


def groups(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between groups (first name parts), without a group's imports of itself."""
    result: dict[str, set[str]] = {}
    for module, names in edges.items():
        if not module:
            continue  # the package's own __init__: lazy re-exports for users
        result.setdefault(top(module), set()).update(top(n) for n in names if top(n) != top(module))
    return result


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected sets of more than one node (or a node importing itself): each is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan; the package is small enough for recursion
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1 or node in edges.get(node, ()):
                found.append(sorted(members))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def render(edges: dict[str, set[str]]) -> Iterable[str]:
    width = max(len(name) for name in edges)
    for name in sorted(edges):
        yield f"{name:<{width}} -> {', '.join(sorted(edges[name])) or '(nothing)'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pulumi_pcimage.devtools.imports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", action="store_true", help="one line per module instead of per group")
    parser.add_argument("--root", type=Path, default=PACKAGE, help="the pulumi_pcimage folder to read")
    options = parser.parse_args(argv)
    edges = graph(options.root)
    shown = {m: {n for n in names if n in edges or top(n) in edges} for m, names in edges.items() if m} \
        if options.modules else groups(edges)
    for line in render(shown):
        print(line)
    found = cycles({m: {n for n in names if n in edges} for m, names in edges.items()})
    print(f"{len(shown)} {'modules' if options.modules else 'groups'}; "
          + ("no import cycle" if not found else "import cycles: " + "; ".join(" -> ".join(c) for c in found)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
