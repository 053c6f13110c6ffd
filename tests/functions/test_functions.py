"""The plain functions against a running emulator: typed results, every page, arguments checked before sending."""

from __future__ import annotations

import dataclasses
import re

import pytest

from pulumi_pcimage.lifecycle import state
from pulumi_pcimage import (ImageInfo, ImageSummary, OfficialImage, get_image, get_official_images, list_images)
from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.emulator.catalog import official_ami_id
from pulumi_pcimage.errors import AuthError, EndpointNotConfigured, NotFoundError
from pulumi_pcimage.functions import SUPPORTED_ARCHITECTURES, SUPPORTED_OSES
from tests.functions.conftest import build

AMI_ID = re.compile(r"^ami-[0-9a-f]{17}$")


def test_official_images_are_typed_and_filtered_by_the_api(pcluster_emulator):
    everything = get_official_images()
    raw = ParallelClusterClient(pcluster_emulator.url).describe_official_images()["images"]
    assert [(i.ami_id, i.name, i.os, i.architecture, i.version) for i in everything] == [
        (r["amiId"], r["name"], r["os"], r["architecture"], r["version"]) for r in raw]
    assert all(isinstance(i, OfficialImage) for i in everything)

    [rocky_arm] = get_official_images(os="rocky9", architecture="arm64")
    assert (rocky_arm.os, rocky_arm.architecture, rocky_arm.version) == ("rocky9", "arm64", "3.16.1")
    assert AMI_ID.match(rocky_arm.ami_id) and "arm64" in rocky_arm.name
    assert {i.architecture for i in get_official_images(architecture="x86_64")} == {"x86_64"}


def test_official_images_of_another_region(pcluster_emulator):
    home = {i.ami_id for i in get_official_images(os="alinux2023")}
    away = get_official_images(os="alinux2023", region="eu-west-1")
    assert len(away) == 2 and home.isdisjoint(i.ami_id for i in away)  # AMI ids are regional


@pytest.mark.parametrize("call, message", [
    (lambda: get_official_images(os="windows"),
     "get_official_images: os 'windows' is not one of the allowed values: " + ", ".join(SUPPORTED_OSES)),
    (lambda: get_official_images(os="alinux2023", architecture="aarch64"),
     "get_official_images: architecture 'aarch64' is not one of the allowed values: x86_64, arm64"),
    (lambda: list_images("DONE"),
     "list_images: image_status 'DONE' is not one of the allowed values: AVAILABLE, PENDING, FAILED"),
    (lambda: list_images(None), "list_images: image_status is required"),
    (lambda: list_images(["AVAILABLE"]), "list_images: image_status must be a string, got ['AVAILABLE']"),
    (lambda: get_image("9lives"), "get_image: image_id '9lives' must match ^[a-zA-Z][a-zA-Z0-9-]{1,127}$"),
    (lambda: get_image("hpc", region="Mars"), "get_image: region 'Mars' must match"),
    (lambda: list_images("FAILED", api_url="ftp://example.com"), "list_images: api_url 'ftp://example.com' must match"),
    (lambda: get_image("hpc", role_arn="admin"), "get_image: role_arn 'admin' must match"),
])
def test_bad_arguments_are_refused_before_anything_is_sent(pcluster_emulator, call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert str(raised.value).startswith(message)
    assert pcluster_emulator.counters()["total"] == 0


def test_allowed_values_are_the_released_apis(pcluster_emulator):
    # Every value the functions allow is one the API answers for (the API would refuse others with a 400).
    for os_name in SUPPORTED_OSES:
        assert {i.os for i in get_official_images(os=os_name)} == {os_name}
    assert {i.architecture for i in get_official_images()} == set(SUPPORTED_ARCHITECTURES)


def test_list_images_follows_next_token_to_the_last_page(paged):
    ids = [f"img-{n}" for n in range(5)]
    build(paged, *ids)
    paged.reset_counters()

    pending = list_images("PENDING")
    assert [i.image_id for i in pending] == ids  # 2 + 2 + 1
    assert paged.counters()["list_images"] == 3
    assert all(isinstance(i, ImageSummary) and i.image_build_status == "BUILD_IN_PROGRESS" and i.ami_id is None
               and i.cloudformation_stack_status == "CREATE_IN_PROGRESS" and i.region == "us-east-1"
               for i in pending)

    for image_id in ids[:3]:
        paged.fail_build(image_id)
    paged.complete_build(ids[3])
    failed = list_images("FAILED")
    assert [i.image_id for i in failed] == ids[:3]
    assert {i.image_build_status for i in failed} == {"BUILD_FAILED"}
    assert [i.image_id for i in list_images("PENDING")] == ids[4:]
    [available] = list_images("AVAILABLE")
    assert available.image_id == ids[3] and AMI_ID.match(available.ami_id)
    assert available.image_build_status == "BUILD_COMPLETE" and available.version == "3.16.1"


def test_get_image_describes_a_built_image_without_the_presigned_url(paged):
    config = {"Build": {"InstanceType": "c7g.xlarge", "ParentImage": official_ami_id("us-east-1", architecture="arm64"),
                        "UpdateOsPackages": {"Enabled": True}},
              "Image": {"Name": "hpc-arm", "Tags": [{"Key": "team", "Value": "hpc"}]}}
    build(paged, "hpc-arm", config=config)

    building = get_image("hpc-arm")
    assert isinstance(building, ImageInfo)
    assert (building.image_build_status, building.cloudformation_stack_status) == ("BUILD_IN_PROGRESS",
                                                                                   "CREATE_IN_PROGRESS")
    assert building.ami_id is None and building.imagebuilder_image_status
    assert building.cloudformation_stack_arn.startswith("arn:aws:cloudformation:us-east-1:")

    paged.complete_build("hpc-arm")
    info = get_image("hpc-arm", region="us-east-1")
    assert info.image_build_status == "BUILD_COMPLETE" and AMI_ID.match(info.ami_id)
    assert (info.architecture, info.ami_state) == ("arm64", "AVAILABLE")
    assert info.ami_name.startswith("hpc-arm 20")  # Image.Name + the build date Image Builder appends
    assert info.ami_tags["team"] == "hpc" and info.creation_time
    presigned = ParallelClusterClient(paged.url).describe_image("hpc-arm")["imageConfiguration"]["url"]
    assert presigned not in repr(info) and "url" not in {f for f in vars(info)}


def test_get_image_of_a_missing_id_is_a_typed_not_found(pcluster_emulator):
    with pytest.raises(NotFoundError, match="nothing-here"):
        get_image("nothing-here")


def test_throttling_and_server_errors_are_retried_by_the_client(pcluster_emulator, monkeypatch):
    slept: list[float] = []  # the backoff the functions' client waited, recorded instead of slept
    make_client = state.make_client

    def recording_waits(*args, **kwargs):
        client = make_client(*args, **kwargs)
        client.retry = dataclasses.replace(client.retry, sleep=slept.append)
        return client

    monkeypatch.setattr(state, "make_client", recording_waits)
    pcluster_emulator.set_faults(throttle_rate=0.3, error_rate=0.2, seed=7)
    assert len(get_official_images(os="ubuntu2404")) == 2
    assert list_images("AVAILABLE") == []
    assert pcluster_emulator.counters()["faults_injected"] == len(slept) > 0


def test_auth_failures_come_back_typed_with_a_hint(pcluster_emulator, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(AuthError) as raised:
        list_images("FAILED")
    assert raised.value.status == 403 and "signature" in str(raised.value).lower()


def test_explicit_api_url_wins_over_the_environment(pcluster_emulator, monkeypatch):
    monkeypatch.setenv("PCLUSTER_API_URL", "http://127.0.0.1:9/nothing-listens-here")
    assert get_official_images(os="rhel9", api_url=pcluster_emulator.url)


def test_no_endpoint_configured_says_how_to_configure_one(monkeypatch):
    for name in ("PCLUSTER_API_URL", "PCLUSTER_API_STACK_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(EndpointNotConfigured, match="PCLUSTER_API_URL.*pcimage:apiStackName"):
        get_official_images()
