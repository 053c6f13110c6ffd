"""The project's own client and CustomImage lifecycle against AWS's implementation (not the emulator).

The provider runs in process (the SDK host adds nothing here: tests/engine drives it over gRPC); Image Builder's
part, finishing the build, is played by a thread that calls aws_app.py's hook once the build stack exists.
"""

from __future__ import annotations

import threading
import time

import pytest

from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.emulator.catalog import official_ami_id
from pulumi_pcimage.errors import BadRequestError, ConflictError, DryrunSucceeded, NotFoundError
from pulumi_pcimage.provider import CustomImageProvider
from pulumi_pcimage.waiter import POLL_SCALE_ENV

PARENT = official_ami_id("us-east-1")
CONFIG = f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {PARENT}\nImage:\n  Name: from-the-client\n"


def finish_when_started(aws, image_id: str, ami_id: str, timeout: float = 120) -> threading.Thread:
    """Play Image Builder: once the build stack exists, register its AMI and let the stack go."""
    def run() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = aws.call("GET", f"/v3/images/custom/{image_id}", {"region": "us-east-1"})
            if status == 200 and body.get("imageBuildStatus") == "BUILD_IN_PROGRESS":
                aws.complete(image_id, ami_id, "x86_64")
                return
            time.sleep(0.2)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_client_against_aws(aws):
    client = ParallelClusterClient(aws.url, region="us-east-1")
    official = client.describe_official_images(os="alinux2023", architecture="x86_64")["images"]
    assert [image["amiId"] for image in official] == [PARENT]
    with pytest.raises(DryrunSucceeded):
        client.build_image("client-image", CONFIG, dryrun=True)
    with pytest.raises(BadRequestError) as refused:
        client.build_image("client-image", CONFIG.replace(PARENT, "ami-0123456789abcdef0"), dryrun=True)
    assert [e["message"] for e in refused.value.validation_errors] == ["Invalid image 'ami-0123456789abcdef0'."]
    accepted = client.build_image("client-image", CONFIG, rollback_on_failure=True)
    assert accepted["image"]["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    with pytest.raises(ConflictError):
        client.build_image("client-image", CONFIG)
    assert "client-image" in [i["imageId"] for i in client.iter_images("PENDING")]
    aws.complete("client-image", "ami-0c1e0c1e0c1e0c1e0", "x86_64")
    described = client.describe_image("client-image")
    assert described["ec2AmiInfo"]["amiId"] == "ami-0c1e0c1e0c1e0c1e0"
    assert described["ec2AmiInfo"]["amiName"].startswith("from-the-client ")
    assert client.delete_image("client-image")["image"]["imageBuildStatus"] == "DELETE_IN_PROGRESS"
    with pytest.raises(NotFoundError):
        client.describe_image("client-image")


def test_a_custom_image_lifecycle_against_aws(aws, monkeypatch):
    monkeypatch.setenv(POLL_SCALE_ENV, "0.02")
    provider = CustomImageProvider()
    news = {"image_configuration": CONFIG.replace("from-the-client", "from-the-provider"), "image_id": "lifecycle",
            "region": "us-east-1", "api_url": aws.url,
            "owner": "urn:pulumi:dev::conformance::pulumi-python:dynamic/pcimage:CustomImage::lifecycle"}
    checked = provider.check({}, news)  # dry run against AWS's validators
    assert checked.failures == []
    bad = provider.check({}, {**news, "image_configuration": CONFIG.replace(PARENT, "ami-0123456789abcdef0")})
    assert [f.reason for f in bad.failures] == [
        "InstanceTypeBaseAMICompatibleValidator (ERROR): Invalid image 'ami-0123456789abcdef0'."]

    finisher = finish_when_started(aws, "lifecycle", "ami-0b0b0b0b0b0b0b0b0")
    created = provider.create(checked.inputs)
    finisher.join()
    assert created.id == "lifecycle" and created.outs["ami_id"] == "ami-0b0b0b0b0b0b0b0b0"
    assert created.outs["ami_name"].startswith("from-the-provider ")
    assert created.outs["image_build_status"] == "BUILD_COMPLETE"
    assert provider.read("lifecycle", created.outs).id == "lifecycle"

    provider.delete("lifecycle", created.outs)  # waits until describe answers 404
    assert aws.call("GET", "/v3/images/custom/lifecycle", {"region": "us-east-1"})[0] == 404
    assert provider.read("lifecycle", created.outs).id == ""  # refresh drops it
