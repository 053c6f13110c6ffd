"""The image configuration: YAML text or a dict in, one canonical text out, local validation.

Two configurations are "the same" exactly when their canonical texts are equal, so comments, key
order, quoting and whitespace never cause a rebuild.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

# Top-level sections of ParallelCluster's image builder config (pcluster/schemas/imagebuilder_schema.py,
# ImageBuilderSchema: image, build, dev_settings, config_region -> "Region", custom_s3_bucket,
# deployment_settings; field names are PascalCase on the wire).
TOP_LEVEL_KEYS = ("Build", "CustomS3Bucket", "DeploymentSettings", "DevSettings", "Image", "Region")
PARENT_IMAGE_PATTERN = re.compile(r"^(ami-|arn:)")

# Markers the provider adds to Image.Tags (ParallelCluster reserves the "parallelcluster:" prefix): who built the
# image (a contract with images already built: never rename it) and which generation of that resource it is.
OWNER_TAG = "pulumi-pcimage:owner"
GENERATION_TAG = "pulumi-pcimage:generation"
MARKER_TAGS = (OWNER_TAG, GENERATION_TAG)


class ConfigError(ValueError):
    """The configuration is not YAML describing a mapping. `public` says the same without quoting the text."""

    def __init__(self, message: str, public: str | None = None):
        super().__init__(message)
        self.public = public or message


@dataclass(frozen=True)
class Problem:
    path: str  # dotted path inside the configuration, e.g. "Build.InstanceType"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # anchors would make equal configs print differently
        return True


# Far beyond any image configuration: YAML aliases can make a small text expand to millions of nodes when the
# canonical form writes them out ("billion laughs"), so the expanded size is counted before anything is dumped.
MAX_NODES = 100_000


def _check_expanded_size(doc: Any) -> None:
    sizes: dict[int, int] = {}  # by id: an alias is the same object, counted again but computed once
    open_: set[int] = set()

    def size(node: Any) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise ConfigError("refers to itself (an alias *name inside its own anchor &name): it cannot be written out")
        open_.add(key)
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        total = 1 + sum(size(child) for child in children)
        open_.discard(key)
        sizes[key] = total
        if total > MAX_NODES:
            raise ConfigError(f"expands to more than {MAX_NODES:,} values once its YAML aliases are written out; "
                              "no image configuration is that large")
        return total

    size(doc)


def load(value: str | dict) -> dict:
    """Parse YAML text (or deep-copy a dict) into a mapping; ConfigError says what is wrong."""
    if isinstance(value, dict):
        _check_expanded_size(value)
        return copy.deepcopy(value)
    if not isinstance(value, str):
        raise ConfigError(f"must be YAML text or a mapping, got {type(value).__name__}")
    try:
        doc = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"is not valid YAML: {exc}",
                          public=f"is not valid YAML{where}: {getattr(exc, 'problem', None) or 'syntax error'}") from None
    except RecursionError:  # PyYAML parses recursively: a few hundred levels of nesting exhaust the stack
        raise ConfigError("is nested too deeply to be read: no image configuration needs hundreds of levels") from None
    if not isinstance(doc, dict):
        kind = "empty" if doc is None else f"a {type(doc).__name__}"
        raise ConfigError(f"must be a YAML mapping with at least a Build section, but it is {kind}")
    _check_expanded_size(doc)
    return doc


def dump(doc: dict) -> str:
    """Canonical YAML text of a mapping: sorted keys, no aliases, block style."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True)


def canonical(value: str | dict) -> str:
    return dump(load(value))


def canonical_json(value: str | dict) -> str:
    """The parsed document as sorted, compact JSON: what identities hash, independent of the YAML dumper's style."""
    return json.dumps(load(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def validate(doc: dict, region: str | None = None) -> list[Problem]:
    """Local checks that need no AWS: the rest is the server's dry run."""
    problems = [Problem(str(key), f"unknown top-level key; allowed keys are {', '.join(TOP_LEVEL_KEYS)}")
                for key in doc if key not in TOP_LEVEL_KEYS]
    build = doc.get("Build")
    if not isinstance(build, dict):
        problems.append(Problem("Build", "is required: a mapping with at least InstanceType and ParentImage"))
    else:
        if not _non_empty_str(build.get("InstanceType")):
            problems.append(Problem("Build.InstanceType", "is required: the EC2 instance type that builds the "
                                                          "image, e.g. c6i.xlarge"))
        parent = build.get("ParentImage")
        if not _non_empty_str(parent):
            problems.append(Problem("Build.ParentImage", "is required: an AMI id (ami-...) or an EC2 Image "
                                                         "Builder image ARN (arn:...)"))
        elif not PARENT_IMAGE_PATTERN.match(parent):
            problems.append(Problem("Build.ParentImage", f"{parent!r} must be an AMI id (ami-...) or an image "
                                                         "ARN (arn:...)"))
    image = doc.get("Image")
    if image is not None and not isinstance(image, dict):
        problems.append(Problem("Image", "must be a mapping (Name, Tags, RootVolume)"))
    config_region = doc.get("Region")
    if config_region is not None and region and config_region != region:
        problems.append(Problem("Region", f"is {config_region!r} but the resource's region is {region!r}; "
                                          "remove Region from the configuration or make them equal"))
    return problems


def _non_empty_str(value: Any) -> bool:
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
