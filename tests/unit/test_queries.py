"""The queries both faces serve (`queries.py`): each argument's rule and the message naming it, the calls through
a client, the typed results read from the API's answers, every page of a list."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from pulumi_pcimage import queries
from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.errors import ArgumentError, PcImageError
from pulumi_pcimage.fields import BY_NAME, IMAGE_ID_PATTERN
from pulumi_pcimage.package import schema
from pulumi_pcimage.queries import (IMAGE, IMAGES, OFFICIAL_IMAGES, Argument, ImageInfo, ImageSummary,
                                    OfficialImage, from_api)

OFFICIAL = {"amiId": "ami-0a1", "name": "aws-parallelcluster-3.16.1-rhel9-hvm-arm64-202612", "os": "rhel9",
            "architecture": "arm64", "version": "3.16.1"}
BUILT = {"imageId": "hpc", "imageBuildStatus": "BUILD_COMPLETE", "region": "eu-west-1", "version": "3.16.1",
         "creationTime": "2026-12-07T01:00:00Z", "imageBuildLogsArn": "arn:logs",
         "cloudformationStackStatus": "CREATE_COMPLETE", "cloudformationStackStatusReason": "done",
         "cloudformationStackArn": "arn:stack", "cloudformationStackCreationTime": "2026-12-07T00:00:00Z",
         "cloudformationStackTags": [{"key": "team", "value": "hpc"}, {"key": "cost", "value": 7}],
         "imagebuilderImageStatus": "AVAILABLE", "imagebuilderImageStatusReason": "built",
         "imageConfiguration": {"url": "https://bucket/presigned?X-Amz-Signature=secret"},
         "ec2AmiInfo": {"amiId": "ami-1", "amiName": "hpc 2026-12-07", "state": "AVAILABLE",
                        "description": "HPC", "architecture": "x86_64",
                        "tags": [{"key": "Name", "value": "hpc"}, "not a tag"]}}


class Client:
    """Answers each query's call from canned answers and records how it was asked."""

    def __init__(self, **answers: Any):
        self.answers, self.calls = answers, []

    def describe_official_images(self, **kwargs: Any) -> dict:
        self.calls.append(("describe_official_images", kwargs))
        return self.answers["official"]

    def iter_images(self, image_status: str, **kwargs: Any):
        self.calls.append(("iter_images", image_status, kwargs))
        yield from self.answers["images"]

    def describe_image(self, image_id: str, **kwargs: Any) -> dict:
        self.calls.append(("describe_image", image_id, kwargs))
        return self.answers["image"]


# ---------------------------------------------------------------- arguments

@pytest.mark.parametrize("argument, value, problem", [
    (Argument("os", choices=("rhel9", "rocky9")), "windows",
     "'windows' is not one of the allowed values: rhel9, rocky9"),
    (Argument("image_id", pattern=IMAGE_ID_PATTERN), "9lives", f"'9lives' must match {IMAGE_ID_PATTERN}"),
    (Argument("image_id", pattern=IMAGE_ID_PATTERN), "hpc base", f"'hpc base' must match {IMAGE_ID_PATTERN}"),
    (Argument("image_status", required=True), None, "is required"),
    (Argument("os"), 3, "must be a string, got 3"),
    (Argument("os", choices=("rhel9",)), ["rhel9"], "must be a string, got ['rhel9']"),
])
def test_a_broken_rule_is_said_after_the_arguments_name(argument, value, problem):
    assert argument.problem(value) == problem
    with pytest.raises(ArgumentError) as raised:
        argument.check("get_x", value)
    assert (raised.value.query, raised.value.argument, raised.value.problem) == ("get_x", argument.name, problem)
    assert str(raised.value) == f"get_x: {argument.name} {problem}"
    assert isinstance(raised.value, ValueError), "Python callers catch a ValueError, as they always did"
    assert isinstance(raised.value, PcImageError), "and one of ours"


@pytest.mark.parametrize("argument, value", [
    (Argument("os"), None),  # optional, absent
    (Argument("os", choices=("rhel9", "rocky9")), "rocky9"),
    (Argument("image_id", pattern=IMAGE_ID_PATTERN, required=True), "hpc-base-2"),
    (Argument("anything"), ""),
])
def test_a_value_that_keeps_the_rule_passes(argument, value):
    assert argument.problem(value) is None
    argument.check("get_x", value)  # no error


def test_a_face_names_the_query_and_the_argument_its_own_way():
    error = ArgumentError("list_images", "image_status", "is required")
    assert error.said_as("listImages", {"image_status": "imageStatus"}) == "listImages: imageStatus is required"
    assert error.said_as("listImages", {"os": "operatingSystem"}) == "listImages: image_status is required"
    assert str(error) == "list_images: image_status is required"


def test_region_and_the_connection_follow_the_resources_fields():
    assert queries.REGION == Argument("region", pattern=BY_NAME["region"].pattern)
    assert queries.CONNECTION == tuple(Argument(name, pattern=BY_NAME[name].pattern)
                                       for name in ("api_url", "aws_profile", "role_arn"))
    assert queries.REGION.problem("Mars").startswith("'Mars' must match ")
    assert queries.REGION.problem("eu-west-1") is None


def test_a_query_checks_its_own_arguments_in_order_then_the_region():
    with pytest.raises(ArgumentError, match="^get_official_images: os 'windows' is not one of"):
        OFFICIAL_IMAGES.check({"os": "windows", "architecture": "aarch64", "region": "Mars"})
    with pytest.raises(ArgumentError, match="^get_official_images: architecture 'aarch64' is not one of the "
                                            "allowed values: x86_64, arm64$"):
        OFFICIAL_IMAGES.check({"architecture": "aarch64", "region": "Mars"})
    with pytest.raises(ArgumentError, match="^get_official_images: region 'Mars' must match"):
        OFFICIAL_IMAGES.check({"region": "Mars"})
    OFFICIAL_IMAGES.check({})  # every argument optional
    with pytest.raises(ArgumentError, match="^list_images: image_status is required$"):
        IMAGES.check({"region": "eu-west-1"})
    with pytest.raises(ArgumentError, match="^list_images: image_status 'DONE' is not one of the allowed values: "
                                            "AVAILABLE, PENDING, FAILED$"):
        IMAGES.check({"image_status": "DONE"})
    with pytest.raises(ArgumentError, match="^get_image: image_id is required$"):
        IMAGE.check({"region": "Mars"})
    IMAGE.check({"image_id": "hpc", "region": "eu-west-1"})


def test_the_declarations():
    assert (OFFICIAL_IMAGES.name, OFFICIAL_IMAGES.result, OFFICIAL_IMAGES.many) == (
        "get_official_images", OfficialImage, True)
    assert (IMAGES.name, IMAGES.result, IMAGES.many) == ("list_images", ImageSummary, True)
    assert (IMAGE.name, IMAGE.result, IMAGE.many) == ("get_image", ImageInfo, False)
    assert queries.SUPPORTED_OSES == ("alinux2023", "ubuntu2204", "ubuntu2404", "rhel8", "rocky8", "rhel9", "rocky9")
    assert queries.SUPPORTED_ARCHITECTURES == ("x86_64", "arm64")
    assert queries.IMAGE_STATUSES == ("AVAILABLE", "PENDING", "FAILED")


# ---------------------------------------------------------------- calls and results

def test_official_images_are_asked_with_the_filters_and_typed():
    client = Client(official={"images": [OFFICIAL, {"amiId": "ami-0b2", "os": "rhel9"}]})
    found = OFFICIAL_IMAGES.run(client, {"os": "rhel9", "region": "eu-west-1"})
    assert client.calls == [("describe_official_images", {"region": "eu-west-1", "os": "rhel9",
                                                          "architecture": None})]
    assert found == [OfficialImage(ami_id="ami-0a1", name=OFFICIAL["name"], os="rhel9", architecture="arm64",
                                   version="3.16.1"),
                     OfficialImage(ami_id="ami-0b2", name=None, os="rhel9", architecture=None, version=None)]


@pytest.mark.parametrize("answer", [{}, {"images": None}, {"images": []}])
def test_no_official_images_is_an_empty_list(answer):
    assert queries.official_images(Client(official=answer)) == []


def test_list_images_reads_every_page_through_the_clients_iteration(monkeypatch):
    client = ParallelClusterClient("https://abc123.execute-api.eu-west-1.amazonaws.com/prod", region="eu-west-1")
    pages = {None: {"images": [{"imageId": "a", "imageBuildStatus": "BUILD_COMPLETE", "region": "eu-west-1",
                                "version": "3.16.1", "ec2AmiInfo": {"amiId": "ami-a"}}], "nextToken": "p2"},
             "p2": {"images": [{"imageId": "b", "imageBuildStatus": "BUILD_COMPLETE"}], "nextToken": "p3"},
             "p3": {"images": [{"imageId": "c", "cloudformationStackStatus": "CREATE_COMPLETE",
                                "cloudformationStackArn": "arn:c"}]}}
    asked = []

    def list_images(image_status, *, region=None, next_token=None):
        asked.append((image_status, region, next_token))
        return pages[next_token]

    monkeypatch.setattr(client, "list_images", list_images)
    found = IMAGES.run(client, {"image_status": "AVAILABLE", "region": "us-east-1"})
    assert asked == [("AVAILABLE", "us-east-1", None), ("AVAILABLE", "us-east-1", "p2"),
                     ("AVAILABLE", "us-east-1", "p3")]
    assert found == [
        ImageSummary(image_id="a", image_build_status="BUILD_COMPLETE", region="eu-west-1", version="3.16.1",
                     ami_id="ami-a"),
        ImageSummary(image_id="b", image_build_status="BUILD_COMPLETE", region=None, version=None),
        ImageSummary(image_id="c", image_build_status=None, region=None, version=None,
                     cloudformation_stack_status="CREATE_COMPLETE", cloudformation_stack_arn="arn:c")]


def test_one_image_is_described_with_every_field_and_no_presigned_url():
    client = Client(image=BUILT)
    info = IMAGE.run(client, {"image_id": "hpc"})
    assert client.calls == [("describe_image", "hpc", {"region": None})]
    assert dataclasses.asdict(info) == {
        "image_id": "hpc", "image_build_status": "BUILD_COMPLETE", "region": "eu-west-1", "version": "3.16.1",
        "ami_id": "ami-1", "ami_name": "hpc 2026-12-07", "ami_state": "AVAILABLE", "ami_description": "HPC",
        "architecture": "x86_64", "ami_tags": {"Name": "hpc"}, "creation_time": "2026-12-07T01:00:00Z",
        "image_build_logs_arn": "arn:logs", "cloudformation_stack_status": "CREATE_COMPLETE",
        "cloudformation_stack_status_reason": "done", "cloudformation_stack_arn": "arn:stack",
        "cloudformation_stack_creation_time": "2026-12-07T00:00:00Z",
        "cloudformation_stack_tags": {"team": "hpc", "cost": "7"}, "imagebuilder_image_status": "AVAILABLE",
        "imagebuilder_image_status_reason": "built"}
    assert "secret" not in repr(info)


def test_an_image_still_building_has_no_ami_yet():
    info = from_api(ImageInfo, {"imageId": "hpc", "imageBuildStatus": "BUILD_IN_PROGRESS", "ec2AmiInfo": "n/a",
                                "cloudformationStackTags": None})
    assert (info.image_id, info.image_build_status) == ("hpc", "BUILD_IN_PROGRESS")
    assert info.ami_id is None and info.ami_state is None, "a value that is no mapping has no keys"
    assert info.ami_tags == {} and info.cloudformation_stack_tags == {}


def test_each_result_field_reads_the_key_the_api_gives():
    assert [f.metadata["source"] for f in dataclasses.fields(OfficialImage)] == [
        ("amiId",), ("name",), ("os",), ("architecture",), ("version",)]
    assert all(f.default is None for cls in (OfficialImage, ImageSummary, ImageInfo) for f in dataclasses.fields(cls))
    assert hash(from_api(ImageInfo, BUILT)) == hash(from_api(ImageInfo, {**BUILT, "cloudformationStackTags": []})), \
        "tags (a dict) are left out of the hash"


def test_the_declarations_and_the_results_are_immutable_values():
    # shared by both faces at module level: nobody can change a rule or a result under another caller
    for declared, attribute in ((IMAGE, "name"), (queries.REGION, "pattern")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(declared, attribute, None)
    found = OFFICIAL_IMAGES.run(Client(official={"images": [OFFICIAL, OFFICIAL]}), {})
    assert len(set(found)) == 1, "equal results are one in a set"
    [summary] = IMAGES.run(Client(images=[{"imageId": "a"}]), {"image_status": "PENDING"})
    assert {summary: 1}[from_api(ImageSummary, {"imageId": "a"})] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.image_id = "b"


def test_each_result_field_is_documented_as_the_shipped_schema_says():
    # The docs and the enumerations land in every language's SDK: the shipped schema.json holds them as published.
    shipped = json.loads((Path(schema.__file__).parent / "plugin" / "schema.json").read_text())
    where = {OfficialImage: shipped["types"]["pcimage:index:OfficialImage"]["properties"],
             ImageSummary: shipped["types"]["pcimage:index:ImageSummary"]["properties"],
             ImageInfo: shipped["functions"]["pcimage:index:getImage"]["outputs"]["properties"]}
    for cls, properties in where.items():
        assert len(properties) == len(dataclasses.fields(cls)), cls
        for f in dataclasses.fields(cls):
            published = properties[schema.camel(f.name)]
            assert published["description"] == schema.neutral(f.metadata["doc"]), (cls.__name__, f.name)
            enum = published.get("$ref", "").removeprefix("#/types/")
            values = tuple(e["value"] for e in shipped["types"][enum]["enum"]) if enum else ()
            assert values == f.metadata["choices"], (cls.__name__, f.name)
    assert [f.name for f in dataclasses.fields(ImageInfo) if f.metadata["choices"]] == [
        "image_build_status", "architecture"]
