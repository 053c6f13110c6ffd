"""CustomImage: a ParallelCluster custom image as a Pulumi resource (program side).

Runs in the Pulumi program: resolves the API URL and the region, passes the resource's URN (the provider's check
derives the image id and owner from it), and hands everything to CustomImageProvider, which runs in the host.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, overload

import pulumi
import pulumi.dynamic

from . import config, endpoint
from .fields import FIELDS, USER_INPUTS
from .provider import CustomImageProvider


@dataclasses.dataclass
class CustomImageArgs:
    """Arguments of CustomImage; every field accepts a Pulumi Input. The meaning of each is in docs/reference.md's
    reference table (rendered from `pulumi_pcimage.fields.FIELDS`; a test keeps the two equal)."""

    image_configuration: pulumi.Input[str | Mapping[str, Any]]
    image_id: pulumi.Input[str] | None = None
    region: pulumi.Input[str] | None = None
    api_url: pulumi.Input[str] | None = None
    aws_profile: pulumi.Input[str] | None = None
    role_arn: pulumi.Input[str] | None = None
    suppress_validators: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    validation_failure_level: pulumi.Input[str] | None = None
    rollback_on_failure: pulumi.Input[bool] | None = None
    force_delete: pulumi.Input[bool] | None = None
    build_timeout_minutes: pulumi.Input[float] | None = None
    delete_timeout_minutes: pulumi.Input[float] | None = None
    validate_on_preview: pulumi.Input[bool] | None = None
    keep_failed_image: pulumi.Input[bool] | None = None
    adopt_existing: pulumi.Input[bool] | None = None


def _resolve_region(values: list[Any]) -> str | None:
    profile, api_url = values
    return (endpoint.default_region(profile, pulumi.Config("aws").get("region"))
            or endpoint.api_region(api_url or ""))


ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def urn_of(name: str, type_: str, parent: pulumi.Resource | None) -> pulumi.Output[str]:
    """The URN the engine gives a resource of `type_` called `name` under `parent`, as an input of that resource.

    Not `pulumi.resource.create_urn(..., parent=parent)`: that reads `parent.urn`, an output of the parent, and an
    input depending on a component resource depends on all of the component's children, this resource among them
    (the SDK refuses: "circular dependency"). A URN is a name, not state: the parent's is known once the parent is
    registered, which the SDK awaits before registering any child anyway. So it is read here as a plain value and
    the URN carries no dependency. The string is the one `create_urn` forms, except under the stack resource
    itself, whose type the engine leaves out of its children's URNs (as it does for resources with no parent).
    """
    if parent is None:
        return pulumi.resource.create_urn(name, type_)
    parent_urn = parent.urn

    async def child_urn() -> str:
        urn = await parent_urn.future()
        assert isinstance(urn, str) and urn.count("::") >= 3, f"the parent of {name!r} has no URN ({urn!r})"
        stack, project, chain, _ = urn.split("::", 3)
        chain = "" if chain == ROOT_STACK_TYPE else f"{chain}$"
        return f"{stack}::{project}::{chain}{type_}::{name}"

    return pulumi.Output(set(), child_urn(), parent_urn.is_known())


def _as_yaml(value: Any) -> Any:
    return config.dump(value) if isinstance(value, dict) else value


class CustomImage(pulumi.dynamic.Resource, module="pcimage", name="CustomImage"):
    """A ParallelCluster custom image: built on create, replaced when its configuration or region changes.

    Every field of the table in `pulumi_pcimage.fields` is an output property of the same name.
    """

    # Inputs, as the provider checked them (defaults filled in, the configuration as YAML text).
    image_configuration: pulumi.Output[str]
    image_id: pulumi.Output[str]
    region: pulumi.Output[str]
    api_url: pulumi.Output[str]
    aws_profile: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    suppress_validators: pulumi.Output[list[str]]
    validation_failure_level: pulumi.Output[str]
    rollback_on_failure: pulumi.Output[bool]
    force_delete: pulumi.Output[bool]
    build_timeout_minutes: pulumi.Output[float]
    delete_timeout_minutes: pulumi.Output[float]
    validate_on_preview: pulumi.Output[bool]
    keep_failed_image: pulumi.Output[bool]
    adopt_existing: pulumi.Output[bool]
    owner: pulumi.Output[str]
    generation: pulumi.Output[str]
    secret_configuration: pulumi.Output[bool]
    # From the API.
    ami_id: pulumi.Output[str]
    ami_name: pulumi.Output[str]
    image_build_status: pulumi.Output[str]
    version: pulumi.Output[str]
    creation_time: pulumi.Output[str]
    architecture: pulumi.Output[str]

    @overload
    def __init__(self, resource_name: str, args: CustomImageArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None: ...

    @overload
    def __init__(self, resource_name: str, args: None = None, opts: pulumi.ResourceOptions | None = None, *,
                 image_configuration: pulumi.Input[str | Mapping[str, Any]],
                 image_id: pulumi.Input[str] | None = None,
                 region: pulumi.Input[str] | None = None,
                 api_url: pulumi.Input[str] | None = None,
                 aws_profile: pulumi.Input[str] | None = None,
                 role_arn: pulumi.Input[str] | None = None,
                 suppress_validators: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
                 validation_failure_level: pulumi.Input[str] | None = None,
                 rollback_on_failure: pulumi.Input[bool] | None = None,
                 force_delete: pulumi.Input[bool] | None = None,
                 build_timeout_minutes: pulumi.Input[float] | None = None,
                 delete_timeout_minutes: pulumi.Input[float] | None = None,
                 validate_on_preview: pulumi.Input[bool] | None = None,
                 keep_failed_image: pulumi.Input[bool] | None = None,
                 adopt_existing: pulumi.Input[bool] | None = None) -> None: ...

    def __init__(self, resource_name: str, args: CustomImageArgs | None = None,
                 opts: pulumi.ResourceOptions | None = None, **kwargs: Any) -> None:
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
        props["owner"] = urn_of(resource_name, f"pulumi-python:{self._resource_type_name}",
                                opts.parent if opts is not None else None)
        # Registered as outputs, filled by the provider.
        props.update({f.name: None for f in FIELDS if f.name not in props})
        super().__init__(CustomImageProvider(), resource_name, props, opts)
