"""The output forms inside a Pulumi program (run under mocks, CustomImage created by the real provider host).

Like Pulumi's own output-form invokes they answer during a preview when their inputs are known, and stay
unknown, asking the API nothing, while an input is unknown or comes from a resource not yet created.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pulumi_pcimage.testing import UNKNOWN, ProviderHost, run_program
from pulumi_pcimage.waiter import POLL_SCALE_ENV

PROGRAM = Path(__file__).parent / "program"
HOST_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", POLL_SCALE_ENV: "0.02"}


@pytest.fixture(scope="module")
def host():
    with ProviderHost(project="probe", env=HOST_ENV) as running:
        yield running


def test_preview_answers_known_inputs_and_leaves_the_rest_unknown(pcluster_emulator, host):
    run = run_program(PROGRAM, host, project="probe", preview=True)

    assert re.match(r"^ami-[0-9a-f]{17}$", run.outputs["parent_ami_id"])  # the plain call, during preview
    assert run.outputs["chosen"] == [["rocky9", "arm64"]]  # an Output input, known
    assert run.outputs["listed"] == []
    # The image does not exist yet: its id is known, its architecture is not; neither is asked about.
    assert run.outputs["described_ami_id"] == UNKNOWN and run.outputs["described_architecture"] == UNKNOWN
    assert run.outputs["same_architecture"] == UNKNOWN
    counters = pcluster_emulator.counters()
    assert counters["describe_image"] == 0 and counters["builds_started"] == 0
    assert counters["list_official_images"] == 2 and counters["list_images"] == 1


def test_up_answers_once_the_image_exists(pcluster_emulator, host):
    run = run_program(PROGRAM, host, project="probe")

    image = run.resource("probe").outputs
    assert run.outputs["described_ami_id"] == image["ami_id"]
    assert run.outputs["described_architecture"] == "x86_64"
    assert run.outputs["same_architecture"] == [run.outputs["parent_ami_id"]]
    assert pcluster_emulator.images() == [image["image_id"]]


def test_a_bad_argument_fails_the_run_listing_the_allowed_values(pcluster_emulator, host):
    with pytest.raises(ValueError, match="os 'windows' is not one of the allowed values: alinux2023, "):
        run_program(PROGRAM, host, project="probe", preview=True, config={"probe:os": "windows"})
    with pytest.raises(ValueError, match="image_status 'BUILDING' is not one of the allowed values: AVAILABLE, "
                                         "PENDING, FAILED"):
        run_program(PROGRAM, host, project="probe", preview=True, config={"probe:status": "BUILDING"})


def test_the_endpoint_comes_from_stack_config_as_for_custom_image(pcluster_emulator, host, monkeypatch):
    monkeypatch.delenv("PCLUSTER_API_URL")
    run = run_program(PROGRAM, host, project="probe", preview=True, config={"pcimage:apiUrl": pcluster_emulator.url})

    assert run.outputs["chosen"] == [["rocky9", "arm64"]]
    assert run.resource("probe").inputs["api_url"] == pcluster_emulator.url
    assert pcluster_emulator.counters()["list_official_images"] == 2
