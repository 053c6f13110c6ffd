"""Set-up for the performance mechanisms: fake credentials, the emulator, and images as the engine sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterator

import pytest

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_ami_id
from pulumi_pcimage.provider import CustomImageProvider
from pulumi_pcimage.identity import derive_image_id
from pulumi_pcimage.testing import ProviderHost, provider_value, urn
from tests.engine.conftest import HOST_ENV, fake_aws, wait_for  # noqa: F401 (fake_aws: autouse fixture)

PROJECT, STACK, REGION = "perf", "dev", "us-east-1"
HELD = 3600.0  # an emulated build that only ends when the test completes it
CALL_TIMEOUT = 60.0  # gRPC deadline: a starved request fails the test instead of hanging it


@pytest.fixture
def held_builds() -> Iterator[Emulator]:
    """An emulator whose builds run until the test calls complete_build."""
    with Emulator(build_seconds=HELD, delete_seconds=0.1) as emu:
        yield emu


def start_host(workers: int | None = None) -> ProviderHost:
    """A provider host; workers=None is pulumi_pcimage's default ceiling, 0 the SDK's unmodified 4 workers."""
    return ProviderHost(project=PROJECT, env=HOST_ENV, max_workers=workers, call_timeout=CALL_TIMEOUT)


@dataclass
class Image:
    """One CustomImage as the engine sees it."""

    name: str
    api_url: str
    inputs: dict = field(default_factory=dict)
    id: str = ""
    outputs: dict = field(default_factory=dict)

    @property
    def urn(self) -> str:
        return urn(self.name, "pulumi-python:dynamic/pcimage:CustomImage", project=PROJECT, stack=STACK)

    @property
    def configuration(self) -> str:
        return (f"Build: {{InstanceType: c6i.xlarge, ParentImage: {official_ami_id(REGION)}}}\n"
                f"Image: {{Name: {self.name}}}\n")

    @property
    def image_id(self) -> str:
        return derive_image_id(self.urn, self.configuration, REGION)

    def program(self) -> dict:
        return {"image_configuration": self.configuration, "region": REGION, "api_url": self.api_url,
                "owner": self.urn,
                "__provider": provider_value(CustomImageProvider())}

    def check(self, host: ProviderHost) -> dict:
        result = host.check(self.urn, self.inputs, self.program())
        assert result.failures == []
        return result.inputs


def images(prefix: str, count: int, emulator: Emulator) -> list[Image]:
    return [Image(f"{prefix}-{i}", emulator.url) for i in range(count)]
