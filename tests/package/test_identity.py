"""Image identity and replacement safety through the plugin, under the engine's step sequences (the dynamic
provider's cases in tests/engine/test_identity.py): here the engine, not the program, hands the URN to Check.

Where confirmed: pulumi/pulumi `step_generator.go` (`generateSteps`: a `--replace` target and a new resource are
checked with no old inputs, aliases look the old state up under the old URN, `processIgnoreChanges` runs before
Check; `continueStepsFromDiff`: the second Check, the `deleteBeforeReplace` option overriding the provider) and
`sdk/go/common/resource/plugin/provider_plugin.go` (the URN in every request); modelled once in
`pulumi_pcimage/testing/engine.py`."""

from __future__ import annotations

import pytest

from pulumi_pcimage.testing import Options, Stack, urn

from tests.engine.conftest import agree

from .conftest import CONFIG, PROJECT, STACK, TYPE, Image

BIGGER = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")


def test_a_targeted_replacement_never_deletes_the_live_image(plugin, emulator):
    image = Image(plugin)
    image.up(image.program())
    live = image.id
    step = image.up(image.program(), Options(replace=True))
    assert (step.op, step.delete_before_replace) == ("replace", False)
    assert image.id == live and image.outputs["amiId"].startswith("ami-")
    agree(emulator, image)
    assert emulator.counters()["builds_started"] == 1
    assert any("not deleted: its replacement has the same configuration and image id" in r.message
               and r.urn == image.urn for r in plugin.log_requests)


@pytest.mark.parametrize("ignored, change", [("imageConfiguration", {"imageConfiguration": BIGGER}),
                                             ("region", {"region": "eu-west-1"})])
def test_ignore_changes_rebuilds_nothing(plugin, emulator, ignored, change):
    image = Image(plugin)
    image.up(image.program())
    live = image.id
    news = {**image.program(), **change}
    assert image.preview(news, Options(ignore_changes=[ignored])).op == "same"
    image.up(news, Options(ignore_changes=[ignored]))
    assert image.id == live and emulator.counters()["builds_started"] == 1
    agree(emulator, image)


@pytest.mark.parametrize("renamed", [dict(name="hpc-base-renamed"), dict(stack="prod"), dict(project="imaging2"),
                                     dict(type_=f"team:index:Images${TYPE}")])
def test_renames_rebuild_nothing(plugin, emulator, renamed):
    before = Image(plugin)
    before.up(before.program())
    new_urn = urn(renamed.get("name", "hpc-base"), renamed.get("type_", TYPE),
                  project=renamed.get("project", PROJECT), stack=renamed.get("stack", STACK))
    step = before.stack.up(new_urn, before.program(), Options(aliases=[before.urn]))
    assert step.op == "same" and list(before.stack.resources) == [new_urn]
    assert emulator.counters()["builds_started"] == 1
    assert emulator.images() == [before.stack.resources[new_urn].id]


def test_the_region_is_resolved_by_the_plugin_and_pinned(plugin, emulator):
    image = Image(plugin)
    image.up(image.program())  # no region in the program: AWS_DEFAULT_REGION of the plugin's environment
    assert image.state.inputs["region"] == image.outputs["region"] == "us-east-1"
    assert image.refresh() == image.id
    image.destroy()
    agree(emulator)


def test_same_name_under_different_parents_are_different_images(plugin, emulator):
    stack = Stack(plugin)
    gpu, cpu = (urn("base", f"team:index:{kind}${TYPE}", project=PROJECT, stack=STACK) for kind in ("Gpu", "Cpu"))
    stack.up(gpu, Image.program())
    stack.up(cpu, Image.program())
    assert stack.resources[gpu].id != stack.resources[cpu].id
    assert sorted(emulator.images()) == sorted(r.id for r in stack.resources.values())


def test_refresh_of_a_failed_image_plans_a_rebuild(plugin, emulator):
    image = Image(plugin)
    image.up(image.program())
    emulator.service.store.update("us-east-1", image.id, outcome="failed", reason="AMI deregistered")
    assert image.refresh() == image.id
    assert image.outputs["imageBuildStatus"] == "BUILD_FAILED" and "amiId" not in image.outputs
    step = image.preview(image.program())
    assert (step.op, step.diff.replaces, step.delete_before_replace) == ("replace", ["imageBuildStatus"], True)
    assert step.diff.detailed == {"imageBuildStatus": "UPDATE_REPLACE"}
    image.up(image.program())
    assert image.outputs["imageBuildStatus"] == "BUILD_COMPLETE" and image.outputs["amiId"].startswith("ami-")
    agree(emulator, image)
