"""Start order of services: a deterministic topological sort of ``depends_on``."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from dockyard.compose.errors import ProjectError


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A dependency cycle as ``[a, b, …, a]``, or None. Edges to unknown nodes are ignored."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return [*stack[stack.index(dep):], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def topological_order(graph: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """Every node after the nodes it depends on; among ready nodes, alphabetical.

    ``graph`` maps a service to the services it depends on. Raises ``ProjectError`` on a
    cycle, naming it.
    """
    cycle = find_cycle(graph)
    if cycle:
        raise ProjectError("dependency cycle detected: " + " -> ".join(cycle))
    deps = {node: {d for d in graph[node] if d in graph} for node in graph}
    dependents: dict[str, set[str]] = {node: set() for node in graph}
    for node, ds in deps.items():
        for d in ds:
            dependents[d].add(node)
    ready = [node for node, ds in deps.items() if not ds]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for child in dependents[node]:
            deps[child].discard(node)
            if not deps[child]:
                heapq.heappush(ready, child)
    return tuple(order)
