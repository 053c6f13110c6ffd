"""The scenarios both faces share, written once: each test runs against the dynamic provider (the SDK's provider host
serving CustomImage, tests/engine) and the package's plugin (`pulumi-resource-pcimage`, tests/package), through
`Face`, the small API the two have in common. What only one face has stays in its own folder.

Tests name properties as the lifecycle does (snake_case): a `FaceImage` spells them as its face does, in the program
it declares (`program(force_delete=True)`), in its state (`out["ami_id"]`, `ins["region"]`) and via `face.p(...)`
in the messages and diffs the engine shows."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.testing import ProviderHost, StackResource
from tests.engine.conftest import CONFIG, HOST_ENV, PROJECT, Deployment, emulator, fake_aws  # noqa: F401 (fixtures)
from tests.package.conftest import Image, start_plugin

FACES = ("dynamic", "package")


def camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m[1].upper(), name)


class Spelled(Mapping):
    """A state's properties read by their snake_case names, whatever the face calls them."""

    def __init__(self, props: dict, spell: Callable[[str], str]):
        self._props, self._spell = props, spell

    def __getitem__(self, name: str) -> Any:
        return self._props[self._spell(name)]

    def __iter__(self):
        return iter(self._props)

    def __len__(self) -> int:
        return len(self._props)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._spell(name) in self._props


class FaceImage(StackResource):
    """The face's own resource class (Deployment or Image) with snake_case access (mixed in first)."""

    spell: Callable[[str], str]

    @property
    def out(self) -> Spelled:
        return Spelled(self.outputs, self.spell)

    @property
    def ins(self) -> Spelled:
        return Spelled(self.inputs, self.spell)


class DynamicImage(FaceImage, Deployment):
    @staticmethod
    def spell(name: str) -> str:
        return name


class PackageImage(FaceImage, Image):
    spell = staticmethod(camel)

    def program(self, image_configuration: Any = CONFIG, **options: Any) -> dict:
        return Image.program(image_configuration, **{camel(k): v for k, v in options.items()})


@dataclass
class Face:
    """One face, its provider host started as the engine starts it, against the test's emulator."""

    name: str
    emulator: Emulator
    host: ProviderHost

    # The SDK's dynamic provider host answers Diff without a detailed diff; the package names each property's kind.
    @property
    def detailed_diff(self) -> bool:
        return self.name == "package"

    def p(self, name: str) -> str:
        """A property's name as this face spells it (in a program, the state, a diff, a message)."""
        return camel(name) if self.name == "package" else name

    def image(self, name: str = "hpc-base", *, host: ProviderHost | None = None, **where: Any) -> FaceImage:
        """A CustomImage in a stack; `where`: stack (a Stack to share), parent_type, project, stack_name."""
        host = host or self.host
        if self.name == "dynamic":
            return DynamicImage(host, self.emulator, name, **where)
        return PackageImage(host, name, **where)

    def start_host(self) -> contextlib.AbstractContextManager[ProviderHost]:
        """Another provider host of this face (a new `pulumi up` after the last one was interrupted)."""
        if self.name == "dynamic":
            return ProviderHost(project=PROJECT, env=HOST_ENV)
        return start_plugin(self.emulator)

    def said(self, urn: str | None = None, host: ProviderHost | None = None) -> str:
        """What the provider told the user: the dynamic host's stderr (the SDK's host has no Log channel to the
        engine, and its lines carry no URN, so `urn` cannot narrow them), the plugin's Engine.Log messages (about
        `urn` when given)."""
        host = host or self.host
        if self.name == "dynamic":
            return host.stderr_text()
        return "\n".join(r.message for r in host.log_requests if urn is None or r.urn == urn)


@pytest.fixture(params=FACES)
def face(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Face]:  # noqa: F811 (the fixture)
    if request.param == "dynamic":
        started = ProviderHost(project=PROJECT, env=HOST_ENV)
    else:
        started = start_plugin(emulator)
    with started as host:
        yield Face(request.param, emulator, host)
