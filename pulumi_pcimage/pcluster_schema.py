"""What ParallelCluster accepts as an image configuration: every key at every level, with its type.

The data, `pcluster_schema.json`, is generated from the released aws-parallelcluster package's own marshmallow
schemas (`pcluster/schemas/imagebuilder_schema.py`) by `scripts/generate_config_schema.py`; a test regenerates
it and compares. This module only reads it and imports nothing else from this package, so the provider side and
the emulator can both use it. The rules mirror marshmallow's: mappings refuse unknown keys, integers also accept
numeric text, booleans also accept marshmallow's true/false words, patterns are applied with `re.match`.
A key the schema lets pass but the class built from it cannot do without is required too (`"required_by":
"constructor"`: AWS fails such a request after its schema accepted it). Checks that the schema makes in code
(reserved tag prefixes, security group ids, ...) are left to the API.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from pathlib import Path
from typing import Any
from collections.abc import Iterable

_DATA: dict[str, Any] = json.loads(Path(__file__).with_name("pcluster_schema.json").read_text(encoding="utf-8"))
VERSION: str = _DATA["version"]  # the aws-parallelcluster release the data comes from
SCHEMAS: dict[str, dict[str, dict[str, Any]]] = _DATA["schemas"]  # schema name -> key -> field description
ROOT: str = _DATA["root"]
_TRUE, _FALSE = frozenset(_DATA["booleans"]["true"]), frozenset(_DATA["booleans"]["false"])

REQUIRED = "is required"  # the message of a missing required key (callers may add what the key is for)
_EXPECTED = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
             "object": "a mapping", "list": "a list", "mapping": "a mapping"}


def problems(doc: Any) -> list[tuple[str, str]]:
    """Every way `doc` breaks the schema, as (dotted path, message), in document order.

    Paths name keys and list positions, e.g. `Build.UpdateOsPackage`, `Image.Tags[0].Key`; a problem with the
    document itself has the path `""`. Messages quote a value only where the rule is about the value.
    """
    found: list[tuple[str, str]] = []
    _check_object(doc, ROOT, "", found)
    return found


def closest(word: str, choices: Iterable[str], cutoff: float = 0.75) -> str | None:
    """The choice `word` most likely meant: equal but for case, else the closest by difflib's ratio."""
    by_lower = {choice.lower(): choice for choice in choices}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[match[0]] if match else None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    for kind, words in ((dict, "a mapping"), (list, "a list"), (str, "a string"), (int, "an integer"),
                        (float, "a number")):
        if isinstance(value, kind):
            return words
    return f"a {type(value).__name__}"


def _check_object(value: Any, schema: str, path: str, found: list[tuple[str, str]]) -> None:
    spec = SCHEMAS[schema]
    if not isinstance(value, dict):
        found.append((path, f"must be a mapping (with {', '.join(spec)}), got {_kind(value)}"))
        return
    for key, item in value.items():
        if isinstance(key, str) and key in spec:
            _check_value(item, spec[key], _join(path, key), found)
            continue
        close = closest(str(key), spec)
        found.append((_join(path, str(key)), f"unknown key; did you mean {close}?" if close
                      else f"unknown key; allowed keys are {', '.join(spec)}"))
    found += [(_join(path, key), REQUIRED) for key, field in spec.items() if field.get("required") and key not in value]


def _check_value(value: Any, field: dict[str, Any], path: str, found: list[tuple[str, str]]) -> None:
    kind = field["type"]
    if value is None:  # `Key:` with nothing after it
        if not field.get("nullable"):
            found.append((path, REQUIRED if field.get("required") else
                          f"is empty: give it {_EXPECTED[kind]} or remove the key"))
        return
    if kind == "object":
        _check_object(value, field["schema"], path, found)
        return
    if kind == "list":
        if not isinstance(value, list):
            found.append((path, f"must be a list, got {_kind(value)}"))
            return
        _check_length(value, field, path, found, "items")
        for index, item in enumerate(value):
            _check_value(item, field["items"], f"{path}[{index}]", found)
        return
    if not _is_a(kind, field, value):
        found.append((path, f"must be {_EXPECTED[kind]}, got {_kind(value)}"))
        return
    if isinstance(value, str):
        if "enum" in field and value not in field["enum"]:
            found.append((path, f"{value!r} is not one of {', '.join(map(str, field['enum']))}"))
        if "pattern" in field and not re.match(field["pattern"], value):
            found.append((path, f"{value!r} does not match {field['pattern']}"))
        _check_length(value, field, path, found, "characters")
    if kind in ("integer", "number") and not isinstance(value, str):
        if "minimum" in field and value < field["minimum"]:
            found.append((path, f"must be at least {field['minimum']}, got {value}"))
        if "maximum" in field and value > field["maximum"]:
            found.append((path, f"must be at most {field['maximum']}, got {value}"))


def _check_length(value: Any, field: dict[str, Any], path: str, found: list[tuple[str, str]], unit: str) -> None:
    if "min_length" in field and len(value) < field["min_length"]:
        found.append((path, f"must have at least {field['min_length']} {unit}, got {len(value)}"))
    if "max_length" in field and len(value) > field["max_length"]:
        found.append((path, f"must have at most {field['max_length']} {unit}, got {len(value)}"))


def _is_a(kind: str, field: dict[str, Any], value: Any) -> bool:
    if kind == "mapping":
        return isinstance(value, dict)
    if kind == "string":
        return isinstance(value, (str, bytes))
    if kind == "boolean":
        return isinstance(value, bool) or (isinstance(value, (str, int, float)) and (value in _TRUE or value in _FALSE))
    if isinstance(value, bool):  # marshmallow's numbers refuse true/false
        return False
    if isinstance(value, (int, float)):
        return (isinstance(value, int) or math.isfinite(value)) if kind == "number" or not field.get("strict") \
            else isinstance(value, int)
    if isinstance(value, str) and not field.get("strict"):  # "50" is a valid Size
        try:
            (int if kind == "integer" else float)(value)
        except ValueError:
            return False
        return True
    return False
