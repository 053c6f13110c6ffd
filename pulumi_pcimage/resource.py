"""CustomImage: a ParallelCluster custom image as a Pulumi resource (program side).

Runs in the Pulumi program: resolves the API URL and the region, derives the image id when none is
given, and hands everything to CustomImageProvider, which runs in the provider host.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from typing import Any, Optional

import pulumi
import pulumi.dynamic

from . import config, endpoint
from .fields import FIELDS, IMAGE_ID_PATTERN, OUTPUTS_ONLY, USER_INPUTS
from .provider import CustomImageProvider

HASH_CHARS = 10
_MAX_ID = 128

# The resource's arguments, generated from the field table (one declaration per field).
CustomImageArgs = dataclasses.make_dataclass(
    "CustomImageArgs",
    [(f.name, Any) if f.required else (f.name, Any, dataclasses.field(default=None)) for f in USER_INPUTS],
    namespace={"__doc__": "Arguments of CustomImage; every field accepts a pulumi Input. See the README's "
                          "reference table (fields.reference_table_markdown())."},
)
CustomImageArgs.__module__ = __name__


def derive_image_id(resource_name: str, configuration: str | dict, region: str | None, project: str,
                    stack: str) -> str:
    """`<resource name, sanitised>-<10 hex>`: stable while nothing changes, new exactly when a replacement is due.

    The hash covers what forces a replacement (configuration, region) plus project and stack, so two
    stacks never fight over one id.
    """
    try:
        text = config.canonical(configuration)
    except config.ConfigError:
        text = str(configuration)  # the provider's check reports the problem with a clearer message
    digest = hashlib.sha256(json.dumps([text, region or "", project, stack]).encode()).hexdigest()[:HASH_CHARS]
    stem = re.sub(r"[^a-zA-Z0-9]+", "-", resource_name).strip("-")
    if not stem[:1].isalpha():
        stem = f"img-{stem}".rstrip("-")
    stem = stem[:_MAX_ID - HASH_CHARS - 1].rstrip("-")
    image_id = f"{stem}-{digest}"
    assert re.match(IMAGE_ID_PATTERN, image_id), image_id
    return image_id


def default_region() -> str | None:
    return (pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION") or None)


def _as_yaml(value: Any) -> Any:
    return config.dump(value) if isinstance(value, dict) else value


class CustomImage(pulumi.dynamic.Resource, module="pcimage", name="CustomImage"):
    """A ParallelCluster custom image: built on create, replaced when its configuration or region changes.

    Every field of the table in `pulumi_pcimage.fields` is an output property of the same name
    (`ami_id`, `image_id`, `image_build_status`, ...).
    """

    def __init__(self, resource_name: str, args: Optional[Any] = None,
                 opts: Optional[pulumi.ResourceOptions] = None, **kwargs: Any) -> None:
        if args is None:
            args = CustomImageArgs(**kwargs)
        elif kwargs:
            args = dataclasses.replace(args, **kwargs)
        props: dict[str, Any] = {f.name: getattr(args, f.name) for f in USER_INPUTS}

        configuration = pulumi.Output.from_input(args.image_configuration).apply(_as_yaml)
        props["image_configuration"] = configuration
        if props["region"] is None:
            props["region"] = default_region()
        if props["api_url"] is None:  # resolved here, in the program: fails preview clearly when unset
            props["api_url"] = endpoint.resolve_api_url(None, config=pulumi.Config(endpoint.NAMESPACE))
        else:
            props["api_url"] = pulumi.Output.from_input(props["api_url"]).apply(endpoint.normalize_api_url)
        project, stack = pulumi.get_project(), pulumi.get_stack()
        if props["image_id"] is None:
            props["image_id"] = pulumi.Output.all(configuration, props["region"]).apply(
                lambda values: derive_image_id(resource_name, values[0], values[1], project, stack))
        props["owner"] = f"{project}/{stack}/{resource_name}"
        props.update({f.name: None for f in OUTPUTS_ONLY})  # registered as outputs, filled by the provider
        super().__init__(CustomImageProvider(), resource_name, props, opts)


# Typed output properties, one per field (pulumi sets them on the instance from the registered props).
_PYTHON_TYPES = {str: str, bool: bool, float: float, list: list[str]}
CustomImage.__annotations__ = {f.name: pulumi.Output[_PYTHON_TYPES[f.type]] for f in FIELDS}
