"""The program-side face of the queries (`functions.py`): what it adds to them. The stack's configuration gives the
endpoint and the default region, clients are built once per setting, and Outputs are refused with a pointer to the
`_output` twin, before any client is built. (tests/functions runs them against the emulator.)"""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime.config import set_all_config

from pulumi_pcimage import functions
from pulumi_pcimage.lifecycle import state

API = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
ROLE = "arn:aws:iam::123456789012:role/builder"


class Api:
    def __init__(self):
        self.calls = []

    def describe_official_images(self, **kwargs):
        self.calls.append(("describe_official_images", kwargs))
        return {"images": [{"amiId": "ami-0a1", "os": "rocky9"}]}

    def iter_images(self, image_status, **kwargs):
        self.calls.append(("iter_images", image_status, kwargs))
        yield {"imageId": "hpc", "imageBuildStatus": "BUILD_COMPLETE"}

    def describe_image(self, image_id, **kwargs):
        self.calls.append(("describe_image", image_id, kwargs))
        return {"imageId": image_id, "ec2AmiInfo": {"amiId": "ami-1"}}


@pytest.fixture
def made(monkeypatch):
    """Every client the functions build (its settings), each answering from one scripted API."""
    built: list[tuple] = []
    api = Api()

    def make_client(api_url, *, region, profile, role_arn, max_attempts):
        built.append((api_url, region, profile, role_arn))
        return api

    monkeypatch.setattr(state, "make_client", make_client)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "PCLUSTER_API_URL", "PCLUSTER_API_STACK_NAME"):
        monkeypatch.delenv(name, raising=False)
    set_all_config({"aws:region": "eu-north-1", "pcimage:apiUrl": API}, [])
    yield built, api
    set_all_config({}, [])  # process-wide: leave no stack config behind


def test_the_stack_config_gives_the_endpoint_and_the_region_the_client_is_built_for(made):
    built, api = made
    [found] = functions.get_official_images(os="rocky9", region="eu-west-1", aws_profile="team", role_arn=ROLE)
    assert found.ami_id == "ami-0a1"
    assert built == [(API, "eu-north-1", "team", ROLE)], "signed for aws:region; the images' region is a parameter"
    assert api.calls == [("describe_official_images", {"region": "eu-west-1", "os": "rocky9", "architecture": None})]

    assert [i.image_id for i in functions.list_images("AVAILABLE")] == ["hpc"]
    assert functions.get_image("hpc", api_url="https://other.example.com/prod").ami_id == "ami-1"
    assert api.calls[1:] == [("iter_images", "AVAILABLE", {"region": None}),
                             ("describe_image", "hpc", {"region": None})]
    assert built[1:] == [(API, "eu-north-1", None, None), ("https://other.example.com/prod", "eu-north-1", None, None)]


def test_a_client_is_built_once_per_setting_until_the_clients_are_forgotten(made):
    built, _ = made
    functions.list_images("AVAILABLE")
    functions.get_image("hpc")
    assert len(built) == 1
    functions.forget_clients()
    functions.get_image("hpc")
    assert len(built) == 2


@pytest.mark.parametrize("call, message", [
    (lambda o: functions.get_image(o), "get_image: image_id is a pulumi Output; pass plain values, or use "
                                       "get_image_output, which takes Inputs"),
    (lambda o: functions.list_images("AVAILABLE", region=o), "list_images: region is a pulumi Output"),
    (lambda o: functions.get_official_images(role_arn=o), "get_official_images: role_arn is a pulumi Output; "
                                                          "pass plain values, or use get_official_images_output"),
])
def test_an_output_is_refused_with_a_pointer_to_the_output_twin(made, call, message):
    with pytest.raises(ValueError) as raised:
        call(pulumi.Output.from_input("hpc"))
    assert str(raised.value).startswith(message)
    assert made[0] == [], "refused before any client is built"


def test_arguments_are_checked_in_order_before_the_endpoint_and_the_client(made, monkeypatch):
    with pytest.raises(ValueError, match="^get_official_images: os 'windows' is not one of"):
        functions.get_official_images(os="windows", region="Mars", api_url="ftp://example.com")
    with pytest.raises(ValueError, match="^get_official_images: region 'Mars' must match"):
        functions.get_official_images(region="Mars", api_url="ftp://example.com")
    with pytest.raises(ValueError, match="^get_image: api_url 'ftp://example.com' must match"):
        functions.get_image("hpc", api_url="ftp://example.com", role_arn="admin")
    with pytest.raises(ValueError, match="^list_images: aws_profile must be a string, got 7"):
        functions.list_images("FAILED", aws_profile=7, role_arn="admin")
    with pytest.raises(ValueError, match="^list_images: role_arn 'admin' must match"):
        functions.list_images("FAILED", role_arn="admin")
    assert made[0] == []


def test_the_results_are_importable_from_the_functions_as_before():
    from pulumi_pcimage import queries

    assert (functions.OfficialImage, functions.ImageSummary, functions.ImageInfo) == (
        queries.OfficialImage, queries.ImageSummary, queries.ImageInfo)
    assert functions.SUPPORTED_OSES is queries.SUPPORTED_OSES and functions.IMAGE_STATUSES is queries.IMAGE_STATUSES
    assert functions.SUPPORTED_ARCHITECTURES is queries.SUPPORTED_ARCHITECTURES
