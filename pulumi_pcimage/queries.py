"""The three queries both faces serve: official parent images, existing custom images, one image described.

What the program-side functions (`functions.py`) and the package's invokes (`package/server.py`) share: each
query's arguments and their rules (`Argument`, checked before anything is sent), the API call through a client the
face made, and the typed results (`OfficialImage`, `ImageSummary`, `ImageInfo`) read from the API's answer. It
knows no face: no Pulumi configuration, no Outputs; the face resolves the endpoint and credentials, builds (and
caches) the client and names things as its users spell them (`errors.ArgumentError.said_as`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from .errors import ArgumentError
from .fields import ARCHITECTURES, BY_NAME, IMAGE_BUILD_STATUSES, IMAGE_ID_PATTERN

if TYPE_CHECKING:  # a Protocol, for annotations only: the queries run without the lifecycle (or Pulumi) loaded
    from .lifecycle.state import ApiClient

# Filter values the released API (aws-parallelcluster 3.16.1, pcluster/constants.py) accepts for list_official_images;
# the spec itself leaves them as free strings and the server answers 400 for others.
SUPPORTED_OSES = ("alinux2023", "ubuntu2204", "ubuntu2404", "rhel8", "rocky8", "rhel9", "rocky9")
SUPPORTED_ARCHITECTURES = ARCHITECTURES
IMAGE_STATUSES = ("AVAILABLE", "PENDING", "FAILED")  # ImageStatusFilteringOption

R = TypeVar("R")


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


def from_api(cls: type[D], body: Mapping[str, Any]) -> D:
    """`cls` filled from the API's answer: each field from its source path, None where a key is absent."""
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


# ---------------------------------------------------------------- arguments and their rules

@dataclass(frozen=True)
class Argument:
    """An argument of a query and its rule: the values allowed, a pattern, whether it must be given."""

    name: str  # as Python spells it
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    required: bool = False

    def problem(self, value: Any) -> str | None:
        """What is wrong with `value` (the words after the argument's name), or None."""
        if value is None:
            return "is required" if self.required else None
        if not isinstance(value, str):
            return f"must be a string, got {value!r}"
        if self.choices and value not in self.choices:
            return f"{value!r} is not one of the allowed values: {', '.join(self.choices)}"
        if self.pattern and not re.match(self.pattern, value):
            return f"{value!r} must match {self.pattern}"
        return None

    def check(self, query: str, value: Any) -> None:
        problem = self.problem(value)
        if problem is not None:
            raise ArgumentError(query, self.name, problem)


def _field_rule(name: str) -> Argument:
    """An argument that follows the resource field of the same name (its pattern)."""
    return Argument(name, pattern=BY_NAME[name].pattern)


# Every query's last argument: where the images are (sent with each call; not the region requests are signed for).
REGION = _field_rule("region")
# How the API is reached, as the program-side functions take it (the package's invokes take it from the provider's
# configuration, checked there): checked before the endpoint is resolved.
CONNECTION = (_field_rule("api_url"), _field_rule("aws_profile"), _field_rule("role_arn"))


# ---------------------------------------------------------------- the queries

def official_images(client: ApiClient, *, os: str | None = None, architecture: str | None = None,
                    region: str | None = None) -> list[OfficialImage]:
    """The official ParallelCluster AMIs of the region, optionally only one OS and/or architecture."""
    answer = client.describe_official_images(region=region, os=os, architecture=architecture)
    return [from_api(OfficialImage, image) for image in answer.get("images") or []]


def images(client: ApiClient, *, image_status: str, region: str | None = None) -> list[ImageSummary]:
    """Every custom image of the region with this status (AVAILABLE, PENDING or FAILED), across all pages."""
    return [from_api(ImageSummary, image) for image in client.iter_images(image_status, region=region)]


def image(client: ApiClient, *, image_id: str, region: str | None = None) -> ImageInfo:
    """One custom image, described; it fails when no image has this id (the API answers 404)."""
    return from_api(ImageInfo, client.describe_image(image_id, region=region))


@dataclass(frozen=True)
class Query(Generic[R]):
    """A query as both faces serve it: its name in messages, its call, its result and its arguments."""

    name: str  # the program-side function's, which its messages give
    call: Callable[..., R]  # (client, own arguments by keyword, region=...) -> the result
    result: type
    many: bool  # a list of `result`, or one
    arguments: tuple[Argument, ...]  # its own, in the order they are checked (region comes last)

    def check(self, values: Mapping[str, Any]) -> None:
        """Raise ArgumentError for the first argument in `values` (absent: None) that breaks its rule."""
        for argument in (*self.arguments, REGION):
            argument.check(self.name, values.get(argument.name))

    def run(self, client: ApiClient, values: Mapping[str, Any]) -> R:
        """The answer for checked `values` (absent: None), asked through `client`."""
        return self.call(client, region=values.get("region"),
                         **{argument.name: values.get(argument.name) for argument in self.arguments})


OFFICIAL_IMAGES: Query[list[OfficialImage]] = Query(
    "get_official_images", official_images, OfficialImage, True,
    (Argument("os", choices=SUPPORTED_OSES), Argument("architecture", choices=SUPPORTED_ARCHITECTURES)))
IMAGES: Query[list[ImageSummary]] = Query(
    "list_images", images, ImageSummary, True, (Argument("image_status", choices=IMAGE_STATUSES, required=True),))
IMAGE: Query[ImageInfo] = Query(
    "get_image", image, ImageInfo, False, (Argument("image_id", pattern=IMAGE_ID_PATTERN, required=True),))
