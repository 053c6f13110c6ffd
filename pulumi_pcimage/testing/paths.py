"""Property paths as the engine reads `ignoreChanges`: `imageConfiguration.Build.InstanceType`, `tags[0]`,
`["key.with.dots"]`, `items[*].name` (pulumi/pulumi `sdk/go/common/resource/properties_path.go`,
`ParsePropertyPath` and `PropertyPath.Reset`).

`reset(path, old, new)` puts the old value at `path` into `new` in place, as the engine does to the program's inputs
before Check (`processIgnoreChanges` in `pkg/resource/deploy/step_generator.go`): a key the old inputs lack is
removed from the new ones; it never creates a level or an array element; it answers False where the path runs into
an element that exists on one side only (the engine then prints "cannot ignore changes in added or removed elements
of the path" and goes on).
"""

from __future__ import annotations

import copy
import re
from typing import Any

_KEY = re.compile(r"[^.\[\]]+")


def parse(path: str) -> list[str | int]:
    """`a.b[0]["c.d"]` -> ["a", "b", 0, "c.d"]; raises ValueError on what the engine cannot parse."""
    parts: list[str | int] = []
    at = 0
    while at < len(path):
        if path.startswith('["', at):
            end = at + 2
            key = []
            while end < len(path) and path[end] != '"':
                if path[end] == "\\" and end + 1 < len(path):
                    end += 1
                key.append(path[end])
                end += 1
            if not path.startswith('"]', end):
                raise ValueError(f"property path {path!r}: unterminated quoted key")
            parts.append("".join(key))
            at = end + 2
        elif path[at] == "[":
            end = path.find("]", at)
            if end < 0:
                raise ValueError(f"property path {path!r}: unterminated index")
            index = path[at + 1:end]
            parts.append("*" if index == "*" else int(index))
            at = end + 1
        else:
            if path[at] == ".":
                if not parts:
                    raise ValueError(f"property path {path!r} starts with '.'")
                at += 1
            match = _KEY.match(path, at)
            if match is None:
                raise ValueError(f"property path {path!r}: a key is missing at {at}")
            parts.append(match.group(0))
            at = match.end()
    if not parts:
        raise ValueError("empty property path")
    return parts


def reset(path: list[str | int], old: Any, new: Any) -> bool:
    """Put `old`'s value at `path` into `new` (in place); False: the path exists on one side only."""
    if not path:
        return False
    key, rest = path[0], path[1:]
    if isinstance(key, int):
        if key < 0:
            return False
        both_lists = isinstance(old, list) and isinstance(new, list)
        if not rest:
            if not isinstance(old, list) and not isinstance(new, list):
                return True
            if not both_lists:
                return False
            if key >= len(old) and key >= len(new):
                return True
            if key >= len(old) or key >= len(new):
                return False
            new[key] = copy.deepcopy(old[key])
            return True
        if not both_lists:
            return not isinstance(old, list) and not isinstance(new, list)
        if key >= len(old) or key >= len(new):
            return False
        return reset(rest, old[key], new[key])
    if key == "*":
        return _reset_all(rest, old, new)
    if not rest:
        if isinstance(old, dict) and key in old:
            if not isinstance(new, dict):
                return False
            new[key] = copy.deepcopy(old[key])
        elif isinstance(new, dict):
            new.pop(key, None)
        return True
    if not isinstance(old, dict) or not isinstance(new, dict):
        return not isinstance(old, dict) and not isinstance(new, dict)
    if key in old and key not in new:
        return False
    if key not in old and key not in new:
        return True
    return reset(rest, old.get(key), new[key])


def _reset_all(rest: list[str | int], old: Any, new: Any) -> bool:
    if not rest:
        if isinstance(new, dict):
            if isinstance(old, dict):
                new.clear()
                new.update(copy.deepcopy(old))
            return True
        if isinstance(new, list):
            if isinstance(old, list):
                new[:min(len(old), len(new))] = copy.deepcopy(old[:len(new)])
                return len(old) == len(new)
            return True
        return False
    if isinstance(old, dict) and isinstance(new, dict):
        return all(key in new and reset(rest, value, new[key]) for key, value in old.items())
    if isinstance(old, list) and isinstance(new, list):
        return all(reset(rest, a, b) for a, b in zip(old, new, strict=False)) and len(old) == len(new)
    return False


def ignore_changes(news: dict, olds: dict, paths: list[str] | tuple[str, ...]) -> tuple[dict, list[str]]:
    """The program's inputs with each ignored path reset to its old value, and the paths the engine reports as
    "cannot ignore changes in added or removed elements of the path" (unparsable paths are skipped silently)."""
    ignored = copy.deepcopy(news)
    invalid = []
    for text in paths:
        try:
            path = parse(text)
        except ValueError:
            continue
        if not reset(path, olds, ignored):
            invalid.append(text)
    return ignored, invalid
