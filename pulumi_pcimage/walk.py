"""One walker for nested values (mappings and lists, as JSON and Pulumi properties nest them).

Every place that turns one nested value into another — secrets unwrapped, unknowns marked, strings redacted,
values wrapped for the wire — is `rebuild` with its own leaf; `leaves` looks inside without recursion. The module
imports nothing: the core, both faces and the test harness use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


def _same(value: Any) -> Any:
    return value


def rebuild(value: Any, leaf: Callable[[Any], Any] = _same, *, open: Callable[[Any], Any] = _same,
            mapping: Callable[[dict], Any] = _same, sequence: Callable[[list], Any] = _same,
            containers: tuple[type, ...] = (Mapping, list, tuple), keep_unchanged: bool = False) -> Any:
    """`value` rebuilt: each node first through `open` (what a wrapper holds: a secret's value, a property's
    content), then mappings and sequences (whichever of `containers` they are; tuples become lists) element by
    element and handed to `mapping` / `sequence`, anything else through `leaf`.

    `keep_unchanged`: a container whose elements all come back as the very same objects is returned itself (a
    caller can tell with `is` that nothing changed).
    """

    def visit(node: Any) -> Any:
        node = open(node)
        if isinstance(node, Mapping) and isinstance(node, containers):
            items = {key: visit(item) for key, item in node.items()}
            if keep_unchanged and all(items[key] is node[key] for key in node):
                return node
            return mapping(items)
        if isinstance(node, (list, tuple)) and isinstance(node, containers):
            elements = [visit(item) for item in node]
            if keep_unchanged and all(new is old for new, old in zip(elements, node, strict=True)):
                return node
            return sequence(elements)
        return leaf(node)

    return visit(value)


def leaves(value: Any) -> Iterator[Any]:
    """Every value inside `value` that is no mapping or list (or tuple), depth first.

    Iterative: a hostile mapping nested thousands deep is walked without a RecursionError."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        else:
            yield item
