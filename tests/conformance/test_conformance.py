"""The same requests to AWS's own implementation (aws-parallelcluster 3.16.1's pcluster.api app, its AWS calls
served by moto) and to the emulator: same status, same body shape, same values where they matter.

Cases are grouped as the issue's error classes are; KNOWN_DIFFERENCES (compare.py) lists what cannot agree.
"""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_pcimage.emulator.catalog import official_ami_id

from .compare import compare

PARENT = official_ami_id("us-east-1")
ARM_PARENT = official_ami_id("us-east-1", architecture="arm64")
CONFIG = f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {PARENT}\n"
ERRORS = ("message", "configurationValidationErrors")
SUMMARY = ("image.imageId", "image.imageBuildStatus", "image.cloudformationStackStatus", "image.region",
           "image.version")
STACK_ARN = r"arn:aws:cloudformation:[a-z0-9-]+:\d{12}:stack/[A-Za-z0-9-]+/[0-9a-f-]{36}"


def both(aws, emulator, method: str, path: str, params: dict | None = None, json: Any = None):
    # The region is always sent, as the project's client does: AWS's app keeps the last request's region in
    # os.environ (a warm Lambda does too), so a request without one would depend on the one before.
    params = {"region": "us-east-1", **(params or {})}
    params = {key: value for key, value in params.items() if value is not None}
    return aws.call(method, path, params, json), emulator.call(method, path, params, json)


def build(image_id: str, config: str = CONFIG) -> dict:
    return {"imageId": image_id, "imageConfiguration": config}


# ---- official images and regions -------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {}, {"os": "rocky9"}, {"os": "ubuntu2404", "architecture": "arm64"}, {"region": "eu-west-1", "os": "rhel9"},
    {"os": "windows"}, {"architecture": "sparc"}, {"os": "windows", "architecture": "sparc"},
    {"region": "us-eest-1"}, {"region": "xx-north-9", "os": "windows"},
])
def test_official_images(aws, emulator, params):
    compare(f"list_official_images {params}", *both(aws, emulator, "GET", "/v3/images/official", params),
            values=("message", "images"))


@pytest.mark.parametrize("method, path, params", [
    ("GET", "/v3/images/custom", {"imageStatus": "AVAILABLE", "region": "us-eest-1"}),
    ("GET", "/v3/images/custom/some-image", {"region": "mars-1"}),
    ("DELETE", "/v3/images/custom/some-image", {"region": "eu-west-9"}),
    ("POST", "/v3/images/custom", {"region": "us-eest-1", "dryrun": "true"}),
])
def test_unsupported_regions(aws, emulator, method, path, params):
    body = build("region-check") if method == "POST" else None
    compare(f"{method} {path} {params}", *both(aws, emulator, method, path, params, body), values=("message",))


# ---- build_image: request-level errors are {"message"} only -----------------------------------------------------

@pytest.mark.parametrize("case, params, body", [
    ("missing imageId", {}, {"imageConfiguration": CONFIG}),
    ("missing imageConfiguration", {}, {"imageId": "no-config"}),
    ("imageId against the spec's pattern", {}, build("bad_id")),
    ("imageId over 128 characters", {}, build("a" + "b" * 128)),
    ("empty configuration", {}, build("empty", "")),
    ("bad suppressValidators", {"suppressValidators": "NONE"}, build("sv")),
    ("bad validationFailureLevel", {"validationFailureLevel": "FATAL"}, build("vfl")),
    ("region contradicts the configuration's Region", {"region": "eu-west-1"},
     build("regions", CONFIG + "Region: us-east-1\n")),
    ("unparseable YAML (a 500 on AWS)", {}, build("yaml", "Build: [unclosed\n")),
    ("a YAML list (a 500 on AWS)", {}, build("yaml-list", "- Build\n- Image\n")),
    ("Build is a string (a 500 on AWS)", {}, build("yaml-str", "Build: c6i.xlarge\n")),
])
def test_build_request_errors(aws, emulator, case, params, body):
    compare(f"build_image: {case}", *both(aws, emulator, "POST", "/v3/images/custom", {"dryrun": "true", **params},
                                          body), values=ERRORS)


# ---- build_image: configuration validation -----------------------------------------------------------------------

@pytest.mark.parametrize("case, config, params", [
    ("a valid configuration (dry run)", CONFIG, {}),
    ("a valid configuration at level INFO: no invented finding", CONFIG, {"validationFailureLevel": "INFO"}),
    ("an unknown parent image", "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n", {}),
    ("an unknown parent, suppressed by type",
     "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n",
     {"suppressValidators": "type:InstanceTypeBaseAMICompatibleValidator"}),
    ("an unknown parent, all validators suppressed",
     "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n", {"suppressValidators": "ALL"}),
    ("an unknown parent and an impossible instance type",
     "Build:\n  InstanceType: c6i.humongous\n  ParentImage: ami-0123456789abcdef0\n", {}),
    ("an impossible instance type", f"Build:\n  InstanceType: c6i.humongous\n  ParentImage: {PARENT}\n", {}),
    ("an arm64 instance type on an x86_64 parent", f"Build:\n  InstanceType: c7g.xlarge\n  ParentImage: {PARENT}\n",
     {}),
    ("an arm64 instance type on an arm64 parent",
     f"Build:\n  InstanceType: c7g.xlarge\n  ParentImage: {ARM_PARENT}\n", {}),
    ("a parent from another region", f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: "
                                     f"{official_ami_id('eu-west-1')}\n", {}),
    ("the parent in the configuration's Region", f"Region: eu-west-1\nBuild:\n  InstanceType: c6i.xlarge\n"
                                                 f"  ParentImage: {official_ami_id('eu-west-1')}\n", {"region": None}),
    ("Build missing", "Image:\n  Name: x\n", {}),
    ("Build empty", "Build: {}\n", {}),
    ("ParentImage missing", "Build:\n  InstanceType: c6i.xlarge\n", {}),
    ("a typo two levels down", f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {PARENT}\n"
                               "  UpdateOsPackage:\n    Enabled: true\n", {}),
    ("a typo in an image tag", f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {PARENT}\n"
                               "Image:\n  Tags:\n    - Key: team\n      Vaule: hpc\n", {}),
    ("ParentImage against its pattern, an unknown top-level key",
     "Imagee: {}\nBuild:\n  InstanceType: c6i.xlarge\n  ParentImage: centos7\n", {}),
])
def test_configuration_validation(aws, emulator, case, config, params):
    compare(f"build_image: {case}", *both(aws, emulator, "POST", "/v3/images/custom", {"dryrun": "true", **params},
                                          build("validated", config)), values=ERRORS)


def test_a_customers_own_parent_ami_registered_on_both_sides(aws, emulator):
    config = "Build:\n  InstanceType: c7g.xlarge\n  ParentImage: ami-0c0ffee0c0ffee0c0\n"
    compare("build_image: a customer's AMI not registered yet",
            *both(aws, emulator, "POST", "/v3/images/custom", {"dryrun": "true"}, build("own", config)),
            values=ERRORS)
    for side in (aws, emulator):
        side.register_parent_image("ami-0c0ffee0c0ffee0c0", "arm64")
    compare("build_image: a customer's registered AMI",
            *both(aws, emulator, "POST", "/v3/images/custom", {"dryrun": "true"}, build("own", config)),
            values=ERRORS)


# ---- the lifecycle of a successful build -----------------------------------------------------------------------

def test_a_build_from_start_to_deletion(aws, emulator):
    config = ("Image:\n  Name: hpc base\n  Tags: [{Key: team, Value: hpc}]\n"
              f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {PARENT}\n  Tags: [{{Key: cost, Value: c1}}]\n")
    accepted = both(aws, emulator, "POST", "/v3/images/custom", {"rollbackOnFailure": "true"}, build("life", config))
    compare("build_image: accepted", *accepted, values=SUMMARY, formats={"image.cloudformationStackArn": STACK_ARN})

    building = both(aws, emulator, "GET", "/v3/images/custom/life")
    compare("describe_image: building", *building,
            values=("imageId", "imageBuildStatus", "cloudformationStackStatus", "imageBuildLogsArn", "region",
                    "version", "cloudformationStackTags.*.key"),
            formats={"cloudformationStackArn": STACK_ARN, "imageConfiguration.url": r"https?://.+"})
    stack_tags = [{tag["key"]: tag["value"] for tag in side[1]["cloudformationStackTags"]} for side in building]
    for tags in stack_tags:  # Build.Tags reach the stack; the random bucket/directory names differ
        assert tags["cost"] == "c1" and tags["parallelcluster:image_name"] == "hpc base"

    compare("build_image: a taken id answers 409 before the configuration is validated",
            *both(aws, emulator, "POST", "/v3/images/custom", {"dryrun": "true"}, build("life", "Build: {}\n")),
            values=ERRORS)
    compare("list_images PENDING", *both(aws, emulator, "GET", "/v3/images/custom", {"imageStatus": "PENDING"}),
            values=("images.*.imageId", "images.*.imageBuildStatus", "nextToken"))
    # delete_image while building is not compared: see KNOWN_DIFFERENCES["delete while building"]

    done = emulator.complete("life")
    aws.complete("life", done["ec2AmiInfo"]["amiId"], done["ec2AmiInfo"]["architecture"])
    complete = both(aws, emulator, "GET", "/v3/images/custom/life")
    compare("describe_image: complete", *complete,
            values=("imageId", "imageBuildStatus", "region", "version", "ec2AmiInfo.amiId", "ec2AmiInfo.state",
                    "ec2AmiInfo.architecture", "ec2AmiInfo.tags.*.key"),
            formats={"ec2AmiInfo.amiName": r"hpc base \d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z",
                     "creationTime": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z"},
            unordered=("ec2AmiInfo.tags",))  # Image Builder's AmiTags is a map: the AMI's tags have no order
    ami_tags = [{tag["key"]: tag["value"] for tag in side[1]["ec2AmiInfo"]["tags"]} for side in complete]
    for tags in ami_tags:
        assert tags["team"] == "hpc" and tags["parallelcluster:build_status"] == "available"
        assert tags["parallelcluster:parent_image"] == PARENT
    stable = ("team", "parallelcluster:image_name", "parallelcluster:image_id", "parallelcluster:version",
              "parallelcluster:build_log", "Ec2ImageBuilderArn", "parallelcluster:parent_image")
    assert {k: ami_tags[0][k] for k in stable} == {k: ami_tags[1][k] for k in stable}

    compare("list_images AVAILABLE", *both(aws, emulator, "GET", "/v3/images/custom", {"imageStatus": "AVAILABLE"}),
            values=("images", "nextToken"))
    compare("get_image_stack_events: the stack deleted itself",
            *both(aws, emulator, "GET", "/v3/images/custom/life/stackevents"), values=("message",))
    child = f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {done['ec2AmiInfo']['amiId']}\n"
    compare("build_image: a built image is a valid parent",
            *both(aws, emulator, "POST", "/v3/images/custom", {"dryrun": "true"}, build("child", child)),
            values=ERRORS)

    compare("delete_image: a complete image", *both(aws, emulator, "DELETE", "/v3/images/custom/life"),
            values=("image",))
    compare("describe_image: right after its deletion", *both(aws, emulator, "GET", "/v3/images/custom/life"),
            values=("message",))
    compare("delete_image: a second time", *both(aws, emulator, "DELETE", "/v3/images/custom/life"),
            values=("message",))


# ---- failed builds ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rollback", [False, True])
def test_a_failed_build_until_it_is_deleted(aws, emulator, rollback):
    image_id = f"broken-{str(rollback).lower()}"
    both(aws, emulator, "POST", "/v3/images/custom", {"rollbackOnFailure": str(rollback).lower()}, build(image_id))
    for side in (aws, emulator):
        side.fail(image_id, rollback)
    compare(f"describe_image: failed (rollback {rollback})", *both(aws, emulator, "GET",
                                                                   f"/v3/images/custom/{image_id}"),
            values=("imageBuildStatus", "cloudformationStackStatus"))
    listed = both(aws, emulator, "GET", "/v3/images/custom", {"imageStatus": "FAILED"})
    compare(f"list_images FAILED (rollback {rollback})", *listed)
    compare(f"build_image: the id of a failed build is taken (rollback {rollback})",
            *both(aws, emulator, "POST", "/v3/images/custom", {"dryrun": "true"}, build(image_id)), values=ERRORS)
    compare(f"delete_image: failed (rollback {rollback})", *both(aws, emulator, "DELETE",
                                                                 f"/v3/images/custom/{image_id}"),
            values=("image.imageBuildStatus", "image.cloudformationStackStatus"))
    compare(f"describe_image: after deleting a failed build (rollback {rollback})",
            *both(aws, emulator, "GET", f"/v3/images/custom/{image_id}"), values=("message",))


# ---- pagination: AWS filters each page after fetching it --------------------------------------------------------

def test_pages_are_filtered_after_paging(aws, emulator):
    region = "ap-southeast-2"
    config = f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {official_ami_id(region)}\n"
    for n, outcome in enumerate(["fail", "fail", "build", "fail", "build"]):
        both(aws, emulator, "POST", "/v3/images/custom", {"region": region}, build(f"page-{n}", config))
        if outcome == "fail":
            for side in (aws, emulator):
                side.fail(f"page-{n}", False, region)
    for status in ("PENDING", "FAILED"):
        aws_token = emu_token = None
        for page in range(4):
            aws_page = aws.call("GET", "/v3/images/custom", {"imageStatus": status, "region": region,
                                                            **({"nextToken": aws_token} if aws_token else {})})
            emu_page = emulator.call("GET", "/v3/images/custom", {"imageStatus": status, "region": region,
                                                                 **({"nextToken": emu_token} if emu_token else {})})
            compare(f"list_images {status} page {page + 1}", aws_page, emu_page, values=("images.*.imageId",))
            aws_token, emu_token = aws_page[1].get("nextToken"), emu_page[1].get("nextToken")
            if not aws_token:
                break


# ---- lookups ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, params", [
    ("GET", "/v3/images/custom/unknown-image", {}),
    ("GET", "/v3/images/custom/" + "a" * 200, {}),
    ("GET", "/v3/images/custom/bad_id", {}),
    ("DELETE", "/v3/images/custom/unknown-image", {}),
    ("DELETE", "/v3/images/custom/unknown-image", {"force": "maybe"}),
    ("GET", "/v3/images/custom/unknown-image/stackevents", {}),
    ("GET", "/v3/images/custom/unknown-image/logstreams", {}),
    ("GET", "/v3/images/custom/unknown-image/logstreams/stream-1", {}),
    ("GET", "/v3/images/custom/unknown-image/logstreams/stream-1", {"limit": "-1"}),
    ("GET", "/v3/images/custom", {}),
    ("GET", "/v3/images/custom", {"imageStatus": "DONE"}),
    ("GET", "/v3/images/custom", {"imageStatus": "FAILED", "region": "eu-west-1"}),
])
def test_lookups(aws, emulator, method, path, params):
    compare(f"{method} {path[:60]} {params}", *both(aws, emulator, method, path, params), values=("message",))
