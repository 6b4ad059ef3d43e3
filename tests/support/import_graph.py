"""The project's import graph (grimp, the library under import-linter) and its cycles.

Every import counts, also those inside functions; ``if TYPE_CHECKING:`` imports (they never run)
only when asked for. A cycle is a strongly connected set of two or more modules (Tarjan's algorithm).
"""

from __future__ import annotations

import grimp

PACKAGES = ("quant", "db", "viewer", "desktop")


def module_graph(packages: tuple[str, ...] = PACKAGES, *, type_checking: bool = False) -> dict[str, set[str]]:
    """module -> the project modules it imports (at run time; with ``type_checking`` also those
    under ``if TYPE_CHECKING:``)."""
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=not type_checking)
    return {m: {d for d in graph.find_modules_directly_imported_by(m) if d.split(".")[0] in packages}
            for m in graph.modules if m.split(".")[0] in packages}


def import_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(root: str) -> None:  # iterative Tarjan: the graph is deep enough to hit recursion limits
        nonlocal counter
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return out
