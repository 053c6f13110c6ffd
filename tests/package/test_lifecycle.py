"""A pcimage:index:CustomImage's life through the plugin: the dynamic provider's engine scenarios, with what only
a package has on top (the URN in Check and Create, camelCase properties, detailed diffs).

Where confirmed: the engine's sequences as cited in `pulumi_pcimage/testing/engine.py` (pulumi/pulumi
`step_generator.go`, `step.go`); the request fields a plugin gets (URN, `timeout`, old inputs, detailed diff) in
`sdk/go/common/resource/plugin/provider_plugin.go` and the SDK's `pulumi/runtime/proto/provider_pb2`; the API's answers
are the emulator's, held to AWS's implementation by `tests/conformance`."""

from __future__ import annotations

import pytest

from pulumi_pcimage import config
from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.testing import UNKNOWN, CheckRejected, HostError, Options

from pulumi_pcimage.emulator.catalog import official_ami_id

from .conftest import CONFIG, Image, start_plugin, wait_for

BIGGER = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")
REORDERED = """\
Image: {Name: "hpc-base"}       # names first now
Build:
    UpdateOsPackages:
        Enabled: true
    ParentImage: '{parent}'
    InstanceType: c6i.xlarge
""".replace("{parent}", official_ami_id("us-east-1"))


def test_lifecycle_of_an_image(plugin, emulator):
    image = Image(plugin)
    # preview of a new image whose parent AMI is not known yet: nothing to validate, nothing sent
    assert image.preview(image.program(UNKNOWN)).op == "create"
    assert emulator.counters()["total"] == 0
    # with the configuration known, the dry run validates it and nothing is built
    assert image.preview(image.program()).op == "create"
    assert emulator.counters()["build_image"] == 1 and emulator.counters()["builds_started"] == 0

    # up: the id is derived from the URN the engine sent; region and endpoint were resolved by the plugin
    image.up(image.program())
    first = image.id
    assert first.startswith("hpc-base-") and image.outputs["amiId"].startswith("ami-")
    assert image.outputs["imageBuildStatus"] == "BUILD_COMPLETE" and image.outputs["region"] == "us-east-1"
    assert image.outputs["apiUrl"] == emulator.url and image.outputs["imageConfiguration"] == CONFIG
    assert image.state.inputs["owner"].startswith("imaging/dev/hpc-base@"), "the owner marker, not the URN"
    assert emulator.images() == [first]

    # nothing changed, or only reordered and commented: nothing is sent
    emulator.reset_counters()
    assert image.preview(image.program()).op == "same"
    assert image.preview(image.program(REORDERED)).op == "same"
    assert emulator.counters()["total"] == 0

    # an option changes in place
    step = image.up(image.program(forceDelete=True, buildTimeoutMinutes=240))
    assert (step.op, step.diff.replaces, step.diff.detailed) == (
        "update", [], {"forceDelete": "UPDATE", "buildTimeoutMinutes": "UPDATE"})
    assert image.outputs["forceDelete"] is True and image.outputs["amiId"].startswith("ami-")

    # a configuration change: the preview names the property that forces the replacement (YAML text changes as a
    # whole: the engine cannot walk a path into a string)
    step = image.preview(image.program(BIGGER, forceDelete=True, buildTimeoutMinutes=240))
    assert step.op == "replace" and step.diff.replaces == ["imageConfiguration", "imageId"]
    assert step.diff.detailed == {"imageConfiguration": "UPDATE_REPLACE", "imageId": "UPDATE_REPLACE"}
    assert step.diff.delete_before_replace is False
    image.up(image.program(BIGGER, forceDelete=True, buildTimeoutMinutes=240))
    assert image.id != first and emulator.images() == [image.id]

    # refresh after an out-of-band delete drops it; the next preview plans a create
    ParallelClusterClient(emulator.url).delete_image(image.id)
    wait_for(lambda: emulator.images() == [], "out-of-band delete finished")
    assert image.refresh() == "" and image.state is None
    assert image.preview(image.program(BIGGER)).op == "create"

    # destroy deletes and waits
    image.up(image.program(BIGGER))
    image.destroy()
    assert emulator.images() == []


def test_an_object_configuration_is_diffed_down_to_the_keys_that_changed(plugin, emulator):
    image = Image(plugin)
    image.up(image.program(config.load(CONFIG)))
    assert image.state.inputs["imageConfiguration"] == image.outputs["imageConfiguration"] == config.load(CONFIG)
    step = image.preview(image.program(config.load(BIGGER)))
    assert step.diff.detailed == {"imageConfiguration.Build.InstanceType": "UPDATE_REPLACE",
                                  "imageId": "UPDATE_REPLACE"}
    changed = CONFIG.replace("  UpdateOsPackages: {Enabled: true}\n",
                             "  Iam: {InstanceRole: arn:aws:iam::123456789012:role/x}\n")
    step = image.preview(image.program(config.load(changed)))
    assert step.diff.detailed == {"imageConfiguration.Build.Iam": "ADD_REPLACE",
                                  "imageConfiguration.Build.UpdateOsPackages": "DELETE_REPLACE",
                                  "imageId": "UPDATE_REPLACE"}
    assert image.preview(image.program(CONFIG)).op == "same", "the same configuration as text"


def test_a_fixed_image_id_is_deleted_before_its_replacement(plugin, emulator):
    image = Image(plugin)
    image.up(image.program(imageId="team-base"))
    step = image.up(image.program(BIGGER, imageId="team-base"))
    assert (step.diff.replaces, step.diff.delete_before_replace) == (["imageConfiguration"], True)
    assert image.id == "team-base" and emulator.images() == ["team-base"]


def test_a_targeted_replace_builds_anew_only_when_deleting_first(plugin, emulator):
    image = Image(plugin)
    image.up(image.program())
    image.up(image.program(), Options(replace=True, delete_before_replace=True))
    assert emulator.counters()["builds_started"] == 2 and emulator.images() == [image.id]


def test_bad_input_is_refused_in_check_with_the_property_and_the_rule(plugin, emulator):
    image = Image(plugin)
    emulator.reset_counters()
    with pytest.raises(CheckRejected) as refused:
        image.preview(image.program(imageId="1-bad", validationFailureLevel="LOUD", colour="blue"))
    reasons = dict(refused.value.failures)
    assert "imageId '1-bad' is not valid: must start with a letter" in reasons["imageId"]
    assert "validationFailureLevel is 'LOUD' but must be one of INFO, WARNING, ERROR" in \
        reasons["validationFailureLevel"]
    assert "unknown property 'colour'" in reasons["colour"]
    assert emulator.counters()["total"] == 0
    # the validators' verdict, from the API's dry run
    with pytest.raises(CheckRejected) as refused:
        image.preview(image.program(CONFIG.replace("c6i.xlarge", "huge-machine")))
    assert refused.value.failures == [
        ("imageConfiguration",
         "InstanceTypeBaseAMICompatibleValidator (ERROR): The instance type 'huge-machine' is not supported.")]


def test_a_failed_build_explains_why_and_the_next_up_builds_again(plugin, emulator):
    image = Image(plugin)
    checked = plugin.check(image.urn, {}, image.program()).inputs
    pending = plugin.create_async(image.urn, checked)
    wait_for(lambda: emulator.images() == [checked["imageId"]], "the build started")
    emulator.fail_build(checked["imageId"], reason="component install-slurm exited with status 1")
    with pytest.raises(HostError) as failure:
        pending.result()
    assert "build failed (BUILD_FAILED)" in failure.value.details
    assert "component install-slurm exited with status 1" in failure.value.details
    assert emulator.images() == []
    image.up(image.program())
    assert image.outputs["amiId"].startswith("ami-")


def test_an_image_in_use_is_deleted_only_with_force_delete(plugin, emulator):
    image = Image(plugin)
    image.up(image.program())
    emulator.set_in_use(image.id)
    with pytest.raises(HostError, match="is used by instances .* setting forceDelete=True"):
        image.destroy()
    image.up(image.program(forceDelete=True))
    image.destroy()
    assert emulator.images() == []


def test_the_region_comes_from_the_provider_configuration(emulator):
    for region in ("eu-west-1", "us-west-2"):  # a customer's own parent AMI, copied to both regions
        emulator.register_parent_image(official_ami_id("us-east-1"), region=region)
    with start_plugin(emulator, config={"apiUrl": emulator.url, "region": "eu-west-1"}) as plugin:
        image = Image(plugin)
        image.up(image.program())
        assert image.outputs["region"] == "eu-west-1" and emulator.images(region="eu-west-1") == [image.id]
        # an explicit region wins
        other = Image(plugin, "other", image.stack)
        other.up(other.program(region="us-west-2"))
        assert emulator.images(region="us-west-2") == [other.id]
        image.stack.destroy()


def test_an_error_reads_as_advice_without_a_python_traceback(plugin, emulator):
    image = Image(plugin)
    image.up(image.program())
    emulator.set_in_use(image.id)
    with pytest.raises(HostError) as refused:
        image.destroy()
    assert "Stop what uses the AMI" in refused.value.details
    assert "Traceback" not in refused.value.details and 'File "' not in refused.value.details
