"""Program-side functions: official parent images, existing custom images, one image described.

Dynamic providers cannot serve invokes, so these run in the Pulumi program itself (during preview too). Each
comes as Pulumi's usual pair: ``get_x(...)`` takes plain values and returns typed results; ``get_x_output(...)``
takes Inputs and returns an Output. Like Pulumi's own output-form invokes, the Output stays unknown (and nothing
is called) while any argument is unknown or depends on a resource that does not exist yet, as in a preview of a
new image.

This is the program-side face of the queries (`queries.py`, which the package's invokes serve too): it reads the
stack's configuration, makes and caches the client and wraps Outputs. The endpoint and region are resolved as
CustomImage resolves them; requests go through ParallelClusterClient, so retries and typed errors
(`pulumi_pcimage.errors`) are the same.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import pulumi

from . import endpoint, queries
from .lifecycle import HostState

# The results and allowed values, importable from here as before (`from pulumi_pcimage.functions import ...`).
from .fields import IMAGE_BUILD_STATUSES as IMAGE_BUILD_STATUSES
from .queries import IMAGE_STATUSES as IMAGE_STATUSES
from .queries import SUPPORTED_ARCHITECTURES as SUPPORTED_ARCHITECTURES
from .queries import SUPPORTED_OSES as SUPPORTED_OSES
from .queries import ImageInfo as ImageInfo
from .queries import ImageSummary as ImageSummary
from .queries import OfficialImage as OfficialImage

T = TypeVar("T")

# The clients of this program's get_* calls: the program side's own state (a program is one process).
_host = HostState()


def forget_clients() -> None:
    """Drop the clients the get_* functions built: the next call builds new ones and reads credentials afresh."""
    global _host
    _host = HostState()


# ---------------------------------------------------------------- arguments and the client

def _ask(query: queries.Query[T], values: dict[str, Any], api_url: str | None, aws_profile: str | None,
         role_arn: str | None) -> T:
    """`query`'s answer once every argument passed its rule, asked through the shared client for these settings;
    the endpoint and default region are resolved as CustomImage's.

    The client is built for the default region, not `region`: for an API whose host name does not tell its
    region (a custom domain, the emulator) that is the region to sign for, while `region` only says where the
    images are and is sent with each call.
    """
    given = {**values, "api_url": api_url, "aws_profile": aws_profile, "role_arn": role_arn}
    for argument in (*query.arguments, queries.REGION, *queries.CONNECTION):
        value = given.get(argument.name)
        if isinstance(value, pulumi.Output):  # a program-side mistake: the queries know no Outputs
            raise ValueError(f"{query.name}: {argument.name} is a pulumi Output; pass plain values, or use "
                             f"{query.name}_output, which takes Inputs")
        argument.check(query.name, value)
    url = endpoint.resolve_api_url(api_url, config=pulumi.Config(endpoint.NAMESPACE))
    client = _host.client(url, endpoint.default_region(None, pulumi.Config("aws").get("region")), aws_profile,
                          role_arn)
    return query.run(client, values)


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
    return _ask(queries.OFFICIAL_IMAGES, {"os": os, "architecture": architecture, "region": region}, api_url,
                aws_profile, role_arn)


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
    return _ask(queries.IMAGES, {"image_status": image_status, "region": region}, api_url, aws_profile, role_arn)


def list_images_output(image_status: pulumi.Input[str], *, region: pulumi.Input[str] | None = None,
                       api_url: pulumi.Input[str] | None = None, aws_profile: pulumi.Input[str] | None = None,
                       role_arn: pulumi.Input[str] | None = None) -> pulumi.Output[list[ImageSummary]]:
    return _invoke_output(list_images, dict(image_status=image_status, region=region, api_url=api_url,
                                            aws_profile=aws_profile, role_arn=role_arn))


def get_image(image_id: str, *, region: str | None = None, api_url: str | None = None,
              aws_profile: str | None = None, role_arn: str | None = None) -> ImageInfo:
    """One custom image, described; it fails when no image has this id (the API answers 404).

    In Python the failure is `pulumi_pcimage.errors.NotFoundError`."""
    return _ask(queries.IMAGE, {"image_id": image_id, "region": region}, api_url, aws_profile, role_arn)


def get_image_output(image_id: pulumi.Input[str], *, region: pulumi.Input[str] | None = None,
                     api_url: pulumi.Input[str] | None = None, aws_profile: pulumi.Input[str] | None = None,
                     role_arn: pulumi.Input[str] | None = None) -> pulumi.Output[ImageInfo]:
    return _invoke_output(get_image, dict(image_id=image_id, region=region, api_url=api_url,
                                          aws_profile=aws_profile, role_arn=role_arn))
