"""What the benchmarks share: fake credentials, the engine's view of a CustomImage, and small measuring helpers.

Every benchmark drives the SDK's real provider host over gRPC (`pulumi_pcimage.testing.ProviderHost`) against the
local emulator, the way the engine would: Check, then Diff / Create with the checked inputs.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from concurrent import futures
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import psutil

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_ami_id
from pulumi_pcimage.provider import CustomImageProvider
from pulumi_pcimage.identity import derive_image_id
from pulumi_pcimage.testing import ProviderHost, provider_value, urn
from pulumi_pcimage.waiter import POLL_SCALE_ENV

PROJECT, STACK, REGION = "bench", "dev", "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
CONFIG = """\
Build:
  InstanceType: c6i.xlarge
  ParentImage: {parent}
Image:
  Name: {name}
"""


def setup() -> None:
    """Fake credentials (only the emulator is ever contacted; it accepts them), no per-request access log; print
    the machine the figures come from."""
    os.environ.update(CREDENTIALS)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "PCLUSTER_API_URL"):
        os.environ.pop(name, None)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"machine: {machine()}")


def host(workers: int | None = None, poll_scale: float = 0.02) -> ProviderHost:
    """A provider host; `workers=0` is the SDK's unmodified host (4 workers), None our default (no ceiling).

    poll_scale 0.02 polls 50x faster than on AWS (first poll after 0.1 s, then every 0.3 s), matching the
    emulator's short builds.
    """
    return ProviderHost(project=PROJECT, env={**CREDENTIALS, POLL_SCALE_ENV: str(poll_scale)}, max_workers=workers)


@dataclass
class Image:
    """One CustomImage as the engine sees it: its URN, the program's inputs, then the checked inputs and outputs."""

    name: str
    api_url: str
    inputs: dict = field(default_factory=dict)  # checked inputs, once checked
    id: str = ""
    outputs: dict = field(default_factory=dict)

    @property
    def urn(self) -> str:
        return urn(self.name, "pulumi-python:dynamic/pcimage:CustomImage", project=PROJECT, stack=STACK)

    def program(self) -> dict:
        """What CustomImage registers in the program (resource.py computes the same in the program process)."""
        configuration = CONFIG.format(name=self.name, parent=official_ami_id(REGION))
        return {"image_configuration": configuration, "region": REGION, "api_url": self.api_url,
                "owner": self.urn,
                "image_id": derive_image_id(self.urn, configuration, REGION),
                "__provider": provider_value(CustomImageProvider())}

    def check(self, running: ProviderHost) -> dict:
        result = running.check(self.urn, self.inputs, self.program())
        if result.failures:
            raise RuntimeError(f"{self.name}: check failed: {result.failures}")
        return result.inputs

    def create(self, running: ProviderHost, checked: dict) -> None:
        self.id, self.outputs = running.create(self.urn, checked)
        self.inputs = checked

    def preview(self, running: ProviderHost) -> bool:
        """Check + Diff as `pulumi preview` does for an existing resource; True when it would change."""
        checked = self.check(running)
        return bool(running.diff(self.id, self.urn, self.outputs, checked, old_inputs=self.inputs).changes)


def images(prefix: str, count: int, emulator: Emulator) -> list[Image]:
    return [Image(f"{prefix}-{i:03d}", emulator.url) for i in range(count)]


def create_all(running: ProviderHost, batch: list[Image]) -> float:
    """Check every image, then send all Creates at once (as the engine does); seconds until the last answer."""
    checked = [image.check(running) for image in batch]
    start = time.perf_counter()
    pending = [running.create_async(image.urn, inputs) for image, inputs in zip(batch, checked, strict=True)]
    for image, inputs, done in zip(batch, checked, pending, strict=True):
        image.id, image.outputs = done.result()
        image.inputs = inputs
    return time.perf_counter() - start


def timed(call, *args, **kwargs) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call(*args, **kwargs)
    return time.perf_counter() - start, result


def rss_mib(running: ProviderHost) -> float:
    return psutil.Process(running.process.pid).memory_info().rss / 2**20


def timed_together(*calls) -> list[tuple[float, Any]]:
    """Start every (function, *args) at once; each one's own duration and result."""
    with futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [done.result() for done in [pool.submit(timed, *call) for call in calls]]


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or model
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
            f"pulumi {version('pulumi')}, {platform.system()} {platform.release()}")


def ratio(value: float, unit: float) -> str:
    return f"{value / unit:.2f}x" if unit else "n/a"
