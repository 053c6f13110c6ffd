"""The image lifecycle as a plain object: a fake clock, a real SQLite file, no sockets."""

from __future__ import annotations

import pytest

from pulumi_pcimage.emulator.catalog import official_ami_id, official_images
from pulumi_pcimage.emulator.models import ApiException, ImageService
from pulumi_pcimage.emulator.store import Store

from .conftest import CONFIG, config_in

PARENT = official_ami_id("us-east-1")


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
    # what Image Builder and ParallelCluster's cleanup Lambda add once the AMI exists
    assert {"key": "parallelcluster:build_status", "value": "available"} in ami["tags"]
    assert {"key": "parallelcluster:parent_image", "value": PARENT} in ami["tags"]
    assert error_of(service.get_image_stack_events, "img").status == 404
    # an image built here is a valid parent of the next one
    service.build_image("child", f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {ami['amiId']}\n")


def test_graviton_instance_types_build_arm64_images_with_the_configured_tags(service, clock):
    arm_parent = official_ami_id("us-east-1", architecture="arm64")
    config = ("Image:\n  Name: my image\n  Tags:\n    - Key: team\n      Value: hpc\n"
              f"Build:\n  InstanceType: r7gd.2xlarge\n  ParentImage: {arm_parent}\n"
              "  Tags:\n    - Key: cost-centre\n      Value: c1\n")
    service.build_image("arm", config)
    stack_tags = service.describe_image("arm")["cloudformationStackTags"]
    assert stack_tags[0] == {"key": "cost-centre", "value": "c1"}  # Build.Tags go on the stack, first
    clock.advance(3600)
    ami = service.describe_image("arm")["ec2AmiInfo"]
    assert ami["architecture"] == "arm64"
    # Image Builder appends the build date: 1_700_003_600 is 2023-11-14T23:13:20 UTC
    assert ami["amiName"] == "my image 2023-11-14T23-13-20.000Z"
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
    assert deleting == {"imageId": "img", "imageBuildStatus": "DELETE_IN_PROGRESS", "region": "us-east-1",
                        "version": "3.16.1"}  # no stack: it deleted itself when the build succeeded
    # AWS deregisters the AMI at once: the image is gone right away, and a second delete is a 404
    assert error_of(service.describe_image, "img").status == 404
    assert error_of(service.delete_image, "img").status == 404
    assert service.image_ids() == []


def test_a_failed_image_is_deleting_while_its_stack_is_deleted(service, clock):
    service.build_image("img", CONFIG)
    service.fail_build("img")
    assert service.delete_image("img")["image"]["cloudformationStackStatus"] == "DELETE_IN_PROGRESS"
    described = service.describe_image("img")
    assert described["imageBuildStatus"] == "DELETE_IN_PROGRESS"
    assert described["cloudformationStackStatusReason"] == "User Initiated"
    clock.advance(60)
    assert error_of(service.describe_image, "img").status == 404


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


def pages(service, status: str) -> list[list[str]]:
    found, token = [], None
    while True:
        page = service.list_images(status, next_token=token)
        found.append([image["imageId"] for image in page["images"]])
        token = page.get("nextToken")
        if not token:
            return found


def test_pages_are_filtered_after_paging_as_aws_does_unless_dense(service):
    for n in range(5):  # stacks in creation order: failed, failed, building, failed, building
        service.build_image(f"img{n}", CONFIG)
        if n in (0, 1, 3):
            service.fail_build(f"img{n}")
    # AWS pages over every build stack (2 a page here) and filters each page: the first PENDING page is empty
    assert pages(service, "PENDING") == [[], ["img2"], ["img4"]]
    assert pages(service, "FAILED") == [["img0", "img1"], ["img3"], []]
    service.sparse_pages = False  # --dense-pages
    assert pages(service, "PENDING") == [["img2", "img4"]]
    assert pages(service, "FAILED") == [["img0", "img1"], ["img3"]]


def test_images_live_per_region(service):
    service.build_image("img", config_in("eu-west-1"), region="eu-west-1")
    assert service.image_ids("eu-west-1") == ["img"]
    assert service.image_ids() == []
    assert error_of(service.describe_image, "img").status == 404
    assert service.describe_image("img", region="eu-west-1")["region"] == "eu-west-1"
    for region in ("moon-1", "us-eest-1"):  # the supported regions are AWS's list, not a pattern
        bad = error_of(service.describe_image, "img", region=region)
        assert bad.status == 400 and bad.body == {"message": f"Bad Request: invalid or unsupported region '{region}'"}
    # an official image of another region is not a parent here, as on AWS
    assert error_of(service.build_image, "img", config_in("eu-west-1")).status == 400


def test_config_region_is_used_and_must_agree_with_the_parameter(service):
    service.build_image("img", config_in("ap-southeast-2") + "Region: ap-southeast-2\n")
    assert service.image_ids("ap-southeast-2") == ["img"]
    conflict = error_of(service.build_image, "img2", config_in("ap-southeast-2") + "Region: ap-southeast-2\n",
                        region="us-west-2")
    assert conflict.status == 400 and conflict.body == {
        "message": "Bad Request: region is set in both parameter and configuration and conflicts."}


@pytest.mark.parametrize("image_id, config, fields", [
    ("img", "Image:\n  Name: x\n", "'Build', ['Missing data for required field.']"),
    ("img", f"Build:\n  ParentImage: {PARENT}\n", "'InstanceType': ['Missing data for required field.']"),
    ("img", "Build:\n  InstanceType: c5.xlarge\n", "'ParentImage': ['Missing data for required field.']"),
    ("img", "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ubuntu\n",
     "'ParentImage': ['String does not match expected pattern.']"),
    ("img", CONFIG + "Colour: blue\n", "('Colour', ['Unknown field.'])"),
])
def test_configurations_that_break_the_schema_get_one_schema_finding(service, image_id, config, fields):
    error = error_of(service.build_image, image_id, config)
    assert error.status == 400 and error.body["message"] == "Invalid image configuration."
    [only] = error.body["configurationValidationErrors"]
    assert only["type"] == "ImageSchemaValidator" and only["level"] == "ERROR" and fields in only["message"]
    assert service.image_ids() == []


@pytest.mark.parametrize("image_id, config, status, message", [
    ("9lives", CONFIG, 400, "Bad Request: '9lives' does not match '^[a-zA-Z][a-zA-Z0-9-]+$' - 'imageId'"),
    ("under_score", CONFIG, 400, "Bad Request: 'under_score' does not match '^[a-zA-Z][a-zA-Z0-9-]+$' - 'imageId'"),
    ("a" * 129, CONFIG, 400, "Image id '" + "a" * 129 + "' failed to satisfy constraint: The process id can "
     "contain only alphanumeric characters (case-sensitive) and hyphens. It must start with an alphabetic character "
     "and can't be longer than 128 characters."),
    ("img", "", 400, "Bad Request: configuration is required and cannot be empty"),
    # AWS's controller parses the YAML outside its error mapping: a 500 carrying the parser's words
    ("img", "Build: [unclosed", 500, "while parsing a flow sequence"),
    ("img", "- just\n- a list\n", 500, "'list' object has no attribute 'get'"),
])
def test_request_level_errors_are_a_message_only(service, image_id, config, status, message):
    error = error_of(service.build_image, image_id, config)
    assert error.status == status and set(error.body) == {"message"} and message in error.body["message"]
    assert service.image_ids() == []


def test_bad_suppressors_and_failure_levels_are_refused_with_a_message(service):
    error = error_of(service.build_image, "img", CONFIG, suppress=["type:Bad Name", "ALL"], failure_level="FATAL")
    assert error.body == {"message": "Bad Request: 'type:Bad Name' does not match '^(ALL|type:[A-Za-z0-9]+)$'"}
    error = error_of(service.build_image, "img", CONFIG, failure_level="FATAL")
    assert error.body == {"message": "Bad Request: 'FATAL' is not one of ['INFO', 'WARNING', 'ERROR']"}


def test_an_unknown_parent_image_is_refused_unless_registered_or_suppressed(service):
    unknown = "Build:\n  InstanceType: c5.xlarge\n  ParentImage: ami-0123456789abcdef0\n"
    refused = error_of(service.build_image, "img", unknown)
    assert refused.status == 400 and refused.body == {
        "message": "Configuration is invalid",
        "configurationValidationErrors": [{"level": "ERROR", "type": "InstanceTypeBaseAMICompatibleValidator",
                                           "message": "Invalid image 'ami-0123456789abcdef0'."}]}
    assert service.build_image("suppressed", unknown, suppress=["type:InstanceTypeBaseAMICompatibleValidator"])
    service.register_parent_image("ami-0123456789abcdef0", architecture="x86_64", name="hardened base")
    accepted = service.build_image("img", unknown)
    assert "validationMessages" not in accepted
    # 3.16.1 has no finding for a configuration without UpdateOsPackages: even INFO accepts it
    assert service.build_image("strict", unknown, failure_level="INFO")


def test_an_unsupported_instance_type_is_reported_by_the_validator_that_reports_it_on_aws(service):
    bad_type = f"Build:\n  InstanceType: huge\n  ParentImage: {PARENT}\n"
    [finding] = error_of(service.build_image, "bad-type", bad_type).body["configurationValidationErrors"]
    assert finding == {"level": "ERROR", "type": "InstanceTypeBaseAMICompatibleValidator",
                       "message": "The instance type 'huge' is not supported."}
    assert service.build_image("bad-type", bad_type, suppress=["type:InstanceTypeBaseAMICompatibleValidator"])


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
             f"    ParentImage: {PARENT}\n"
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


class TickingClock(FakeClock):
    """Moves on by `step` at every read: a request served while a build ends sees the end mid-answer."""

    def __init__(self, step: float):
        super().__init__()
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize("reads_before_the_end", range(16))  # the end falls at every read of the three answers
def test_a_build_ending_while_an_answer_is_written_is_reported_at_one_instant(tmp_path, reads_before_the_end):
    # CI once saw a 500 from list_images under 50 clients: the summary read the clock twice, saw the build running,
    # then complete, and looked up the stack status of a complete image. Every answer reads the clock once now.
    clock = TickingClock(step=1.0)
    store = Store(str(tmp_path / "state.sqlite"))
    service = ImageService(store, clock=clock, build_seconds=10, delete_seconds=60)
    try:
        assert service.build_image("img", CONFIG)["image"]["imageBuildStatus"] == "BUILD_IN_PROGRESS"
        clock.now = service.store.get("us-east-1", "img").ends_at - 1 - reads_before_the_end
        pending = service.list_images("PENDING")["images"]
        described = service.describe_image("img")
        available = service.list_images("AVAILABLE")["images"]
    finally:
        store.close()
    # whichever read saw the end, each answer is whole: in progress with its stack, or complete with its AMI
    for summary in [*pending, described, *available]:
        if summary["imageBuildStatus"] == "BUILD_IN_PROGRESS":
            assert summary["cloudformationStackStatus"] == "CREATE_IN_PROGRESS"
            assert "ec2AmiInfo" not in summary
        else:
            assert summary["imageBuildStatus"] == "BUILD_COMPLETE"
            assert summary["ec2AmiInfo"]["amiId"].startswith("ami-")
            assert "cloudformationStackStatus" not in summary
    if described["imageBuildStatus"] == "BUILD_COMPLETE":  # the AMI's description, not a build's
        assert "creationTime" in described and "imagebuilderImageStatus" not in described
