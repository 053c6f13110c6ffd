"""The engine's part, played against the SDK's real provider host and a local ParallelCluster API emulator.

`Deployment` is one CustomImage in a `pulumi_pcimage.testing.Stack`, the engine model users get too: it turns
`preview` / `up` / `refresh` / `destroy` into the Check / Diff / Create / Update / Delete / Read calls the engine
makes (each rule is cited from pulumi/pulumi's source in `pulumi_pcimage/testing/engine.py`), so the tests read
like what a user does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterator

import pytest

from pulumi_pcimage import config
from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.provider import CustomImageProvider
from pulumi_pcimage.testing import CheckRejected, ProviderHost, Stack, StackResource, provider_value, urn
from pulumi_pcimage.waiter import POLL_SCALE_ENV

PROJECT, STACK = "imaging", "dev"
TYPE = "pulumi-python:dynamic/pcimage:CustomImage"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
# Polling 50x faster than on AWS: first poll after 0.1 s, then every 0.3 s.
HOST_ENV = {**CREDENTIALS, POLL_SCALE_ENV: "0.02"}  # the rest of os.environ is cleaned by fake_aws
BUILD_SECONDS = 1.5
CONFIG = """\
# the team's HPC base image
Build:
  InstanceType: c6i.xlarge
  ParentImage: ami-3b2b1d0a9db94bc95  # the emulator's official alinux2023 x86_64 AMI in us-east-1
  UpdateOsPackages: {Enabled: true}
Image:
  Name: hpc-base
"""


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "PCLUSTER_API_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(build_seconds=BUILD_SECONDS, delete_seconds=0.2) as emu:
        yield emu


@pytest.fixture
def host() -> Iterator[ProviderHost]:
    with ProviderHost(project=PROJECT, env=HOST_ENV) as running:
        yield running


Failed = CheckRejected  # check failures, as `pulumi preview` would print them


@dataclass
class Deployment(StackResource):
    """One CustomImage in one stack, as the engine sees it (a view of a shared `Stack`)."""

    host: ProviderHost
    emulator: Emulator
    name: str = "hpc-base"
    stack: Stack | None = None
    parent_type: str = ""  # "my:index:Component" for a resource under a component of that type
    project: str = PROJECT
    stack_name: str = STACK

    def __post_init__(self) -> None:
        self.stack = self.stack or Stack(self.host)

    @property
    def urn(self) -> str:
        type_ = f"{self.parent_type}${TYPE}" if self.parent_type else TYPE
        return urn(self.name, type_, project=self.project, stack=self.stack_name)

    def program(self, image_configuration: Any = CONFIG, **options: Any) -> dict:
        """The inputs CustomImage registers (what `resource.py` computes in the program process)."""
        props = {"image_configuration": image_configuration, "region": "us-east-1", "api_url": self.emulator.url,
                 "owner": self.urn, **options}
        return {**props, "__provider": provider_value(CustomImageProvider())}

    def check(self, news: dict) -> dict:
        result = self.host.check(self.urn, self.inputs, news)
        if result.failures:
            raise Failed(self.urn, result.failures)
        return result.inputs


@pytest.fixture
def deployment(host: ProviderHost, emulator: Emulator) -> Deployment:
    return Deployment(host, emulator)


def agree(emulator: Emulator, *resources: StackResource, region: str = "us-east-1") -> None:
    """What AWS holds is exactly what the state says."""
    assert sorted(emulator.images(region=region)) == sorted(r.id for r in resources if r.id)


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    """Test plumbing (not an assertion on timing): block until the emulator shows a state."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


def foreign_configuration(owner: str | None) -> str:
    doc = config.load(CONFIG)
    return config.dump(config.with_owner(doc, owner) if owner else doc)
