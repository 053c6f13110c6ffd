"""The engine's part, played against the SDK's real provider host and a local ParallelCluster API emulator.

`Deployment` keeps one CustomImage's state the way the engine does (checked inputs, outputs, id) and turns
`preview` / `up` / `refresh` / `destroy` into the Check / Diff / Create / Update / Delete / Read calls the engine
makes, so the tests read like what a user does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest

from pulumi_pcimage import config
from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.provider import CustomImageProvider
from pulumi_pcimage.resource import derive_image_id
from pulumi_pcimage.waiter import POLL_SCALE_ENV
from pulumi_pcimage.testing import UNKNOWN, DiffResult, ProviderHost, provider_value, urn

PROJECT, STACK = "imaging", "dev"
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


class Failed(Exception):
    """Check failures, as `pulumi preview` would print them."""

    def __init__(self, failures: list[tuple[str, str]]):
        super().__init__("; ".join(f"{prop}: {reason}" for prop, reason in failures))
        self.failures = failures


@dataclass
class Plan:
    operation: str  # create | same | update | replace
    diff: DiffResult | None = None


@dataclass
class Deployment:
    """One CustomImage in one stack, as the engine sees it."""

    host: ProviderHost
    emulator: Emulator
    name: str = "hpc-base"
    id: str = ""
    inputs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)

    @property
    def urn(self) -> str:
        return urn(self.name, "pulumi-python:dynamic/pcimage:CustomImage", project=PROJECT, stack=STACK)

    def program(self, image_configuration: Any = CONFIG, **options: Any) -> dict:
        """The inputs CustomImage registers (what `resource.py` computes in the program process)."""
        props = {"image_configuration": image_configuration, "region": "us-east-1", "api_url": self.emulator.url,
                 "owner": f"{PROJECT}/{STACK}/{self.name}", **options}
        if "image_id" not in props:
            known = image_configuration is not UNKNOWN
            props["image_id"] = derive_image_id(self.name, image_configuration, "us-east-1", PROJECT,
                                                STACK) if known else UNKNOWN
        return {**props, "__provider": provider_value(CustomImageProvider())}

    def check(self, news: dict) -> dict:
        result = self.host.check(self.urn, self.inputs, news)
        if result.failures:
            raise Failed(result.failures)
        return result.inputs

    def preview(self, news: dict) -> Plan:
        return self._plan(self.check(news))

    def _plan(self, checked: dict) -> Plan:
        if not self.id:
            return Plan("create")
        diff = self.host.diff(self.id, self.urn, self.outputs, checked, old_inputs=self.inputs)
        if not diff.changes:
            return Plan("same", diff)
        return Plan("replace" if diff.replaces else "update", diff)

    def up(self, news: dict) -> Plan:
        checked = self.check(news)
        plan = self._plan(checked)
        if plan.operation == "create":
            self._create(checked)
        elif plan.operation == "update":
            self.outputs = self.host.update(self.id, self.urn, self.outputs, checked, old_inputs=self.inputs)
            self.inputs = checked
        elif plan.operation == "replace":
            old = (self.id, self.outputs, self.inputs)
            if plan.diff.delete_before_replace:
                self.destroy()
                self._create(checked)
            else:  # create the new image first, then delete the old one
                self._create(checked)
                self.host.delete(old[0], self.urn, old[1], old_inputs=old[2])
        return plan

    def _create(self, checked: dict) -> None:
        # A failed create leaves nothing in the state (the engine records nothing).
        self.id, self.outputs = self.host.create(self.urn, checked)
        self.inputs = checked

    def refresh(self) -> None:
        new_id, outputs = self.host.read(self.id, self.urn, self.outputs, inputs=self.inputs)
        if not new_id:
            self.id, self.inputs, self.outputs = "", {}, {}
        else:
            self.outputs = outputs

    def destroy(self) -> None:
        self.host.delete(self.id, self.urn, self.outputs, old_inputs=self.inputs)
        self.id, self.inputs, self.outputs = "", {}, {}


@pytest.fixture
def deployment(host: ProviderHost, emulator: Emulator) -> Deployment:
    return Deployment(host, emulator)


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
