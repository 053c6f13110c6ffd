"""The image lifecycle as a plain object: a fake clock, a real SQLite file, no sockets."""

from __future__ import annotations

import pytest

from pulumi_pcimage.emulator.catalog import official_images
from pulumi_pcimage.emulator.models import ApiException, ImageService
from pulumi_pcimage.emulator.store import Store

from .conftest import CONFIG


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(tmp_path, clock) -> ImageService:
    store = Store(str(tmp_path / "state.sqlite"))
    yield ImageService(store, clock=clock, build_seconds=3600, delete_seconds=60, page_size=2)
    store.close()


def error_of(call, *args, **kwargs) -> ApiException:
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)
    return caught.value


def test_a_build_moves_through_image_builder_phases_and_ends_as_an_ami(service, clock):
    accepted = service.build_image("img", CONFIG)
    assert accepted["image"]["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    assert accepted["image"]["cloudformationStackStatus"] == "CREATE_IN_PROGRESS"
    phases = []
    for _ in range(12):
        described = service.describe_image("img")
        phases.append(described["imagebuilderImageStatus"])
        assert described["imageBuildStatus"] == "BUILD_IN_PROGRESS"
        clock.advance(300)
    assert list(dict.fromkeys(phases)) == ["PENDING", "BUILDING", "TESTING", "DISTRIBUTING"]

    clock.advance(1)
    done = service.describe_image("img")
    assert done["imageBuildStatus"] == "BUILD_COMPLETE"
    assert "cloudformationStackStatus" not in done  # the build stack deleted itself
    ami = done["ec2AmiInfo"]
    assert ami["amiId"].startswith("ami-") and len(ami["amiId"]) == 21
    assert ami["state"] == "AVAILABLE" and ami["architecture"] == "x86_64"
    assert {"key": "parallelcluster:image_id", "value": "img"} in ami["tags"]
    assert error_of(service.get_image_stack_events, "img").status == 404


def test_graviton_instance_types_build_arm64_images_with_the_configured_tags(service, clock):
    config = ("Image:\n  Name: my image\n  Tags:\n    - Key: team\n      Value: hpc\n"
              "Build:\n  InstanceType: r7gd.2xlarge\n  ParentImage: ami-0123456789abcdef0\n")
    service.build_image("arm", config)
    clock.advance(3600)
    ami = service.describe_image("arm")["ec2AmiInfo"]
    assert ami["architecture"] == "arm64"
    assert ami["amiName"] == "my image"
    assert {"key": "team", "value": "hpc"} in ami["tags"]
    assert {"key": "parallelcluster:version", "value": "3.16.1"} in ami["tags"]


def test_the_id_is_taken_while_the_build_runs_after_it_failed_and_after_it_succeeded(service, clock):
    service.build_image("img", CONFIG)
    assert error_of(service.build_image, "img", CONFIG).status == 409
    service.fail_build("img", reason="component failed")
    assert error_of(service.build_image, "img", CONFIG).status == 409
    service.delete_image("img")
    clock.advance(61)
    service.build_image("img", CONFIG)
    service.complete_build("img")
    conflict = error_of(service.build_image, "img", CONFIG)
    assert conflict.status == 409 and conflict.body == {"message": "ParallelCluster image img already exists."}


@pytest.mark.parametrize("rollback, stack_status", [(False, "CREATE_FAILED"), (True, "ROLLBACK_COMPLETE")])
def test_a_failed_build_says_what_failed(service, rollback, stack_status):
    service.build_image("img", CONFIG, rollback=rollback)
    service.fail_build("img", reason="Component ParallelCluster bootstrap failed")
    described = service.describe_image("img")
    assert described["imageBuildStatus"] == "BUILD_FAILED"
    assert described["cloudformationStackStatus"] == stack_status
    assert described["imagebuilderImageStatusReason"] == "Component ParallelCluster bootstrap failed"
    assert "ParallelClusterImage" in described["cloudformationStackStatusReason"]
    failed = [e for e in service.get_image_stack_events("img")["events"]
              if e["resourceStatus"] == "CREATE_FAILED" and e["logicalResourceId"] == "ParallelClusterImage"]
    assert "Component ParallelCluster bootstrap failed" in failed[0]["resourceStatusReason"]
    assert service.list_images("FAILED")["images"][0]["imageBuildStatus"] == "BUILD_FAILED"


def test_delete_is_refused_while_building_and_while_in_use_unless_forced(service, clock):
    service.build_image("img", CONFIG)
    refused = error_of(service.delete_image, "img")
    assert refused.status == 400 and "running workflow" in refused.body["message"]
    clock.advance(3600)
    service.set_in_use("img")
    in_use = error_of(service.delete_image, "img")
    assert in_use.status == 400 and "is used by instances" in in_use.body["message"]
    deleting = service.delete_image("img", force=True)["image"]
    assert deleting["imageBuildStatus"] == "DELETE_IN_PROGRESS"
    assert service.describe_image("img")["imageBuildStatus"] == "DELETE_IN_PROGRESS"
    clock.advance(59)
    assert service.image_ids() == ["img"]
    clock.advance(1)
    assert error_of(service.describe_image, "img").status == 404
    assert error_of(service.delete_image, "img").status == 404
    assert service.image_ids() == []


def test_pending_and_failed_lists_are_paged_and_available_is_not(service, clock):
    for n in range(5):
        service.build_image(f"img{n}", CONFIG)
    clock.advance(3600)
    for n in range(5, 10):
        service.build_image(f"img{n}", CONFIG)
    assert len(service.list_images("AVAILABLE")["images"]) == 5
    assert "nextToken" not in service.list_images("AVAILABLE")
    seen, token = [], None
    while True:
        page = service.list_images("PENDING", next_token=token)
        assert len(page["images"]) <= 2
        seen += [image["imageId"] for image in page["images"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == [f"img{n}" for n in range(5, 10)]
    assert error_of(service.list_images, "PENDING", next_token="garbage").status == 400
    assert error_of(service.list_images, "BROKEN").status == 400


def test_images_live_per_region(service):
    service.build_image("img", CONFIG, region="eu-west-1")
    assert service.image_ids("eu-west-1") == ["img"]
    assert service.image_ids() == []
    assert error_of(service.describe_image, "img").status == 404
    assert service.describe_image("img", region="eu-west-1")["region"] == "eu-west-1"
    bad = error_of(service.describe_image, "img", region="moon-1")
    assert bad.status == 400 and "moon-1" in bad.body["message"]


def test_config_region_is_used_and_must_agree_with_the_parameter(service):
    service.build_image("img", CONFIG + "Region: ap-southeast-2\n")
    assert service.image_ids("ap-southeast-2") == ["img"]
    assert error_of(service.build_image, "img2", CONFIG + "Region: ap-southeast-2\n",
                    region="us-west-2").status == 400


@pytest.mark.parametrize("image_id, config, field", [
    ("img", "Build: [unclosed", "imageConfiguration"),
    ("img", "- just\n- a list\n", "imageConfiguration"),
    ("img", "Image:\n  Name: x\n", "Build"),
    ("img", "Build:\n  ParentImage: ami-0123456789abcdef0\n", "Build.InstanceType"),
    ("img", "Build:\n  InstanceType: c5.xlarge\n", "Build.ParentImage"),
    ("img", "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ubuntu\n", "Build.ParentImage"),
    ("img", CONFIG + "Colour: blue\n", "Colour"),
    ("9lives", CONFIG, "imageId"),
    ("under_score", CONFIG, "imageId"),
    ("a" * 129, CONFIG, "imageId"),
])
def test_bad_build_requests_name_the_field(service, image_id, config, field):
    error = error_of(service.build_image, image_id, config)
    assert error.status == 400
    assert field in [item["id"] for item in error.body["configurationValidationErrors"]]
    assert all(item["level"] == "ERROR" for item in error.body["configurationValidationErrors"])
    assert service.image_ids() == []


def test_bad_suppressors_and_failure_levels_are_refused(service):
    error = error_of(service.build_image, "img", CONFIG, suppress=["type:Bad Name", "ALL"], failure_level="FATAL")
    assert [item["id"] for item in error.body["configurationValidationErrors"]] == [
        "suppressValidators[0]", "validationFailureLevel"]


def test_validation_failure_level_and_suppressors_decide_what_fails_the_build(service):
    odd_parent = "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ami-12\n"  # WARNING + INFO
    accepted = service.build_image("warned", odd_parent)
    assert sorted(m["level"] for m in accepted["validationMessages"]) == ["INFO", "WARNING"]

    failed = error_of(service.build_image, "strict", odd_parent, failure_level="WARNING")
    assert failed.status == 400 and failed.body["message"] == "Configuration is invalid"
    assert service.build_image("suppressed", odd_parent, failure_level="WARNING",
                               suppress=["type:InstanceTypeBaseAMICompatibleValidator"])["validationMessages"] == [
        {"id": "Build.UpdateOsPackages", "type": "UpdateOsPackagesValidator", "level": "INFO",
         "message": "Build.UpdateOsPackages is not set: the OS packages of the parent image will not be updated."}]
    assert "validationMessages" not in service.build_image("quiet", odd_parent, failure_level="INFO",
                                                           suppress=["ALL"])

    bad_type = "Build:\n  InstanceType: huge\n  ParentImage: ami-0123456789abcdef0\n"
    assert error_of(service.build_image, "bad-type", bad_type).body["configurationValidationErrors"][0]["type"] \
        == "InstanceTypeValidator"
    assert service.build_image("bad-type", bad_type, suppress=["type:InstanceTypeValidator"])


def test_an_official_parent_of_the_wrong_architecture_is_an_error(service):
    arm = next(i for i in official_images("us-east-1") if i["architecture"] == "arm64")
    config = f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {arm['amiId']}\n"
    error = error_of(service.build_image, "img", config)
    assert error.body["configurationValidationErrors"][0]["type"] == "InstanceTypeBaseAMICompatibleValidator"


def test_dryrun_validates_without_building(service):
    error = error_of(service.build_image, "img", CONFIG, dryrun=True)
    assert error.status == 412
    assert service.image_ids() == []


def test_official_images_filter_and_name_the_allowed_values(service):
    images = service.list_official_images(os="alinux2023", architecture="arm64")["images"]
    assert [(i["os"], i["architecture"]) for i in images] == [("alinux2023", "arm64")]
    assert images == service.list_official_images(os="alinux2023", architecture="arm64")["images"]
    assert len(service.list_official_images()["images"]) == 7 * 2  # every supported os, on both architectures
    error = error_of(service.list_official_images, os="windows", architecture="sparc")
    assert "windows is not one of" in error.body["message"] and "rocky9" in error.body["message"]
    assert "sparc is not one of ['x86_64', 'arm64']" in error.body["message"]


def test_the_presigned_configuration_url_returns_the_stored_bytes_until_it_expires(service, clock):
    config = "# comments and spacing are kept\nBuild:\n    InstanceType:   c6i.xlarge\n" \
             "    ParentImage: ami-0123456789abcdef0\n"
    service.build_image("img", config)
    url = service.describe_image("img", base_url="http://x")["imageConfiguration"]["url"]
    query = dict(part.split("=") for part in url.split("?")[1].split("&"))
    assert service.image_config("img", None, query["Expires"], query["Signature"]) == config
    assert error_of(service.image_config, "img", None, query["Expires"], "0" * 64).status == 403
    clock.advance(3601)
    assert error_of(service.image_config, "img", None, query["Expires"], query["Signature"]).status == 403


def test_logs_grow_with_the_build(service, clock):
    service.build_image("img", CONFIG)
    stream = service.list_image_log_streams("img")["logStreams"][0]["logStreamName"]
    assert len(service.get_image_log_events("img", stream)["events"]) == 1
    clock.advance(3600)
    events = service.get_image_log_events("img", stream)["events"]
    assert events[-1]["message"] == "Image build completed"
    assert service.get_image_log_events("img", stream, limit=1)["events"] == events[-1:]
    assert service.get_image_log_events("img", stream, limit=1, start_from_head=True)["events"] == events[:1]
    assert error_of(service.get_image_log_events, "img", "other").status == 404


def test_state_is_read_back_from_the_file_by_a_new_service(tmp_path, clock):
    path = str(tmp_path / "state.sqlite")
    first = Store(path)
    ImageService(first, clock=clock, build_seconds=100).build_image("img", CONFIG)
    first.close()
    clock.advance(100)
    second = Store(path)
    assert ImageService(second, clock=clock).describe_image("img")["imageBuildStatus"] == "BUILD_COMPLETE"
    second.close()
