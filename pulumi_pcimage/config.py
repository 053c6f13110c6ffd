"""The image configuration: YAML text or a dict in, one canonical text out, local validation.

Two configurations are "the same" exactly when their canonical texts are equal, so comments, key
order, quoting, whitespace and the form of a whole number (200 or 200.0) never cause a rebuild.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from typing import Any, TypeGuard

import yaml

from . import pcluster_schema
from .errors import ConfigError
from .walk import rebuild

PARENT_IMAGE_PATTERN = re.compile(r"^(ami-|arn:)")

# Markers the provider adds to Image.Tags (ParallelCluster reserves the "parallelcluster:" prefix): who built the
# image (a contract with images already built: never rename it) and which generation of that resource it is.
OWNER_TAG = "pulumi-pcimage:owner"
GENERATION_TAG = "pulumi-pcimage:generation"
MARKER_TAGS = (OWNER_TAG, GENERATION_TAG)


@dataclass(frozen=True)
class Problem:
    path: str  # dotted path inside the configuration, e.g. "Build.InstanceType"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # anchors would make equal configs print differently
        return True


# Far beyond any image configuration (a few KiB, six levels deep), and far below what costs real time or memory:
# YAML aliases can make a small text expand to gigabytes once the canonical form writes them out ("billion
# laughs", or one large scalar referred to by many aliases), and PyYAML, deepcopy and the dumper all recurse, so
# a few hundred levels of nesting exhaust the stack. Each limit is checked before the work it protects.
MAX_TEXT_CHARS = 1024 * 1024  # the YAML text, before parsing
MAX_EXPANDED_CHARS = 4 * 1024 * 1024  # keys and scalars once every alias is written out
MAX_NODES = 100_000  # values once every alias is written out
MAX_DEPTH = 64  # nested mappings and lists

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the pre-scan stays fast


class _Budget:
    """Counts the expanded size and the depth of a document as it is walked; ConfigError past a limit."""

    def __init__(self) -> None:
        self.chars = self.nodes = 0

    def add(self, chars: int, nodes: int) -> None:
        self.chars += chars
        self.nodes += nodes
        if self.chars > MAX_EXPANDED_CHARS:
            raise ConfigError(f"expands to more than {MAX_EXPANDED_CHARS:,} characters once its YAML aliases are "
                              "written out; no image configuration is that large")
        if self.nodes > MAX_NODES:
            raise ConfigError(f"expands to more than {MAX_NODES:,} values once its YAML aliases are written out; "
                              "no image configuration is that large")

    @staticmethod
    def depth(level: int) -> None:
        if level > MAX_DEPTH:
            raise _too_deep()


def _too_deep() -> ConfigError:
    return ConfigError(f"is nested more than {MAX_DEPTH} levels deep; image configurations need fewer than 10")


# libyaml 0.2.6 (in PyYAML's wheels from 6.0.4) stops at 1,000 levels of nesting itself, and its scanner reads a flow
# collection ahead to its end before the events the depth limit counts: that text is past our limit too.
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"


def _scan_text(text: str) -> None:
    """Size, expanded size and depth of YAML text from its event stream, before anything is built from it.

    The event parser is iterative, so this is safe on any input; an alias costs what its anchor expands to.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(f"is {len(text):,} characters long, more than the {MAX_TEXT_CHARS:,} allowed; image "
                          "configurations are a few thousand")
    budget = _Budget()
    anchors: dict[str, tuple[int, int]] = {}
    open_: list[list] = []  # per open collection: [anchor, chars, nodes]

    def close(anchor: str | None, chars: int, nodes: int) -> None:
        if anchor:
            anchors[anchor] = (chars, nodes)
        if open_:
            open_[-1][1] += chars
            open_[-1][2] += nodes

    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            open_.append([event.anchor, 1, 1])
            budget.add(1, 1)
            _Budget.depth(len(open_))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            close(*open_.pop())
        elif isinstance(event, yaml.ScalarEvent):
            budget.add(len(event.value) + 1, 1)
            close(event.anchor, len(event.value) + 1, 1)
        elif isinstance(event, yaml.AliasEvent):
            # an anchor still open refers to itself: load says so
            chars, nodes = anchors.get(event.anchor or "", (0, 0))
            budget.add(chars, nodes)
            close(None, chars, nodes)


def _check_expanded_size(doc: Any) -> None:
    """The same limits for a mapping given as is; an object met again (an alias) costs its size again."""
    budget = _Budget()
    sizes: dict[int, tuple[int, int]] = {}  # by id: computed once, counted at every occurrence
    open_: set[int] = set()  # entered, by id; a finished one is found in `sizes` first

    def size(node: Any, level: int) -> tuple[int, int]:
        if not isinstance(node, (dict, list)):
            cost = (len(node) if isinstance(node, str) else len(repr(node))) + 1, 1
            budget.add(*cost)
            return cost
        key = id(node)
        if key in sizes:
            budget.add(*sizes[key])
            return sizes[key]
        if key in open_:
            raise ConfigError("refers to itself (an alias *name inside its own anchor &name): it cannot be written out")
        _Budget.depth(level)
        open_.add(key)
        budget.add(1, 1)
        chars, nodes = 1, 1
        for child in [*node.keys(), *node.values()] if isinstance(node, dict) else node:
            child_chars, child_nodes = size(child, level + 1)
            chars, nodes = chars + child_chars, nodes + child_nodes
        sizes[key] = chars, nodes
        return chars, nodes

    size(doc, 1)


def load(value: str | dict) -> dict:
    """Parse YAML text (or deep-copy a dict) into a mapping; ConfigError says what is wrong.

    Sizes and depth are checked first (see MAX_TEXT_CHARS and the limits after it).
    """
    if isinstance(value, dict):
        _check_expanded_size(value)
        return copy.deepcopy(value)
    if not isinstance(value, str):
        raise ConfigError(f"must be YAML text or a mapping, got {type(value).__name__}")
    try:
        _scan_text(value)
        doc = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        if getattr(exc, "problem", None) == _LIBYAML_TOO_DEEP:
            raise _too_deep() from None
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"is not valid YAML: {exc}", public=f"is not valid YAML{where}: {problem}") from None
    if not isinstance(doc, dict):
        kind = "empty" if doc is None else f"a {type(doc).__name__}"
        raise ConfigError(f"must be a YAML mapping with at least a Build section, but it is {kind}")
    _check_expanded_size(doc)
    return doc


def dump(doc: dict) -> str:
    """Canonical YAML text of a mapping: sorted keys, no aliases, block style."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True)


def canonical(value: str | dict) -> str:
    """What two configurations are compared by. A number counts by its value: `Size: 200` in YAML text and the
    200.0 a mapping brings over the Pulumi wire (which carries every number as a double) are the same."""
    return dump(_whole_numbers(load(value)))


def _whole_numbers(node: Any) -> Any:
    """`node` with every integral float as an int (load has bounded the depth)."""
    return rebuild(node, lambda leaf: int(leaf) if isinstance(leaf, float) and leaf.is_integer() else leaf,
                   containers=(dict, list))


def canonical_json(value: str | dict) -> str:
    """The parsed document as sorted, compact JSON: what identities hash, independent of the YAML dumper's style."""
    return json.dumps(load(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


MAX_PROBLEMS = 20  # a screenful: a long list is mostly one mistake repeated (and each is a check failure)

# What the keys every configuration needs are for, added to "is required".
_REQUIRED_HINTS = {
    "Build": "a mapping with at least InstanceType and ParentImage",
    "Build.InstanceType": "the EC2 instance type that builds the image, e.g. c6i.xlarge",
    "Build.ParentImage": "an AMI id (ami-...) or an EC2 Image Builder image ARN (arn:...)",
}


def validate(doc: dict, region: str | None = None) -> list[Problem]:
    """Local checks that need no AWS: the whole released schema, with suggestions; the rest is the server's dry run."""
    problems = [Problem(path or "(configuration)", f"{message}: {_REQUIRED_HINTS[path]}"
                        if message == pcluster_schema.REQUIRED and path in _REQUIRED_HINTS else message)
                for path, message in pcluster_schema.problems(doc)]
    flagged = {p.path for p in problems}
    build = doc.get("Build")
    if isinstance(build, dict):
        instance_type, parent = build.get("InstanceType"), build.get("ParentImage")
        if "Build.InstanceType" not in flagged:
            if not _non_empty_str(instance_type):  # the schema takes "", AWS's validators would not
                problems.append(Problem("Build.InstanceType", f"{pcluster_schema.REQUIRED}: "
                                                              f"{_REQUIRED_HINTS['Build.InstanceType']}"))
            elif (typo := _instance_type_typo(instance_type)) is not None:
                problems.append(Problem("Build.InstanceType", typo))
        if isinstance(parent, str) and not PARENT_IMAGE_PATTERN.match(parent):  # stricter than the schema's ^ami|arn
            message = Problem("Build.ParentImage", f"{parent!r} must be an AMI id (ami-...) or an image ARN (arn:...)")
            problems = [message if p.path == message.path else p for p in problems]
            if message not in problems:
                problems.append(message)
    config_region = doc.get("Region")
    if config_region is not None and region and config_region != region:
        problems.append(Problem("Region", f"is {config_region!r} but the resource's region is {region!r}; "
                                          "remove Region from the configuration or make them equal"))
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS:] = [Problem("(configuration)", f"and {len(problems) - MAX_PROBLEMS} more problems")]
    return problems


# family.size with a size EC2 uses today: such a type is never reported, as it may be newer than botocore's list.
# Every type botocore lists has this shape (a test checks it on each botocore upgrade).
_WELL_FORMED_TYPE = re.compile(r"[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|xlarge|\d+xlarge|metal|metal-\d+xl)")


@functools.lru_cache(maxsize=1)
def _ec2_instance_types() -> frozenset[str]:
    """The instance types of botocore's EC2 model: a list that ships with what we depend on, for suggestions only."""
    try:
        import botocore.model
        import botocore.session
        shape = botocore.session.get_session().get_service_model("ec2").shape_for("InstanceType")
        return frozenset(shape.enum) if isinstance(shape, botocore.model.StringShape) else frozenset()
    except Exception:  # noqa: BLE001 - no list, no suggestion: the API's dry run still checks the type
        return frozenset()


def _instance_type_typo(value: str) -> str | None:
    """A message when `value` is surely a typo of a known instance type; None when it is known, or may be new."""
    if _WELL_FORMED_TYPE.fullmatch(value):
        return None
    known = _ec2_instance_types()
    if not known or value in known:
        return None
    family, dot, _ = value.partition(".")
    same_family = [t for t in known if t.startswith(family + ".")] if dot else []
    suggestion = pcluster_schema.closest(value, same_family or known, cutoff=0.8)
    return f"{value!r} is not a known EC2 instance type; did you mean {suggestion}?" if suggestion else None


def _non_empty_str(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _tags(doc: dict) -> list:
    image = doc.get("Image")
    return image.get("Tags") or [] if isinstance(image, dict) else []


def tag_of(doc: dict, key: str) -> str | None:
    """The value of one Image.Tags entry, if any."""
    for tag in _tags(doc):
        if isinstance(tag, dict) and tag.get("Key") == key:
            return str(tag.get("Value"))
    return None


def owner_of(doc: dict) -> str | None:
    """The ownership marker recorded in Image.Tags, if any."""
    return tag_of(doc, OWNER_TAG)


def with_owner(doc: dict, owner: str, generation: str | None = None) -> dict:
    """A copy of `doc` whose Image.Tags carry `owner` and `generation` (replacing any previous markers)."""
    doc = without_owner(doc)
    image = doc.setdefault("Image", {})
    markers = [{"Key": OWNER_TAG, "Value": owner}]
    if generation:
        markers.append({"Key": GENERATION_TAG, "Value": generation})
    image["Tags"] = [*(image.get("Tags") or []), *markers]
    return doc


def without_owner(doc: dict) -> dict:
    """A copy of `doc` without the provider's markers (and without the Tags/Image they alone created)."""
    doc = copy.deepcopy(doc)
    image = doc.get("Image")
    if not isinstance(image, dict) or "Tags" not in image:
        return doc
    tags = [t for t in image["Tags"] or [] if not (isinstance(t, dict) and t.get("Key") in MARKER_TAGS)]
    if tags:
        image["Tags"] = tags
    else:
        del image["Tags"]
        if not image:
            del doc["Image"]
    return doc
