"""Image identity and replacement safety under the engine's full step sequences (the identity issue, cases 1-10).

Each test replays what the engine does, as read in pulumi/pulumi and cited in `pulumi_pcimage/testing/engine.py`
(step_generator.go `generateSteps`, `continueStepsFromDiff`, `diff`; step.go; provider_plugin.go), through the
SDK's real provider host against the emulator, and ends with what AWS (the emulator) holds and what the state
says: they must agree.
"""

from __future__ import annotations

import re

import pytest

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_ami_id
from pulumi_pcimage.testing import HostError, Options

from .conftest import CONFIG, Deployment, Failed, agree

BIGGER = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")


# 1. targeted replacement: `pulumi up --replace` (step_generator.go `diff`: ReplaceKeys ["id"], no Diff call;
#    `generateSteps`: a --replace target is checked with no old inputs; no second Check)

def test_a_targeted_replacement_never_deletes_the_live_image(deployment: Deployment, emulator):
    deployment.up(deployment.program())
    live = deployment.id
    step = deployment.up(deployment.program(), Options(replace=True))
    assert (step.op, step.delete_before_replace) == ("replace", False)
    # same configuration, same derived id: the replacement took the live image over and its delete left it alone
    assert deployment.id == live and deployment.outputs["ami_id"].startswith("ami-")
    agree(emulator, deployment)
    assert emulator.counters()["builds_started"] == 1
    assert "not deleted: its replacement has the same configuration and image id" in deployment.host.stderr_text()


def test_a_second_targeted_replacement_keeps_the_image_too(deployment: Deployment, emulator):
    deployment.up(deployment.program())
    live = deployment.id
    deployment.up(deployment.program(), Options(replace=True))
    deployment.up(deployment.program(), Options(replace=True))  # its old resource is the first replacement
    assert deployment.id == live and deployment.outputs["ami_id"].startswith("ami-")
    agree(emulator, deployment)
    assert emulator.counters()["builds_started"] == 1


def test_a_targeted_replacement_with_delete_before_replace_rebuilds(deployment: Deployment, emulator):
    deployment.up(deployment.program())
    first_ami = deployment.outputs["ami_id"]
    deployment.up(deployment.program(), Options(replace=True, delete_before_replace=True))
    assert emulator.counters()["builds_started"] == 2 and deployment.outputs["ami_id"] != first_ami
    agree(emulator, deployment)


def test_a_fixed_id_never_adopts_its_previous_configuration(deployment: Deployment, emulator):
    # the user forces create-before-delete on a fixed id (step_generator.go: the option overrides the provider)
    deployment.up(deployment.program(image_id="team-base", adopt_existing=True))
    old_ami = deployment.outputs["ami_id"]
    with pytest.raises(HostError, match="holds this resource's image built from its previous configuration .* "
                                        "must delete the old image before building the new one"):
        deployment.up(deployment.program(BIGGER, image_id="team-base", adopt_existing=True),
                      Options(delete_before_replace=False))
    assert deployment.id == "team-base" and deployment.outputs["ami_id"] == old_ami
    assert deployment.inputs["image_configuration"] == CONFIG, "the state still describes the live image"
    agree(emulator, deployment)


# 2. preview validation of a fixed id (AWS checks the id before the configuration: the emulator does too)

def test_preview_validates_a_changed_configuration_of_a_fixed_id(deployment: Deployment, emulator):
    deployment.up(deployment.program(image_id="team-base"))
    bad = CONFIG.replace("c6i.xlarge", "huge-machine")
    with pytest.raises(Failed) as failed:
        deployment.preview(deployment.program(bad, image_id="team-base"))
    assert failed.value.failures == [
        ("image_configuration",
         "InstanceTypeBaseAMICompatibleValidator (ERROR): The instance type 'huge-machine' is not supported.")]
    agree(emulator, deployment)
    assert emulator.counters()["builds_started"] == 1


# 3. ignore_changes (step_generator.go `processIgnoreChanges` before Check)

@pytest.mark.parametrize("ignored, change", [("image_configuration", {"image_configuration": BIGGER}),
                                             ("region", {"region": "eu-west-1"})])
def test_ignore_changes_rebuilds_nothing(deployment: Deployment, emulator, ignored, change):
    deployment.up(deployment.program())
    live = deployment.id
    news = {**deployment.program(), **change}
    assert deployment.preview(news, Options(ignore_changes=[ignored])).op == "same"
    deployment.up(news, Options(ignore_changes=[ignored]))
    assert deployment.id == live and emulator.counters()["builds_started"] == 1
    agree(emulator, deployment)


# 4. renames: aliases, stack and project renames (step_generator.go: old state found under an alias, Olds = its
#    inputs)

@pytest.mark.parametrize("renamed", [dict(name="hpc-base-renamed"), dict(stack_name="prod"),
                                     dict(project="imaging2"), dict(parent_type="team:index:Images")])
def test_renames_rebuild_nothing(host, emulator, renamed):
    before = Deployment(host, emulator)
    before.up(before.program())
    after = Deployment(host, emulator, stack=before.stack, **renamed)
    step = after.up(after.program(), Options(aliases=[before.urn]))
    assert step.op == "same" and after.id and before.id == ""
    assert emulator.counters()["builds_started"] == 1
    agree(emulator, after)


# 5. the region is pinned in the state

def test_refresh_and_destroy_use_the_pinned_region(deployment: Deployment, emulator):
    # the host's own default region is us-east-1 (AWS_DEFAULT_REGION): the state's eu-west-1 wins
    in_ireland = CONFIG.replace(official_ami_id("us-east-1"), official_ami_id("eu-west-1"))
    deployment.up(deployment.program(in_ireland, region="eu-west-1"))
    assert deployment.inputs["region"] == deployment.outputs["region"] == "eu-west-1"
    assert deployment.refresh() == deployment.id, "found where it lives"
    agree(emulator, deployment, region="eu-west-1")
    deployment.destroy()
    assert emulator.images(region="eu-west-1") == [] and emulator.images(region="us-east-1") == []


# 6. two resources with the same name under different parents

def test_same_name_under_different_parents_are_different_images(host, emulator):
    a = Deployment(host, emulator, name="base", parent_type="team:index:Gpu")
    b = Deployment(host, emulator, name="base", parent_type="team:index:Cpu", stack=a.stack)
    a.up(a.program())
    b.up(b.program())
    assert a.id != b.id
    agree(emulator, a, b)
    a.destroy()
    agree(emulator, b)
    assert emulator.counters()["builds_started"] == 2


# 7. endpoint and identity changes are verified

def test_an_endpoint_that_cannot_see_the_image_is_refused(deployment: Deployment, emulator):
    deployment.up(deployment.program())
    with Emulator(build_seconds=1, delete_seconds=0.2) as elsewhere:
        with pytest.raises(HostError, match=r"cannot be found through the new api_url .* nothing was changed"):
            deployment.up(deployment.program(api_url=elsewhere.url))
    assert deployment.outputs["api_url"] == emulator.url, "state unchanged"
    assert deployment.refresh() == deployment.id
    agree(emulator, deployment)


# 8. refresh of an image that is no longer usable plans its rebuild

def test_refresh_of_a_failed_image_plans_a_rebuild(deployment: Deployment, emulator):
    deployment.up(deployment.program())
    # out of band, at AWS: the image's stack is failed again (the emulator's store is AWS's side)
    emulator.service.store.update("us-east-1", deployment.id, outcome="failed", reason="AMI deregistered")
    assert deployment.refresh() == deployment.id
    assert deployment.outputs["image_build_status"] == "BUILD_FAILED" and "ami_id" not in deployment.outputs
    step = deployment.preview(deployment.program())
    assert (step.op, step.diff.replaces, step.delete_before_replace) == ("replace", ["image_build_status"], True)
    deployment.up(deployment.program())
    assert deployment.outputs["image_build_status"] == "BUILD_COMPLETE"
    assert deployment.outputs["ami_id"].startswith("ami-")
    agree(emulator, deployment)


# 9. the old image of a replacement is in use: its delete is retried later with the old inputs

def test_a_replaced_image_in_use_stays_pending_until_freed(deployment: Deployment, emulator):
    deployment.up(deployment.program())
    old = deployment.id
    emulator.set_in_use(old)
    with pytest.raises(HostError) as refused:
        deployment.up(deployment.program(BIGGER))
    message = refused.value.details
    assert "It is the image this resource had before a replacement" in message
    assert "setting force_delete on the resource does not reach it" in message
    assert "Stop what uses the AMI (instances, launch templates, shares) and run `pulumi up` again" in message
    assert "`pulumi state delete" not in message and ".." not in message
    assert [s.id for s in deployment.stack.pending_deletes] == [old]
    # force_delete in the program does not reach the pending delete: it runs with the old inputs (and says so)
    with pytest.raises(HostError, match="is used by instances .* does not reach it"):
        deployment.up(deployment.program(BIGGER, force_delete=True))
    emulator.set_in_use(old, False)
    deployment.up(deployment.program(BIGGER, force_delete=True))
    assert deployment.stack.pending_deletes == []
    agree(emulator, deployment)


# 10. secrets (provider_plugin.go `annotateSecrets` re-marks outputs, but never the provider's messages)

def test_a_secret_configuration_is_never_quoted(deployment: Deployment, emulator):
    secret_parent = re.sub(r"ParentImage: \S+", "ParentImage: my-private-parent-image", CONFIG)
    assert secret_parent != CONFIG
    with pytest.raises(Failed) as local:
        deployment.preview(deployment.program(secret_parent, secret_configuration=True))
    assert "Build.ParentImage" in str(local.value) and "my-private-parent-image" not in str(local.value)

    secret_type = CONFIG.replace("c6i.xlarge", "secret-machine-type")
    with pytest.raises(Failed) as remote:
        deployment.preview(deployment.program(secret_type, secret_configuration=True))
    assert "InstanceTypeBaseAMICompatibleValidator (ERROR)" in str(remote.value)
    assert "secret-machine-type" not in str(remote.value)

    with pytest.raises(Failed) as yaml_error:
        deployment.preview(deployment.program("Build: [secret-token-value", secret_configuration=True))
    assert "is not valid YAML at line" in str(yaml_error.value) and "secret-token-value" not in str(yaml_error.value)
    assert "secret-machine-type" not in deployment.host.stderr_text()
