"""Every operation and every error over real signed HTTP, each answer validated against the released openapi.yaml."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests

from pulumi_pcimage.emulator import EmulatorControl, EmulatorControlError

from .conftest import CONFIG, config_in


def test_build_describe_list_and_delete_conform_at_every_step(client, emulator):
    emulator.service.build_seconds = 60  # finished by complete_build below: a loaded machine cannot outrun it
    accepted = client.build("img", rollbackOnFailure="false")
    assert accepted.status_code == 202
    assert accepted.json()["image"]["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    assert client.describe("img").json()["imagebuilderImageStatus"] in ("PENDING", "BUILDING")
    assert [i["imageId"] for i in client("GET", "/v3/images/custom", params={"imageStatus": "PENDING"})
            .json()["images"]] == ["img"]
    assert client("GET", "/v3/images/custom/img/stackevents").status_code == 200
    assert client("DELETE", "/v3/images/custom/img").status_code == 400  # still building

    emulator.complete_build("img")
    done = client.describe("img").json()
    assert done["imageBuildStatus"] == "BUILD_COMPLETE"
    assert requests.get(done["imageConfiguration"]["url"], timeout=5).text == CONFIG
    assert client("GET", "/v3/images/custom", params={"imageStatus": "AVAILABLE"}).json()["images"][0][
        "ec2AmiInfo"]["amiId"] == done["ec2AmiInfo"]["amiId"]
    assert client("GET", "/v3/images/custom/img/stackevents").status_code == 404
    streams = client("GET", "/v3/images/custom/img/logstreams").json()["logStreams"]
    name = quote(streams[0]["logStreamName"], safe="")  # one path segment: "3.16.1/1" → 3.16.1%2F1
    events = client("GET", f"/v3/images/custom/img/logstreams/{name}",
                    params={"limit": 3, "startFromHead": "true"}).json()["events"]
    assert len(events) == 3
    assert client("GET", "/v3/images/custom/img/logstreams/nope").status_code == 404

    emulator.set_in_use("img")
    assert "used by instances" in client("DELETE", "/v3/images/custom/img").json()["message"]
    deleting = client("DELETE", "/v3/images/custom/img", params={"force": "true"})
    assert deleting.status_code == 202 and deleting.json()["image"]["imageBuildStatus"] == "DELETE_IN_PROGRESS"
    assert client.describe("img").status_code == 404  # the AMI is deregistered at once, as on AWS
    assert client("DELETE", "/v3/images/custom/img").status_code == 404
    assert emulator.images() == []


def test_a_failed_build_conforms_and_can_be_deleted(client, emulator):
    client.build("img", rollbackOnFailure="true")
    emulator.fail_build("img", reason="AMI distribution failed")
    failed = client.describe("img").json()
    assert (failed["imageBuildStatus"], failed["cloudformationStackStatus"]) == ("BUILD_FAILED", "ROLLBACK_COMPLETE")
    assert client("GET", "/v3/images/custom", params={"imageStatus": "FAILED"}).json()["images"][0]["imageId"] == "img"
    assert client("GET", "/v3/images/custom/img/stackevents").status_code == 200
    assert client("DELETE", "/v3/images/custom/img").json()["image"]["cloudformationStackStatus"] == \
        "DELETE_IN_PROGRESS"


def test_build_errors_conform(client):
    assert client.build("img", dryrun="true").status_code == 412
    invalid = client.build("img", "Build: {InstanceType: c5.xlarge}")
    assert invalid.status_code == 400
    assert "ParentImage" in invalid.json()["configurationValidationErrors"][0]["message"]
    assert client.build("img", validationFailureLevel="INFO").status_code == 202
    assert client.build("img").status_code == 409
    refused = client("POST", "/v3/images/custom", data=b"not json", headers={"Content-Type": "application/json"})
    assert refused.status_code == 400 and "JSON" in refused.json()["message"]
    assert client.build("img2", dryrun="maybe").status_code == 400
    assert client.build("img2", suppressValidators="NONE").status_code == 400


def test_pages_follow_next_token(client, emulator):
    emulator.service.page_size = 2
    for n in range(5):
        assert client.build(f"img{n}").status_code == 202
    seen, params = [], {"imageStatus": "PENDING"}
    while True:
        page = client("GET", "/v3/images/custom", params=params).json()
        seen += [i["imageId"] for i in page["images"]]
        if "nextToken" not in page:
            break
        params["nextToken"] = page["nextToken"]
    assert seen == [f"img{n}" for n in range(5)]
    assert client("GET", "/v3/images/custom", params={"imageStatus": "PENDING", "nextToken": "x"}).status_code == 400


@pytest.mark.parametrize("params, status", [
    ({}, 200), ({"os": "ubuntu2404"}, 200), ({"architecture": "arm64", "os": "rhel9"}, 200),
    ({"os": "windows"}, 400), ({"architecture": "sparc"}, 400), ({"region": "not a region"}, 400),
])
def test_official_images_conform(client, params, status):
    response = client("GET", "/v3/images/official", params=params)
    assert response.status_code == status
    if status == 200:
        assert response.json()["images"]


@pytest.mark.parametrize("method, path, params, status", [
    ("GET", "/v3/images/custom", {}, 400),
    ("GET", "/v3/images/custom", {"imageStatus": "DONE"}, 400),
    ("GET", "/v3/images/custom", {"imageStatus": "AVAILABLE", "region": "Mars"}, 400),
    ("GET", "/v3/images/custom/unknown", {}, 404),
    ("GET", "/v3/images/custom/unknown/stackevents", {}, 404),
    ("GET", "/v3/images/custom/unknown/logstreams", {}, 404),
    ("GET", "/v3/images/custom/unknown/logstreams/x", {}, 404),
    ("GET", "/v3/images/custom/unknown/logstreams/0%0A", {}, 404),  # any encoded name reaches the API
    ("DELETE", "/v3/images/custom/unknown", {}, 404),
    ("DELETE", "/v3/images/custom/unknown", {"force": "yes"}, 400),
    ("GET", "/v3/images/custom/bad_id", {}, 400),
])
def test_lookup_errors_conform(client, method, path, params, status):
    assert client(method, path, params=params).status_code == status


def test_unknown_resources_get_api_gateways_answer(client):
    for method, path in [("GET", "/v3/clusters"), ("PUT", "/v3/images/custom"), ("GET", "/v2/nothing")]:
        response = client(method, path)
        assert response.status_code == 403 and response.json() == {"message": "Missing Authentication Token"}


def test_images_live_in_the_region_asked_for(client, emulator):
    built = client.build("img", config_in("eu-central-1"), region="eu-central-1")
    assert built.json()["image"]["region"] == "eu-central-1"
    assert client.describe("img").status_code == 404
    assert client.describe("img", region="eu-central-1").status_code == 200
    assert emulator.images("eu-central-1") == ["img"]


def test_a_customers_own_parent_ami_is_registered_through_the_control_route(client, emulator):
    own = "Build:\n  InstanceType: c7g.xlarge\n  ParentImage: ami-0fedcba9876543210\n"
    assert client.build("img", own).json()["configurationValidationErrors"][0]["message"] == \
        "Invalid image 'ami-0fedcba9876543210'."
    control = EmulatorControl(emulator.base_url)
    control.register_parent_image("ami-0fedcba9876543210", architecture="arm64", name="hardened-al2023")
    assert client.build("img", own).status_code == 202
    control.register_parent_image("ami-0fedcba9876543210", architecture="x86_64", region="eu-west-1")
    wrong_arch = client.build("img2", own.replace("c7g", "c6i"), region="eu-west-1")
    assert wrong_arch.status_code == 202  # x86_64 in eu-west-1; in us-east-1 it is arm64
    with pytest.raises(EmulatorControlError) as refused:
        control.register_parent_image("my-image")
    assert refused.value.status == 400


def test_the_control_client_drives_an_emulator_over_http(client, emulator):
    control = EmulatorControl(emulator.base_url)
    control.reset_counters()
    client.build("img-a")
    client.build("img-b")
    control.complete_build("img-a")
    control.fail_build("img-b", reason="because")
    assert client.describe("img-b").json()["imagebuilderImageStatusReason"] == "because"
    assert sorted(control.images()) == ["img-a", "img-b"]  # before any delete: it completes in 0.2 s
    control.set_in_use("img-a")
    assert client("DELETE", "/v3/images/custom/img-a").status_code == 400
    control.set_in_use("img-a", in_use=False)
    assert client("DELETE", "/v3/images/custom/img-a").status_code == 202
    counters = control.counters()
    assert (counters["build_image"], counters["builds_started"], counters["delete_image"]) == (2, 2, 2)
    with pytest.raises(EmulatorControlError) as refused:
        control.complete_build("missing")
    assert refused.value.status == 404
    with pytest.raises(EmulatorControlError) as refused:
        control.set_faults(error_rate=2.0)
    assert refused.value.status == 400 and "error_rate" in refused.value.message
