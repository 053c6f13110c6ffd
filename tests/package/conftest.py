"""The package face (`pulumi-resource-pcimage`) started as the engine starts plugins and driven over gRPC with the
engine's messages, against the local ParallelCluster API emulator; a fake `Engine` service records Log calls.

How the engine starts a plugin (engine address as the argument, the port on stdout) is the SDK's own
`pulumi.provider.experimental.server.main`; the step sequences are `pulumi_pcimage.testing.Stack`'s, cited there."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterator

import pytest

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.testing import ProviderHost, Stack, StackResource, urn
# emulator and fake_aws (autouse) are the engine tests' fixtures; CONFIG and wait_for are re-exported for the tests
from tests.engine.conftest import CONFIG, HOST_ENV, PROJECT, STACK, emulator, fake_aws, wait_for  # noqa: F401

# What the engine runs: the plugin's executable with the engine's address as its argument (the console script
# `pulumi-resource-pcimage` calls the same main(); the module form runs this worktree's code).
PLUGIN = [sys.executable, "-u", "-m", "pulumi_pcimage.package"]
TYPE = "pcimage:index:CustomImage"
PROVIDER_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:pcimage::default"
HELD = 3600.0  # an emulated build that only ends when the test completes it


def start_plugin(emulator: Emulator, **kwargs: Any) -> ProviderHost:
    """The plugin, configured with the emulator's URL (the stack's `pcimage:apiUrl`) unless told otherwise."""
    kwargs.setdefault("config", {"apiUrl": emulator.url})
    return ProviderHost(project=PROJECT, env=HOST_ENV, command=PLUGIN, **kwargs)


@pytest.fixture
def plugin(emulator: Emulator) -> Iterator[ProviderHost]:
    with start_plugin(emulator) as running:
        yield running


@pytest.fixture
def held_builds() -> Iterator[Emulator]:
    """An emulator whose builds run until the test calls complete_build."""
    with Emulator(build_seconds=HELD, delete_seconds=0.1) as emu:
        yield emu


@dataclass
class Image(StackResource):
    """One pcimage:index:CustomImage in a stack, as a TypeScript / Go / YAML program declares it."""

    host: ProviderHost
    name: str = "hpc-base"
    stack: Stack = field(default=None)  # type: ignore[assignment]
    parent_type: str = ""  # "my:index:Component" for a resource under a component of that type
    project: str = PROJECT
    stack_name: str = STACK

    def __post_init__(self) -> None:
        self.stack = self.stack or Stack(self.host)

    @property
    def urn(self) -> str:
        type_ = f"{self.parent_type}${TYPE}" if self.parent_type else TYPE
        return urn(self.name, type_, project=self.project, stack=self.stack_name)

    @staticmethod
    def program(image_configuration: Any = CONFIG, **inputs: Any) -> dict:
        """The program's inputs (camelCase, as the schema names them): no URN, no region, no endpoint."""
        return {"imageConfiguration": image_configuration, **inputs}

