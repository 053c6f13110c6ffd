"""Program-side functions: official parent images, existing custom images, one image described.

Dynamic providers cannot serve invokes, so these run in the Pulumi program itself (during preview too). Each
comes as Pulumi's usual pair: ``get_x(...)`` takes plain values and returns typed results; ``get_x_output(...)``
takes Inputs and returns an Output. Like Pulumi's own output-form invokes, the Output stays unknown (and nothing
is called) while any argument is unknown or depends on a resource that does not exist yet, as in a preview of a
new image.

The endpoint and region are resolved as CustomImage resolves them; requests go through ParallelClusterClient,
so retries and typed errors (`pulumi_pcimage.errors`) are the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

import pulumi

from . import endpoint
from .fields import ARCHITECTURES, BY_NAME, IMAGE_BUILD_STATUSES, IMAGE_ID_PATTERN
from .lifecycle import ApiClient, HostState

# Filter values the released API (aws-parallelcluster 3.16.1, pcluster/constants.py) accepts for list_official_images;
# the spec itself leaves them as free strings and the server answers 400 for others.
SUPPORTED_OSES = ("alinux2023", "ubuntu2204", "ubuntu2404", "rhel8", "rocky8", "rhel9", "rocky9")
SUPPORTED_ARCHITECTURES = ARCHITECTURES
IMAGE_STATUSES = ("AVAILABLE", "PENDING", "FAILED")  # ImageStatusFilteringOption

T = TypeVar("T")

# The clients of this program's get_* calls: the program side's own state (a program is one process).
_host = HostState()


def forget_clients() -> None:
    """Drop the clients the get_* functions built: the next call builds new ones and reads credentials afresh."""
    global _host
    _host = HostState()


class _Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]


D = TypeVar("D", bound=_Dataclass)


# ---------------------------------------------------------------- typed results

def _source(*path: str, doc: str, convert: Callable[[Any], Any] | None = None, choices: tuple[str, ...] = (),
            **kwargs: Any) -> Any:
    """A result field read from `path` in the API's answer (optionally converted); absent keys give None.
    `doc` describes it (the package schema's description, in any language's words); `choices` are the values
    the API gives (an enumeration in the package schema)."""
    kwargs.setdefault("default", None)
    return field(metadata={"source": path, "convert": convert, "doc": doc, "choices": choices}, **kwargs)


def _tags(items: Any) -> dict[str, str]:
    return {str(t.get("key")): str(t.get("value")) for t in items or [] if isinstance(t, dict)}


def _from_api(cls: type[D], body: Mapping[str, Any]) -> D:
    values = {}
    for f in dataclasses.fields(cls):
        value: Any = body
        for key in f.metadata["source"]:
            value = value.get(key) if isinstance(value, Mapping) else None
        convert = f.metadata["convert"]
        values[f.name] = convert(value) if convert else value
    return cls(**values)


# A field typed without None is one the API always gives (the spec's `required`): required in the package schema.

@dataclass(frozen=True)
class OfficialImage:
    """An official ParallelCluster AMI, usable as `Build.ParentImage`."""

    ami_id: str = _source("amiId", doc="The AMI id.")
    name: str = _source("name", doc="The AMI name (it ends with the build date).")
    os: str = _source("os", doc="The operating system.")
    architecture: str = _source("architecture", doc="The architecture.", choices=ARCHITECTURES)
    version: str = _source("version", doc="The ParallelCluster version the AMI is for.")


_IMAGE_ID = "The image id."
_BUILD_STATUS = "The image build status."
_REGION = "The AWS region of the image."
_VERSION = "The ParallelCluster version that built the image."
_STACK_STATUS = "The status of the image's build stack (CloudFormation), while it exists."
_STACK_ARN = "The ARN of the image's build stack (CloudFormation), while it exists."


@dataclass(frozen=True)
class ImageSummary:
    """One custom image as `list_images` shows it; `ami_id` only once the build is complete."""

    image_id: str = _source("imageId", doc=_IMAGE_ID)
    image_build_status: str = _source("imageBuildStatus", doc=_BUILD_STATUS, choices=IMAGE_BUILD_STATUSES)
    region: str = _source("region", doc=_REGION)
    version: str = _source("version", doc=_VERSION)
    ami_id: str | None = _source("ec2AmiInfo", "amiId", doc="The AMI id, once the build is complete.")
    cloudformation_stack_status: str | None = _source("cloudformationStackStatus", doc=_STACK_STATUS)
    cloudformation_stack_arn: str | None = _source("cloudformationStackArn", doc=_STACK_ARN)


@dataclass(frozen=True)
class ImageInfo:
    """One custom image as `get_image` describes it, without the presigned configuration URL."""

    image_id: str = _source("imageId", doc=_IMAGE_ID)
    image_build_status: str = _source("imageBuildStatus", doc=_BUILD_STATUS, choices=IMAGE_BUILD_STATUSES)
    region: str = _source("region", doc=_REGION)
    version: str = _source("version", doc=_VERSION)
    ami_id: str | None = _source("ec2AmiInfo", "amiId", doc="The AMI id, once the build is complete.")
    ami_name: str | None = _source("ec2AmiInfo", "amiName", doc="The AMI name.")
    ami_state: str | None = _source("ec2AmiInfo", "state", doc="The EC2 state of the AMI (`AVAILABLE`, ...).")
    ami_description: str | None = _source("ec2AmiInfo", "description", doc="The AMI description.")
    architecture: str | None = _source("ec2AmiInfo", "architecture", doc="The AMI architecture.",
                                       choices=ARCHITECTURES)
    ami_tags: dict[str, str] = _source("ec2AmiInfo", "tags", convert=_tags, hash=False,
                                       doc="The AMI tags, by key (empty before the AMI exists).")
    creation_time: str | None = _source("creationTime", doc="When the image was created (ISO 8601).")
    image_build_logs_arn: str | None = _source("imageBuildLogsArn", doc="The ARN of the build's log group.")
    cloudformation_stack_status: str | None = _source("cloudformationStackStatus", doc=_STACK_STATUS)
    cloudformation_stack_status_reason: str | None = _source(
        "cloudformationStackStatusReason", doc="Why the build stack has its status (a failed build's reason).")
    cloudformation_stack_arn: str | None = _source("cloudformationStackArn", doc=_STACK_ARN)
    cloudformation_stack_creation_time: str | None = _source(
        "cloudformationStackCreationTime", doc="When the build stack was created (ISO 8601).")
    cloudformation_stack_tags: dict[str, str] = _source("cloudformationStackTags", convert=_tags, hash=False,
                                                        doc="The build stack's tags, by key.")
    imagebuilder_image_status: str | None = _source("imagebuilderImageStatus",
                                                    doc="The EC2 Image Builder status while the image builds.")
    imagebuilder_image_status_reason: str | None = _source(
        "imagebuilderImageStatusReason", doc="Why EC2 Image Builder gives that status.")


# ---------------------------------------------------------------- arguments and the client

def _check(function: str, name: str, value: Any, *, choices: tuple[str, ...] = (), pattern: str | None = None,
           required: bool = False) -> None:
    """Raise ValueError naming the function, the argument and the rule when `value` breaks it."""
    if isinstance(value, pulumi.Output):
        raise ValueError(f"{function}: {name} is a pulumi Output; pass plain values, or use {function}_output, "
                         "which takes Inputs")
    if value is None:
        if required:
            raise ValueError(f"{function}: {name} is required")
        return
    if not isinstance(value, str):
        raise ValueError(f"{function}: {name} must be a string, got {value!r}")
    if choices and value not in choices:
        raise ValueError(f"{function}: {name} {value!r} is not one of the allowed values: {', '.join(choices)}")
    if pattern and not re.match(pattern, value):
        raise ValueError(f"{function}: {name} {value!r} must match {pattern}")


def _client(function: str, region: str | None, api_url: str | None, aws_profile: str | None,
            role_arn: str | None) -> ApiClient:
    """The shared client for these settings; the endpoint and default region are resolved as CustomImage's.

    The client is built for the default region, not `region`: for an API whose host name does not tell its
    region (a custom domain, the emulator) that is the region to sign for, while `region` only says where the
    images are and is sent with each call.
    """
    for name, value in (("region", region), ("api_url", api_url), ("aws_profile", aws_profile),
                        ("role_arn", role_arn)):
        _check(function, name, value, pattern=BY_NAME[name].pattern)
    url = endpoint.resolve_api_url(api_url, config=pulumi.Config(endpoint.NAMESPACE))
    return _host.client(url, endpoint.default_region(None, pulumi.Config("aws").get("region")), aws_profile, role_arn)


def _invoke_output(function: Callable[..., T], args: dict[str, Any]) -> pulumi.Output[T]:
    """`function(**args)` once every argument is known and every resource they come from exists.

    Pulumi's output-form invokes behave the same: a preview of a new resource gives an unknown result instead of
    asking the API about something that has not been built. The call runs on a worker thread, so the program keeps
    registering resources meanwhile.
    """
    inputs = pulumi.Output.all(**args)

    def when_known(values: dict[str, Any]) -> pulumi.Output[T]:
        async def dependencies_exist() -> bool:
            for resource in await inputs.resources():
                if isinstance(resource, pulumi.CustomResource) and not await resource.id.is_known():
                    return False
            return True

        ready = asyncio.ensure_future(dependencies_exist())

        async def result() -> T | None:
            if not await ready:
                return None
            # to_thread copies the context: the program's stack config (pcimage:apiUrl) lives in a ContextVar
            return await asyncio.to_thread(functools.partial(function, **values))

        # pulumi's Output.__init__ types the value as Awaitable[T], but an unknown output's value is None (as the
        # SDK's own Output.from_input and apply make them)
        return pulumi.Output(set(), result(), ready)  # type: ignore[arg-type]

    return inputs.apply(when_known)


# ---------------------------------------------------------------- the functions

def get_official_images(*, os: str | None = None, architecture: str | None = None, region: str | None = None,
                        api_url: str | None = None, aws_profile: str | None = None,
                        role_arn: str | None = None) -> list[OfficialImage]:
    """The official ParallelCluster AMIs of the region, optionally only one OS and/or architecture."""
    _check("get_official_images", "os", os, choices=SUPPORTED_OSES)
    _check("get_official_images", "architecture", architecture, choices=SUPPORTED_ARCHITECTURES)
    client = _client("get_official_images", region, api_url, aws_profile, role_arn)
    answer = client.describe_official_images(region=region, os=os, architecture=architecture)
    return [_from_api(OfficialImage, image) for image in answer.get("images") or []]


def get_official_images_output(*, os: pulumi.Input[str] | None = None,
                               architecture: pulumi.Input[str] | None = None,
                               region: pulumi.Input[str] | None = None, api_url: pulumi.Input[str] | None = None,
                               aws_profile: pulumi.Input[str] | None = None,
                               role_arn: pulumi.Input[str] | None = None) -> pulumi.Output[list[OfficialImage]]:
    return _invoke_output(get_official_images, dict(os=os, architecture=architecture, region=region,
                                                    api_url=api_url, aws_profile=aws_profile, role_arn=role_arn))


def list_images(image_status: str, *, region: str | None = None, api_url: str | None = None,
                aws_profile: str | None = None, role_arn: str | None = None) -> list[ImageSummary]:
    """Every custom image of the region with this status (AVAILABLE, PENDING or FAILED), across all pages."""
    _check("list_images", "image_status", image_status, choices=IMAGE_STATUSES, required=True)
    client = _client("list_images", region, api_url, aws_profile, role_arn)
    return [_from_api(ImageSummary, image) for image in client.iter_images(image_status, region=region)]


def list_images_output(image_status: pulumi.Input[str], *, region: pulumi.Input[str] | None = None,
                       api_url: pulumi.Input[str] | None = None, aws_profile: pulumi.Input[str] | None = None,
                       role_arn: pulumi.Input[str] | None = None) -> pulumi.Output[list[ImageSummary]]:
    return _invoke_output(list_images, dict(image_status=image_status, region=region, api_url=api_url,
                                            aws_profile=aws_profile, role_arn=role_arn))


def get_image(image_id: str, *, region: str | None = None, api_url: str | None = None,
              aws_profile: str | None = None, role_arn: str | None = None) -> ImageInfo:
    """One custom image, described; it fails when no image has this id (the API answers 404).

    In Python the failure is `pulumi_pcimage.errors.NotFoundError`."""
    _check("get_image", "image_id", image_id, pattern=IMAGE_ID_PATTERN, required=True)
    client = _client("get_image", region, api_url, aws_profile, role_arn)
    return _from_api(ImageInfo, client.describe_image(image_id, region=region))


def get_image_output(image_id: pulumi.Input[str], *, region: pulumi.Input[str] | None = None,
                     api_url: pulumi.Input[str] | None = None, aws_profile: pulumi.Input[str] | None = None,
                     role_arn: pulumi.Input[str] | None = None) -> pulumi.Output[ImageInfo]:
    return _invoke_output(get_image, dict(image_id=image_id, region=region, api_url=api_url,
                                          aws_profile=aws_profile, role_arn=role_arn))
