"""What only the package face has, through the plugin against the emulator: the scenarios both faces share are
tests/faces'. Here the plugin, not the program, resolves the region and the endpoint (from the stack's `pcimage:*`
configuration and its environment), and a configuration given as an object is diffed down to its keys.

Where confirmed: the engine's sequences as cited in `pulumi_pcimage/testing/engine.py` (pulumi/pulumi
`step_generator.go`, `step.go`); the request fields a plugin gets (URN, old inputs, detailed diff) in
`sdk/go/common/resource/plugin/provider_plugin.go`; the API's answers are the emulator's, held to AWS's
implementation by `tests/conformance`."""

from __future__ import annotations

from pulumi_pcimage import config
from pulumi_pcimage.emulator.catalog import official_ami_id

from tests.engine.conftest import agree

from .conftest import CONFIG, Image, start_plugin

BIGGER = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")


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


def test_the_region_is_resolved_by_the_plugin_and_pinned(plugin, emulator):
    image = Image(plugin)
    image.up(image.program())  # no region in the program: AWS_DEFAULT_REGION of the plugin's environment
    assert image.state.inputs["region"] == image.outputs["region"] == "us-east-1"
    assert image.refresh() == image.id
    image.destroy()
    agree(emulator)
