"""Every client operation against the local emulator (real HTTP, SigV4 checked by the emulator), each exchange
validated against the released openapi.yaml."""

from __future__ import annotations

import pytest
import requests

from pulumi_pcimage import errors
from pulumi_pcimage.client import ParallelClusterClient, RetryPolicy
from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_ami_id
from tests.client.fixtures import ACCESS_KEY, SECRET_KEY
from tests.support.openapi import validate_request, validate_response

CONFIG = (f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {official_ami_id('us-east-1')}\n"
          "  UpdateOsPackages:\n    Enabled: true\n")
GATEWAY_STATUSES = {403, 502, 503, 504}  # API Gateway's own answers (and injected faults): not in the spec


@pytest.fixture
def emulator():
    with Emulator(build_seconds=60, delete_seconds=0, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                  region="us-east-1") as emu:
        yield emu


@pytest.fixture
def exchanges() -> list[requests.Response]:
    return []


@pytest.fixture
def pc(emulator, exchanges, sleeps) -> ParallelClusterClient:
    client = ParallelClusterClient(emulator.url, region=emulator.region, timeout=(2.0, 10.0),
                                   retry=RetryPolicy(sleep=sleeps.append, random=lambda: 0.0))
    # A response hook on this thread's session sees each prepared request and the response as the client got them.
    client._http().hooks["response"].append(lambda response, **_: exchanges.append(response))
    return client


def assert_on_contract(exchanges):
    assert exchanges
    for response in exchanges:
        validate_request(response.request)
        if response.status_code not in GATEWAY_STATUSES:
            validate_response(response.request, response)


def test_every_operation_through_a_build_and_a_delete(pc, emulator, exchanges):
    official = pc.describe_official_images(os="alinux2023", architecture="x86_64")["images"]
    assert official and all(image["os"] == "alinux2023" for image in official)

    with pytest.raises(errors.DryrunSucceeded):
        pc.build_image("hpc-base", CONFIG, dryrun=True, validation_failure_level="ERROR")
    accepted = pc.build_image("hpc-base", CONFIG, suppress_validators=["type:InstanceTypeValidator"],
                              rollback_on_failure=False)
    assert accepted["image"]["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    with pytest.raises(errors.ConflictError):
        pc.build_image("hpc-base", CONFIG, rollback_on_failure=False)

    assert pc.describe_image("hpc-base")["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    assert [image["imageId"] for image in pc.iter_images("PENDING")] == ["hpc-base"]
    assert pc.get_image_stack_events("hpc-base")["events"]
    stream = pc.list_image_log_streams("hpc-base")["logStreams"][0]["logStreamName"]
    assert "/" in stream  # sent URL-quoted as one path segment
    assert pc.get_image_log_events("hpc-base", stream, start_from_head=True, limit=1)["events"]

    emulator.complete_build("hpc-base")
    described = pc.describe_image("hpc-base")
    assert described["imageBuildStatus"] == "BUILD_COMPLETE" and described["ec2AmiInfo"]["amiId"].startswith("ami-")
    assert [image["imageId"] for image in pc.iter_images("AVAILABLE")] == ["hpc-base"]

    assert pc.delete_image("hpc-base", force=True)["image"]["imageBuildStatus"] == "DELETE_IN_PROGRESS"
    with pytest.raises(errors.NotFoundError):
        pc.describe_image("hpc-base")
    assert_on_contract(exchanges)


def test_rejected_configuration_carries_validation_errors(pc, exchanges):
    with pytest.raises(errors.BadRequestError) as raised:
        pc.build_image("bad-config", "Build:\n  InstanceType: c6i.xlarge\n", rollback_on_failure=False)
    assert raised.value.validation_errors and all("message" in e for e in raised.value.validation_errors)
    assert_on_contract(exchanges)


def test_iter_images_pages_through_the_emulator(pc, exchanges):
    for n in range(12):  # the emulator pages PENDING lists 10 at a time
        pc.build_image(f"img-{n:02d}", CONFIG, rollback_on_failure=False)
    assert sorted(image["imageId"] for image in pc.iter_images("PENDING")) == [f"img-{n:02d}" for n in range(12)]
    assert sum(1 for r in exchanges if r.request.method == "GET") >= 2
    assert_on_contract(exchanges)


def test_injected_throttling_and_errors_are_retried_for_reads(pc, emulator, exchanges, sleeps):
    emulator.set_faults(throttle_rate=0.3, error_rate=0.2, seed=7)
    for _ in range(10):
        assert pc.list_images("AVAILABLE") == {"images": []}
    assert emulator.counters()["faults_injected"] == len(sleeps) > 0
    assert sleeps.count(1.0) == sum(1 for r in exchanges if r.status_code == 429)  # the emulator's Retry-After
    assert_on_contract(exchanges)


def test_a_wrong_secret_is_refused_with_a_hint(pc, emulator, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    client = ParallelClusterClient(emulator.url, region=emulator.region, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(errors.AuthError) as raised:
        client.describe_official_images()
    assert raised.value.status == 403 and "secret access key" in raised.value.hint


def test_a_wrong_stage_is_refused_with_a_hint(emulator):
    client = ParallelClusterClient(emulator.base_url + "/staging", region=emulator.region)
    with pytest.raises(errors.AuthError, match="Missing Authentication Token") as raised:
        client.describe_official_images()
    assert "check api_url" in raised.value.hint
