"""A CustomImage's life through the SDK's real provider host, against the local ParallelCluster API emulator.

Where confirmed: the engine's sequences (preview = Check + Diff; up = Check, Diff, then Create / Update / a
replacement with its second Check; refresh = Read; destroy = Delete) are `pulumi_pcimage.testing.Stack`'s, each rule
cited there from pulumi/pulumi `pkg/resource/deploy/step_generator.go` and `step.go`. The API's answers (validator
findings, 409 for a taken id, delete visibility, 403 "Missing Authentication Token") are the emulator's, held to AWS's
own implementation by `tests/conformance/test_conformance.py` (`test_configuration_validation`,
`test_a_build_from_start_to_deletion`, `test_build_request_errors`).
"""

from __future__ import annotations

import pytest

from pulumi_pcimage import lifecycle as provider
from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.testing import UNKNOWN, HostError, ProviderHost

from .conftest import CONFIG, HOST_ENV, PROJECT, Deployment, Failed, foreign_configuration, wait_for

REORDERED = """\
Image: {Name: "hpc-base"}       # names first now
Build:
    UpdateOsPackages:
        Enabled: true
    ParentImage: 'ami-3b2b1d0a9db94bc95'
    InstanceType: c6i.xlarge
"""
BIGGER = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")


def test_lifecycle_of_an_image(deployment: Deployment, emulator):
    # preview of a new image whose parent AMI is not known yet: nothing to validate, nothing sent
    assert deployment.preview(deployment.program(UNKNOWN)).op == "create"
    assert emulator.counters()["total"] == 0

    # preview with the configuration known: a dry run validates it, nothing is built
    assert deployment.preview(deployment.program()).op == "create"
    assert emulator.counters()["build_image"] == 1 and emulator.counters()["builds_started"] == 0

    # up builds and waits: the AMI id comes back, with every input among the outputs
    deployment.up(deployment.program())
    image_id = deployment.id
    assert image_id.startswith("hpc-base-") and deployment.outputs["ami_id"].startswith("ami-")
    assert deployment.outputs["image_build_status"] == "BUILD_COMPLETE"
    assert deployment.outputs["image_configuration"] == CONFIG and deployment.outputs["rollback_on_failure"] is True
    assert emulator.counters()["builds_started"] == 1
    assert "imageConfiguration" not in str(deployment.outputs) and "Signature" not in str(deployment.outputs)
    assert "BUILD_COMPLETE" in deployment.host.stderr_text(), "progress is shown while waiting"

    # a preview with nothing changed sends nothing at all
    emulator.reset_counters()
    assert deployment.preview(deployment.program()).op == "same"
    # ... nor does one where the configuration was only reordered, requoted and commented
    assert deployment.preview(deployment.program(REORDERED)).op == "same"
    assert emulator.counters()["total"] == 0

    # an option change is an in-place update: no rebuild, outputs kept
    plan = deployment.up(deployment.program(build_timeout_minutes=240, force_delete=True))
    assert (plan.op, plan.diff.replaces) == ("update", [])
    assert deployment.outputs["force_delete"] is True and deployment.outputs["ami_id"].startswith("ami-")
    assert emulator.counters()["build_image"] == 0

    # a real configuration change replaces the image: the new one is built before the old one goes
    plan = deployment.preview(deployment.program(BIGGER, build_timeout_minutes=240, force_delete=True))
    assert plan.op == "replace" and plan.diff.replaces == ["image_configuration", "image_id"]
    assert plan.diff.delete_before_replace is False
    deployment.up(deployment.program(BIGGER, build_timeout_minutes=240, force_delete=True))
    assert deployment.id != image_id and emulator.images() == [deployment.id]

    # refresh after the image was deleted behind Pulumi's back: it leaves the state, no spurious replace
    ParallelClusterClient(emulator.url).delete_image(deployment.id)
    wait_for(lambda: emulator.images() == [], "out-of-band delete finished")
    deployment.refresh()
    assert deployment.id == "" and deployment.outputs == {}
    assert deployment.preview(deployment.program(BIGGER)).op == "create"

    # destroy deletes and waits until describe says 404
    deployment.up(deployment.program(BIGGER))
    deployment.destroy()
    assert emulator.images() == []


def test_a_fixed_image_id_is_deleted_before_its_replacement(deployment: Deployment, emulator):
    deployment.up(deployment.program(image_id="team-base"))
    plan = deployment.up(deployment.program(BIGGER, image_id="team-base"))
    assert (plan.diff.replaces, plan.diff.delete_before_replace) == (["image_configuration"], True)
    assert deployment.id == "team-base" and emulator.images() == ["team-base"]
    assert emulator.counters()["builds_started"] == 2


def test_preview_reports_the_validators_messages(deployment: Deployment, emulator):
    bad = CONFIG.replace("c6i.xlarge", "huge-machine")
    with pytest.raises(Failed) as failed:
        deployment.preview(deployment.program(bad))
    assert failed.value.failures == [
        ("image_configuration", "InstanceTypeBaseAMICompatibleValidator (ERROR): The instance type 'huge-machine' "
                                "is not supported.")]
    # locally detectable problems never reach the API
    emulator.reset_counters()
    with pytest.raises(Failed, match="Build.ParentImage: is required"):
        deployment.preview(deployment.program("Build: {InstanceType: c6i.xlarge}"))
    assert emulator.counters()["total"] == 0


def test_a_failed_build_explains_why_and_leaves_nothing_behind(deployment: Deployment, emulator):
    news = deployment.program()
    checked = deployment.check(news)
    pending = deployment.host.create_async(deployment.urn, checked)
    wait_for(lambda: emulator.images() == [checked["image_id"]], "the build started")
    emulator.fail_build(checked["image_id"], reason="component install-slurm exited with status 1")
    with pytest.raises(HostError) as failure:
        pending.result()
    message = failure.value.details
    assert f"image '{checked['image_id']}' build failed (BUILD_FAILED)" in message
    assert "component install-slurm exited with status 1" in message
    assert "the failed image was deleted, so the next `pulumi up` builds it again" in message
    assert emulator.images() == []
    # and the next up does build it again
    deployment.up(news)
    assert deployment.outputs["ami_id"].startswith("ami-")


def test_an_interrupted_up_is_adopted_by_the_next_one(emulator, host: ProviderHost):
    first = Deployment(host, emulator)
    checked = first.check(first.program())
    first.host.create_async(first.urn, checked)
    wait_for(lambda: emulator.images() == [checked["image_id"]], "the build started")
    host.kill()  # Ctrl-C, a lost laptop lid...: nothing reached the state

    with ProviderHost(project=PROJECT, env=HOST_ENV) as again:
        rerun = Deployment(again, emulator)
        rerun.up(rerun.program())
        assert rerun.id == checked["image_id"] and rerun.outputs["image_build_status"] == "BUILD_COMPLETE"
        assert "adopting the existing image" in again.stderr_text()
    assert emulator.counters()["builds_started"] == 1


def test_an_image_in_use_is_deleted_only_with_force_delete(deployment: Deployment, emulator):
    deployment.up(deployment.program())
    emulator.set_in_use(deployment.id)
    with pytest.raises(HostError, match="is used by instances .* Stop what uses the AMI .* setting force_delete=True"):
        deployment.destroy()
    assert emulator.images() == [deployment.id]
    deployment.up(deployment.program(force_delete=True))
    deployment.destroy()
    assert emulator.images() == []


def test_someone_elses_image_with_the_same_id_is_adopted_only_on_request(deployment: Deployment, emulator):
    client = ParallelClusterClient(emulator.url)
    client.build_image("shared-base", foreign_configuration("other-project/prod/base"), rollback_on_failure=True)
    with pytest.raises(HostError, match="'shared-base' is already taken .* built by 'other-project/prod/base'. "
                                        "Choices: set adopt_existing=True"):
        deployment.up(deployment.program(image_id="shared-base"))
    assert deployment.id == ""

    deployment.up(deployment.program(image_id="shared-base", adopt_existing=True))
    assert deployment.id == "shared-base" and deployment.outputs["ami_id"].startswith("ami-")
    assert emulator.counters()["builds_started"] == 1, "adopted, not rebuilt"


def test_an_image_in_another_region_than_the_api(deployment: Deployment, emulator):
    # the API (and its signature) lives in us-east-1; the image is built in eu-west-1, where the parent AMI
    # exists too (AMI ids are per region: a copy of the team's AMI, registered as AWS would know it)
    emulator.register_parent_image("ami-3b2b1d0a9db94bc95", region="eu-west-1")
    deployment.up(deployment.program(region="eu-west-1"))
    assert deployment.outputs["region"] == "eu-west-1" and deployment.outputs["ami_id"].startswith("ami-")
    assert emulator.images(region="eu-west-1") == [deployment.id] and emulator.images(region="us-east-1") == []
    deployment.destroy()
    assert emulator.images(region="eu-west-1") == []


def test_a_preview_against_a_throttling_api_warns_and_moves_on(deployment: Deployment, emulator):
    # the dry run is advice: after a few attempts the preview goes on with a warning, nothing is built
    emulator.set_faults(throttle_rate=1.0)
    assert deployment.preview(deployment.program()).op == "create"
    assert emulator.counters()["build_image"] == provider.DRYRUN_MAX_ATTEMPTS
    assert emulator.counters()["builds_started"] == 0
    assert "could not validate the configuration against the API" in deployment.host.stderr_text()


def test_a_preview_against_the_wrong_stage_fails_with_what_to_check(deployment: Deployment, emulator):
    # API Gateway answers an unknown stage with 403 "Missing Authentication Token": certain, so `up` would fail too
    wrong_stage = emulator.url.rsplit("/", 1)[0] + "/beta"
    with pytest.raises(Failed) as failed:
        deployment.preview(deployment.program(api_url=wrong_stage))
    (prop, reason), = failed.value.failures
    assert prop == "api_url" and "Missing Authentication Token" in reason
    assert emulator.counters()["builds_started"] == 0
