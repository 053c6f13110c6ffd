"""Import and refresh (`read_existing`, `read`): what the user gets for an image that already exists at the API."""

import pytest

from pulumi_pcimage import config
from pulumi_pcimage.errors import PcImageError
from pulumi_pcimage.lifecycle import Lifecycle

from .fakeapi import FakeImage
from .test_provider import CONFIG, create, inputs, urn
from pulumi_pcimage.provider import CustomImageProvider

FIND_WITH = {"api_url": "http://127.0.0.1:1/prod", "region": "us-east-1"}
# What every import answers besides the image's own values: the defaults of the options.
DEFAULTS = {"suppress_validators": [], "validation_failure_level": "ERROR", "rollback_on_failure": True,
            "force_delete": False, "build_timeout_minutes": 180, "delete_timeout_minutes": 60,
            "validate_on_preview": True, "keep_failed_image": False, "adopt_existing": False,
            "secret_configuration": False}
BUILT = {"ami_id": "ami-0f00", "ami_name": "hpc-base", "image_build_status": "BUILD_COMPLETE", "version": "3.16.1",
         "creation_time": "2026-01-01T00:00:00Z", "architecture": "x86_64"}


def tags_at_aws(api, image_id):
    doc = config.load(api.images[image_id].configuration)
    return config.owner_of(doc), config.tag_of(doc, config.GENERATION_TAG)


def test_an_image_built_by_a_program_imports_with_that_programs_inputs_and_identity(api):
    create(CustomImageProvider(api.host_state()))
    owner, generation = tags_at_aws(api, "hpc-base")
    assert owner.startswith("proj/dev/hpc-base@") and len(generation) == 16

    id_, ins, outs = Lifecycle(state=api.host_state()).read_existing("hpc-base", FIND_WITH, urn("imported"))

    assert id_ == "hpc-base"
    assert ins == {**DEFAULTS, **FIND_WITH, "image_configuration": CONFIG, "image_id": "hpc-base",
                   "owner": owner, "generation": generation}, "the user's text without our tags; the image's owner"
    assert outs == {**ins, **BUILT}


def test_an_image_built_outside_pulumi_is_owned_by_the_importing_resource_from_now_on(api):
    api.images["legacy"] = FakeImage(["BUILD_COMPLETE"], CONFIG)

    _, ins, outs = Lifecycle(state=api.host_state()).read_existing("legacy", FIND_WITH, urn("legacy"))

    assert ins["owner"].startswith("proj/dev/legacy@") and ins["generation"] == ""
    assert ins["image_configuration"] == CONFIG and ins["region"] == outs["region"] == "us-east-1"
    assert "role_arn" not in ins and "aws_profile" not in ins, "unset options are not declared"


def test_an_image_imports_in_the_region_the_api_says_it_is_in(api):
    api.images["legacy"] = FakeImage(["BUILD_COMPLETE"], CONFIG, extra={"region": "eu-west-1"})

    _, ins, outs = Lifecycle(state=api.host_state()).read_existing("legacy", FIND_WITH, urn("legacy"))

    assert ins["region"] == outs["region"] == "eu-west-1"
    assert api.ops("describe_image")[0][2] == {"region": "us-east-1"}, "looked up where the user said"


def test_an_imported_image_needs_no_change_at_the_next_preview(api):
    create(CustomImageProvider(api.host_state()))
    _, ins, outs = Lifecycle(state=api.host_state()).read_existing("hpc-base", FIND_WITH, urn("imported"))
    api.calls.clear()

    core = Lifecycle(state=api.host_state())
    checked = core.check(ins, inputs(owner=urn("imported")))
    assert checked.failures == []
    plan = core.diff("hpc-base", outs, checked.inputs)
    assert (plan.changes, plan.replaces, plan.updates) == (False, [], [])
    assert api.ops("build_image") == [], "no dry run either: the configuration is the one the image has"


def test_importing_an_id_that_does_not_exist_finds_nothing(api):
    assert Lifecycle(state=api.host_state()).read_existing("nothing-here", FIND_WITH, urn()) == ("", {}, {})


@pytest.mark.parametrize("status", ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"])
def test_importing_an_image_on_its_way_out_finds_nothing_and_leaves_it_alone(api, status):
    api.images["going"] = FakeImage([status], CONFIG)

    assert Lifecycle(state=api.host_state()).read_existing("going", FIND_WITH, urn()) == ("", {}, {})
    assert [op for op, _, _ in api.calls] == ["describe_image"]


def test_an_image_whose_configuration_cannot_be_read_is_not_imported(api):
    api.images["legacy"] = FakeImage(["BUILD_COMPLETE"], "Build: [unclosed")

    with pytest.raises(PcImageError) as refused:
        Lifecycle(state=api.host_state()).read_existing("legacy", FIND_WITH, urn())
    assert str(refused.value) == ("image 'legacy' cannot be imported: its configuration could not be read from "
                                  "describe_image's imageConfiguration.url (see the warning above)")


def test_a_refresh_outputs_the_id_it_was_asked_about(api):
    api.images["hpc-base"] = FakeImage(["BUILD_COMPLETE"], CONFIG)

    id_, outs = Lifecycle(state=api.host_state()).read("hpc-base", inputs(image_id=None))

    assert id_ == outs["image_id"] == "hpc-base"
    assert {k: outs[k] for k in BUILT} == BUILT


def test_a_refresh_records_the_region_the_api_says_the_image_is_in(api):
    api.images["hpc-base"] = FakeImage(["BUILD_COMPLETE"], CONFIG, extra={"region": "eu-west-1"})

    _, outs = Lifecycle(state=api.host_state()).read("hpc-base", inputs(region="us-east-1"))

    assert outs["region"] == "eu-west-1"
