from __future__ import annotations

import pytest

from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_ami_id

BASE_CONFIG = {"Build": {"InstanceType": "c6i.xlarge", "ParentImage": official_ami_id("us-east-1"),
                         "UpdateOsPackages": {"Enabled": True}}}


@pytest.fixture(autouse=True)
def only_the_emulators_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # AWS_REGION outranks the fixture's AWS_DEFAULT_REGION in the functions' region default.
    monkeypatch.delenv("AWS_REGION", raising=False)


@pytest.fixture
def paged(pcluster_emulator_factory, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """An emulator with two images per page whose builds never finish on their own, the environment set on it."""
    emulator = pcluster_emulator_factory(page_size=2, build_seconds=3600)
    monkeypatch.setenv("PCLUSTER_API_URL", emulator.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", emulator.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", emulator.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", emulator.region)
    return emulator


def build(emulator: Emulator, *image_ids: str, config: dict = BASE_CONFIG) -> None:
    """Start builds directly through the client, as another tool or stack would."""
    client = ParallelClusterClient(emulator.url, region=emulator.region)
    for image_id in image_ids:
        client.build_image(image_id, config, rollback_on_failure=False)
