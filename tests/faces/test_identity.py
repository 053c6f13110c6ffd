"""Image identity and replacement safety under the engine's full step sequences (the identity issue's cases), on
each face.

Each test replays what the engine does, as read in pulumi/pulumi and cited in `pulumi_pcimage/testing/engine.py`
(step_generator.go `generateSteps`: a `--replace` target and a new resource are checked with no old inputs, aliases
look the old state up under the old URN, `processIgnoreChanges` runs before Check; `continueStepsFromDiff`: the
second Check, the `deleteBeforeReplace` option overriding the provider; step.go; provider_plugin.go: the URN in
every request), against the emulator, and ends with what AWS (the emulator) holds and what the state says: they
must agree.
"""

from __future__ import annotations

import pytest

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_ami_id
from pulumi_pcimage.testing import CheckRejected, HostError, Options

from tests.engine.conftest import CONFIG, agree

from .conftest import Face

BIGGER = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")


# 1. targeted replacement: `pulumi up --replace` (step_generator.go `diff`: ReplaceKeys ["id"], no Diff call;
#    `generateSteps`: a --replace target is checked with no old inputs; no second Check)

def test_a_targeted_replacement_never_deletes_the_live_image(face: Face, emulator):
    image = face.image()
    image.up(image.program())
    live = image.id
    step = image.up(image.program(), Options(replace=True))
    assert (step.op, step.delete_before_replace) == ("replace", False)
    # same configuration, same derived id: the replacement took the live image over and its delete left it alone
    assert image.id == live and image.out["ami_id"].startswith("ami-")
    agree(emulator, image)
    assert emulator.counters()["builds_started"] == 1
    assert "not deleted: its replacement has the same configuration and image id" in face.said(urn=image.urn)


def test_a_second_targeted_replacement_keeps_the_image_too(face: Face, emulator):
    image = face.image()
    image.up(image.program())
    live = image.id
    image.up(image.program(), Options(replace=True))
    image.up(image.program(), Options(replace=True))  # its old resource is the first replacement
    assert image.id == live and image.out["ami_id"].startswith("ami-")
    agree(emulator, image)
    assert emulator.counters()["builds_started"] == 1


def test_a_targeted_replacement_with_delete_before_replace_rebuilds(face: Face, emulator):
    image = face.image()
    image.up(image.program())
    first_ami = image.out["ami_id"]
    image.up(image.program(), Options(replace=True, delete_before_replace=True))
    assert emulator.counters()["builds_started"] == 2 and image.out["ami_id"] != first_ami
    assert emulator.images() == [image.id]


def test_a_fixed_id_never_adopts_its_previous_configuration(face: Face, emulator):
    # the user forces create-before-delete on a fixed id (step_generator.go: the option overrides the provider)
    image = face.image()
    image.up(image.program(image_id="team-base", adopt_existing=True))
    old_ami = image.out["ami_id"]
    with pytest.raises(HostError, match="holds this resource's image built from its previous configuration .* "
                                        "must delete the old image before building the new one"):
        image.up(image.program(BIGGER, image_id="team-base", adopt_existing=True),
                 Options(delete_before_replace=False))
    assert image.id == "team-base" and image.out["ami_id"] == old_ami
    assert image.ins["image_configuration"] == CONFIG, "the state still describes the live image"
    agree(emulator, image)


# 2. preview validation of a fixed id (AWS checks the id before the configuration: the emulator does too)

def test_preview_validates_a_changed_configuration_of_a_fixed_id(face: Face, emulator):
    image = face.image()
    image.up(image.program(image_id="team-base"))
    bad = CONFIG.replace("c6i.xlarge", "huge-machine")
    with pytest.raises(CheckRejected) as refused:
        image.preview(image.program(bad, image_id="team-base"))
    assert refused.value.failures == [
        (face.p("image_configuration"),
         "InstanceTypeBaseAMICompatibleValidator (ERROR): The instance type 'huge-machine' is not supported.")]
    agree(emulator, image)
    assert emulator.counters()["builds_started"] == 1


# 3. ignore_changes (step_generator.go `processIgnoreChanges` before Check)

@pytest.mark.parametrize("ignored, change", [("image_configuration", BIGGER), ("region", "eu-west-1")])
def test_ignore_changes_rebuilds_nothing(face: Face, emulator, ignored, change):
    image = face.image()
    image.up(image.program())
    live = image.id
    news = {**image.program(), face.p(ignored): change}
    assert image.preview(news, Options(ignore_changes=[face.p(ignored)])).op == "same"
    image.up(news, Options(ignore_changes=[face.p(ignored)]))
    assert image.id == live and emulator.counters()["builds_started"] == 1
    agree(emulator, image)


# 4. renames: aliases, stack and project renames (step_generator.go: old state found under an alias, Olds = its
#    inputs)

@pytest.mark.parametrize("renamed", [dict(name="hpc-base-renamed"), dict(stack_name="prod"),
                                     dict(project="imaging2"), dict(parent_type="team:index:Images")])
def test_renames_rebuild_nothing(face: Face, emulator, renamed):
    before = face.image()
    before.up(before.program())
    after = face.image(**{"name": "hpc-base", **renamed, "stack": before.stack})
    step = after.up(after.program(), Options(aliases=[before.urn]))
    assert step.op == "same" and after.id and before.id == ""
    assert list(after.stack.resources) == [after.urn]
    assert emulator.counters()["builds_started"] == 1
    agree(emulator, after)


# 5. the region is pinned in the state

def test_refresh_and_destroy_use_the_pinned_region(face: Face, emulator):
    # the host's own default region is us-east-1 (AWS_DEFAULT_REGION): the state's eu-west-1 wins
    image = face.image()
    in_ireland = CONFIG.replace(official_ami_id("us-east-1"), official_ami_id("eu-west-1"))
    image.up(image.program(in_ireland, region="eu-west-1"))
    assert image.ins["region"] == image.out["region"] == "eu-west-1"
    assert image.refresh() == image.id, "found where it lives"
    agree(emulator, image, region="eu-west-1")
    image.destroy()
    assert emulator.images(region="eu-west-1") == [] and emulator.images(region="us-east-1") == []


# 6. two resources with the same name under different parents

def test_same_name_under_different_parents_are_different_images(face: Face, emulator):
    a = face.image("base", parent_type="team:index:Gpu")
    b = face.image("base", parent_type="team:index:Cpu", stack=a.stack)
    a.up(a.program())
    b.up(b.program())
    assert a.id != b.id
    agree(emulator, a, b)
    a.destroy()
    agree(emulator, b)
    assert emulator.counters()["builds_started"] == 2


# 7. endpoint and identity changes are verified

def test_an_endpoint_that_cannot_see_the_image_is_refused(face: Face, emulator):
    image = face.image()
    image.up(image.program())
    with Emulator(build_seconds=1, delete_seconds=0.2) as elsewhere:
        with pytest.raises(HostError, match=rf"cannot be found through the new {face.p('api_url')} .* "
                                            "nothing was changed"):
            image.up(image.program(api_url=elsewhere.url))
    assert image.out["api_url"] == emulator.url, "state unchanged"
    assert image.refresh() == image.id
    agree(emulator, image)


# 8. refresh of an image that is no longer usable plans its rebuild

def test_refresh_of_a_failed_image_plans_a_rebuild(face: Face, emulator):
    image = face.image()
    image.up(image.program())
    # out of band, at AWS: the image's stack is failed again (the emulator's store is AWS's side)
    emulator.service.store.update("us-east-1", image.id, outcome="failed", reason="AMI deregistered")
    assert image.refresh() == image.id
    assert image.out["image_build_status"] == "BUILD_FAILED" and "ami_id" not in image.out
    step = image.preview(image.program())
    assert (step.op, step.diff.replaces, step.delete_before_replace) == (
        "replace", [face.p("image_build_status")], True)
    if face.detailed_diff:
        assert step.diff.detailed == {face.p("image_build_status"): "UPDATE_REPLACE"}
    image.up(image.program())
    assert image.out["image_build_status"] == "BUILD_COMPLETE" and image.out["ami_id"].startswith("ami-")
    agree(emulator, image)


# 9. the old image of a replacement is in use: its delete is retried later with the old inputs

def test_a_replaced_image_in_use_stays_pending_until_freed(face: Face, emulator):
    image = face.image()
    image.up(image.program())
    old = image.id
    emulator.set_in_use(old)
    with pytest.raises(HostError) as refused:
        image.up(image.program(BIGGER))
    message = refused.value.details
    assert "It is the image this resource had before a replacement" in message
    assert f"setting {face.p('force_delete')} on the resource does not reach it" in message
    assert "Stop what uses the AMI (instances, launch templates, shares) and run `pulumi up` again" in message
    assert "`pulumi state delete" not in message and ".." not in message
    assert [s.id for s in image.stack.pending_deletes] == [old]
    # force_delete in the program does not reach the pending delete: it runs with the old inputs (and says so)
    with pytest.raises(HostError, match="is used by instances .* does not reach it"):
        image.up(image.program(BIGGER, force_delete=True))
    emulator.set_in_use(old, False)
    image.up(image.program(BIGGER, force_delete=True))
    assert image.stack.pending_deletes == []
    agree(emulator, image)
