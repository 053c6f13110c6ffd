"""The lifecycle's plain values: what the faces pass in and get back (results, hooks), the settings read from
a resource's inputs, the outputs built from a describe answer, and the comparisons check, diff and build share."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pulumi.output import Unknown

from .. import config
from ..fields import BY_NAME, INPUTS, OUTPUTS_ONLY, Field
from ..walk import leaves


log = logging.getLogger("pulumi_pcimage")
PROVIDER_KEY = "__provider"  # the dynamic provider's own property: not an input of CustomImage
# Statuses of an image on its way out: refresh drops it, and the next `pulumi up` builds it again.
GOING = ("DELETE_IN_PROGRESS", "DELETE_COMPLETE")
# The status a partly created resource is kept with (a create that timed out or was cancelled): the next update
# resumes waiting for that build.
UNFINISHED = "BUILD_IN_PROGRESS"
LOG_TAIL_LINES = 20
# gRPC drops an error whose text passes 16 KB (the host answers RESOURCE_EXHAUSTED and the reason is lost).
LOG_LINE_CHARS = 300


@dataclass(frozen=True)
class Failure:
    """A check failure: the property it is about and why."""

    property: str
    reason: str


@dataclass
class Checked:
    inputs: dict[str, Any]
    failures: list[Failure] = field(default_factory=list)


@dataclass
class Plan:
    """What a change of inputs means: nothing, an update in place, or a replacement (and in which order)."""

    changes: bool
    replaces: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    # Where inside the image configuration it changed: "Build.InstanceType" -> "add" | "delete" | "update"
    # (filled when the configuration forces the replacement and both sides are mappings: a path never points into
    # YAML text, which changes as a whole).
    configuration_paths: dict[str, str] = field(default_factory=dict)


@dataclass
class Hooks:
    """What a face that can offer more than the dynamic host passes in (all optional; the defaults change nothing).

    - `progress(phase, described, elapsed)`: every describe answer while waiting (phase "build" or "delete").
    - `cancel`: once set, waits end within seconds (the engine's Cancel); the operation goes on server-side.
    - `create_timeout` / `delete_timeout`: seconds (the engine's customTimeouts), instead of the inputs' minutes.
    """

    progress: Callable[[str, dict | None, float], None] | None = None
    cancel: threading.Event | None = None
    create_timeout: float | None = None
    delete_timeout: float | None = None


def is_unknown(value: Any) -> bool:
    """Unknown during preview, wholly or anywhere inside (a list or mapping holding an unknown).

    Iterative: a hostile mapping nested thousands deep must reach config.load's clear refusal, not a RecursionError.
    """
    return any(isinstance(item, Unknown) for item in leaves(value))


@dataclass(frozen=True)
class Settings:
    """A resource's inputs as the lifecycle reads them: one attribute per input field of the field table
    (`fields.INPUTS`, in its order; tests/unit/test_fields.py holds them equal), defaults filled in, numbers
    normalised. Check has made sure of the values before any operation reads them (image_id and region are set)."""

    image_configuration: Any  # YAML text, or a mapping
    image_id: str
    region: str
    api_url: str | None
    aws_profile: str | None
    role_arn: str | None
    suppress_validators: list[str]
    validation_failure_level: str
    rollback_on_failure: bool
    force_delete: bool
    build_timeout_minutes: float
    delete_timeout_minutes: float
    validate_on_preview: bool
    keep_failed_image: bool
    adopt_existing: bool
    owner: str | None
    generation: str | None
    secret_configuration: bool

    def as_dict(self) -> dict[str, Any]:
        """The settings as the field table names them (what `outputs` starts from)."""
        return {f.name: getattr(self, f.name) for f in INPUTS}


def settings(props: dict) -> Settings:
    """Every input field of `props`, defaults filled in and numbers normalised."""
    values = {}
    for f in INPUTS:
        value = props.get(f.name)
        values[f.name] = f.normalise(f.default if value is None else value)
    return Settings(**values)


def outputs(inputs: dict[str, Any], described: dict | None) -> dict[str, Any]:
    """The resource's outputs: its inputs (diff receives old outputs) plus what describe_image says.

    The single describe→outputs mapping, used by create, adoption, read and update alike.
    """
    outs = {f.name: v for f in INPUTS if (v := inputs.get(f.name)) is not None}
    if isinstance(described, dict) and described.get("region"):  # where the image really is, as the API says
        outs["region"] = described["region"]
    for f in OUTPUTS_ONLY:
        value: Any = described
        for key in f.source:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            outs[f.name] = value
    return outs


# Inputs derived from others by check: never a reason for a change by themselves.
DERIVED = ("owner", "generation")


def canonical_or_none(value: Any) -> str | None:
    if value is None or is_unknown(value):
        return None
    try:
        return config.canonical(value)
    except config.ConfigError:
        return None


def same_value(f: Field, old: Any, new: Any) -> bool:
    if f.name == "image_configuration":
        old_c, new_c = canonical_or_none(old), canonical_or_none(new)
        return old == new if old_c is None or new_c is None else old_c == new_c
    return f.normalise(old) == f.normalise(new)


def build_doc(s: Settings, *, dryrun: bool = False) -> dict:
    """The configuration as sent to build_image: the user's, with this resource's owner and generation tags.

    A dry run carries a placeholder of the same length for the generation, so its answer can be cached."""
    doc = config.load(s.image_configuration)
    generation = "0" * len(s.generation or "") if dryrun else s.generation
    return config.with_owner(doc, s.owner, generation) if s.owner else doc


def same_build(old: dict, new: dict) -> bool:
    """Would `old` (inputs in the state) and `new` (checked inputs) build the same image?"""
    if canonical_or_none(old.get("image_configuration")) is None:
        return False
    old_region = old.get("region")
    # State written before regions were pinned holds None ("whatever the host resolved"): not a reason to rebuild.
    return same_value(BY_NAME["image_configuration"], old.get("image_configuration"), new.get("image_configuration")) \
        and (old_region is None or old_region == new.get("region"))


def unusable(olds: dict) -> list[str]:
    """The outputs that say a refreshed image can no longer be used (empty when it can, or nobody looked)."""
    status = olds.get("image_build_status")
    if status is None or status == UNFINISHED:
        return []
    if status != "BUILD_COMPLETE":
        return ["image_build_status"]
    return [] if olds.get("ami_id") else ["ami_id"]
