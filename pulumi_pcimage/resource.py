"""CustomImage: a ParallelCluster custom image as a Pulumi resource (program side).

Runs in the Pulumi program: resolves the API URL and the region, passes the resource's URN (the provider's check
derives the image id and owner from it), and hands everything to CustomImageProvider, which runs in the host.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Optional

import pulumi
import pulumi.dynamic

from . import config, endpoint
from .fields import FIELDS, USER_INPUTS
from .identity import derive_image_id  # noqa: F401  (public: pulumi_pcimage.derive_image_id)
from .provider import CustomImageProvider


# The resource's arguments, generated from the field table (one declaration per field).
CustomImageArgs = dataclasses.make_dataclass(
    "CustomImageArgs",
    [(f.name, Any) if f.required else (f.name, Any, dataclasses.field(default=None)) for f in USER_INPUTS],
    namespace={"__doc__": "Arguments of CustomImage; every field accepts a pulumi Input. See the README's "
                          "reference table (fields.reference_table_markdown())."},
)
CustomImageArgs.__module__ = __name__


def default_region(profile: str | None = None) -> str | None:
    """The region an image lives in when none is given: stack config `aws:region`, AWS_REGION, AWS_DEFAULT_REGION,
    else the region configured for the AWS profile (shared config file)."""
    found = (pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION")
             or os.environ.get("AWS_DEFAULT_REGION"))
    if found:
        return found
    import boto3
    import botocore.exceptions

    try:
        return boto3.Session(profile_name=profile).region_name or None
    except botocore.exceptions.BotoCoreError:  # an unknown profile: signing will say so with a better message
        return None


def _resolve_region(values: list[Any]) -> str | None:
    profile, api_url = values
    return default_region(profile) or endpoint.api_region(api_url or "")


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
        # The host unwraps secrets before the provider sees them: tell it, so its messages quote no values.
        props["secret_configuration"] = pulumi.Output.from_input(configuration.is_secret())
        if props["api_url"] is None:  # resolved here, in the program: fails preview clearly when unset
            props["api_url"] = endpoint.resolve_api_url(None, config=pulumi.Config(endpoint.NAMESPACE))
        else:
            props["api_url"] = pulumi.Output.from_input(props["api_url"]).apply(endpoint.normalize_api_url)
        if props["region"] is None:  # pinned in the program and kept in the state: never re-resolved later
            props["region"] = pulumi.Output.all(props["aws_profile"], props["api_url"]).apply(_resolve_region)
        # The URN (parent type chain included): the provider derives the owner marker and the image id from it.
        parent = opts.parent if opts is not None else None
        props["owner"] = pulumi.resource.create_urn(resource_name, f"pulumi-python:{self._resource_type_name}",
                                                    parent=parent)
        # Registered as outputs, filled by the provider.
        props.update({f.name: None for f in FIELDS if f.name not in props})
        super().__init__(CustomImageProvider(), resource_name, props, opts)


# Typed output properties, one per field (pulumi sets them on the instance from the registered props).
_PYTHON_TYPES = {str: str, bool: bool, float: float, list: list[str]}
CustomImage.__annotations__ = {f.name: pulumi.Output[_PYTHON_TYPES[f.type]] for f in FIELDS}
