"""A CustomImage's life through each face's real provider process, against the local ParallelCluster API emulator.

Where confirmed: the engine's sequences (preview = Check + Diff; up = Check, Diff, then Create / Update / a
replacement with its second Check; refresh = Read; destroy = Delete) are `pulumi_pcimage.testing.Stack`'s, each rule
cited there from pulumi/pulumi `pkg/resource/deploy/step_generator.go` and `step.go`; the request fields a plugin
gets (URN, old inputs, detailed diff) in `sdk/go/common/resource/plugin/provider_plugin.go`. The API's answers
(validator findings, 409 for a taken id, delete visibility, 403 "Missing Authentication Token") are the emulator's,
held to AWS's own implementation by `tests/conformance/test_conformance.py` (`test_configuration_validation`,
`test_a_build_from_start_to_deletion`, `test_build_request_errors`).
"""

from __future__ import annotations

import pytest

from pulumi_pcimage import lifecycle
from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.emulator.catalog import official_ami_id
from pulumi_pcimage.testing import UNKNOWN, CheckRejected, HostError

from tests.engine.conftest import CONFIG, foreign_configuration, wait_for

from .conftest import Face

REORDERED = """\
Image: {Name: "hpc-base"}       # names first now
Build:
    UpdateOsPackages:
        Enabled: true
    ParentImage: '{parent}'
    InstanceType: c6i.xlarge
""".replace("{parent}", official_ami_id("us-east-1"))
BIGGER = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")
OPTIONS = dict(build_timeout_minutes=240, force_delete=True)


def test_lifecycle_of_an_image(face: Face, emulator):
    image, p = face.image(), face.p
    # preview of a new image whose parent AMI is not known yet: nothing to validate, nothing sent
    assert image.preview(image.program(UNKNOWN)).op == "create"
    assert emulator.counters()["total"] == 0

    # preview with the configuration known: a dry run validates it, nothing is built
    assert image.preview(image.program()).op == "create"
    assert emulator.counters()["build_image"] == 1 and emulator.counters()["builds_started"] == 0

    # up builds and waits: the AMI id comes back, with every input (region and endpoint resolved) among the outputs
    image.up(image.program())
    first = image.id
    assert first.startswith("hpc-base-") and image.out["ami_id"].startswith("ami-")
    assert image.out["image_build_status"] == "BUILD_COMPLETE" and image.out["region"] == "us-east-1"
    assert image.out["api_url"] == emulator.url and image.out["image_configuration"] == CONFIG
    assert image.out["rollback_on_failure"] is True
    assert emulator.counters()["builds_started"] == 1 and emulator.images() == [first]
    assert "Signature" not in str(image.outputs)
    if face.name == "dynamic":  # the API's camelCase answer is not copied in (the package's names are camelCase)
        assert "imageConfiguration" not in str(image.outputs)
    assert image.ins["owner"].startswith("imaging/dev/hpc-base@"), "the owner marker, not the URN"
    assert "BUILD_COMPLETE" in face.said(), "progress is shown while waiting"

    # a preview with nothing changed sends nothing at all, nor does one where the configuration was only
    # reordered, requoted and commented
    emulator.reset_counters()
    assert image.preview(image.program()).op == "same"
    assert image.preview(image.program(REORDERED)).op == "same"
    assert emulator.counters()["total"] == 0

    # an option change is an in-place update: no rebuild, outputs kept
    step = image.up(image.program(**OPTIONS))
    assert (step.op, step.diff.replaces) == ("update", [])
    if face.detailed_diff:
        assert step.diff.detailed == {p("force_delete"): "UPDATE", p("build_timeout_minutes"): "UPDATE"}
    assert image.out["force_delete"] is True and image.out["ami_id"].startswith("ami-")
    assert emulator.counters()["build_image"] == 0

    # a real configuration change replaces the image: the new one is built before the old one goes (YAML text
    # changes as a whole: the engine cannot walk a path into a string)
    step = image.preview(image.program(BIGGER, **OPTIONS))
    assert step.op == "replace" and step.diff.replaces == [p("image_configuration"), p("image_id")]
    if face.detailed_diff:
        assert step.diff.detailed == {p("image_configuration"): "UPDATE_REPLACE", p("image_id"): "UPDATE_REPLACE"}
    assert step.diff.delete_before_replace is False
    image.up(image.program(BIGGER, **OPTIONS))
    assert image.id != first and emulator.images() == [image.id]

    # refresh after the image was deleted behind Pulumi's back: it leaves the state, no spurious replace
    ParallelClusterClient(emulator.url).delete_image(image.id)
    wait_for(lambda: emulator.images() == [], "out-of-band delete finished")
    assert image.refresh() == "" and image.state is None and image.outputs == {}
    assert image.preview(image.program(BIGGER)).op == "create"

    # destroy deletes and waits until describe says 404
    image.up(image.program(BIGGER))
    image.destroy()
    assert emulator.images() == []


def test_a_fixed_image_id_is_deleted_before_its_replacement(face: Face, emulator):
    image = face.image()
    image.up(image.program(image_id="team-base"))
    step = image.up(image.program(BIGGER, image_id="team-base"))
    assert (step.diff.replaces, step.diff.delete_before_replace) == ([face.p("image_configuration")], True)
    assert image.id == "team-base" and emulator.images() == ["team-base"]
    assert emulator.counters()["builds_started"] == 2


def test_preview_reports_the_validators_messages(face: Face, emulator):
    image = face.image()
    with pytest.raises(CheckRejected) as refused:
        image.preview(image.program(CONFIG.replace("c6i.xlarge", "huge-machine")))
    assert refused.value.failures == [
        (face.p("image_configuration"),
         "InstanceTypeBaseAMICompatibleValidator (ERROR): The instance type 'huge-machine' is not supported.")]
    # locally detectable problems never reach the API
    emulator.reset_counters()
    with pytest.raises(CheckRejected, match="Build.ParentImage: is required"):
        image.preview(image.program("Build: {InstanceType: c6i.xlarge}"))
    with pytest.raises(CheckRejected) as refused:
        image.preview(image.program(image_id="1-bad", validation_failure_level="LOUD", colour="blue"))
    reasons = dict(refused.value.failures)
    assert f"{face.p('image_id')} '1-bad' is not valid: must start with a letter" in reasons[face.p("image_id")]
    assert f"{face.p('validation_failure_level')} is 'LOUD' but must be one of INFO, WARNING, ERROR" in \
        reasons[face.p("validation_failure_level")]
    assert "unknown property 'colour'" in reasons["colour"]
    assert emulator.counters()["total"] == 0


def test_a_failed_build_explains_why_and_leaves_nothing_behind(face: Face, emulator):
    image = face.image()
    news = image.program()
    checked = face.host.check(image.urn, {}, news).inputs
    image_id = checked[face.p("image_id")]
    pending = face.host.create_async(image.urn, checked)
    wait_for(lambda: emulator.images() == [image_id], "the build started")
    emulator.fail_build(image_id, reason="component install-slurm exited with status 1")
    with pytest.raises(HostError) as failure:
        pending.result()
    message = failure.value.details
    assert f"image '{image_id}' build failed (BUILD_FAILED)" in message
    assert "component install-slurm exited with status 1" in message
    assert "the failed image was deleted, so the next `pulumi up` builds it again" in message
    assert emulator.images() == []
    # and the next up does build it again
    image.up(news)
    assert image.out["ami_id"].startswith("ami-")


def test_an_interrupted_up_is_adopted_by_the_next_one(face: Face, emulator):
    first = face.image()
    checked = face.host.check(first.urn, {}, first.program()).inputs
    image_id = checked[face.p("image_id")]
    face.host.create_async(first.urn, checked)
    wait_for(lambda: emulator.images() == [image_id], "the build started")
    face.host.kill()  # Ctrl-C, a lost laptop lid...: nothing reached the state

    with face.start_host() as again:
        rerun = face.image(host=again)
        rerun.up(rerun.program())
        assert rerun.id == image_id and rerun.out["image_build_status"] == "BUILD_COMPLETE"
        assert "adopting the existing image" in face.said(host=again)
    assert emulator.counters()["builds_started"] == 1


def test_an_image_in_use_is_deleted_only_with_force_delete(face: Face, emulator):
    image = face.image()
    image.up(image.program())
    emulator.set_in_use(image.id)
    with pytest.raises(HostError, match=f"is used by instances .* Stop what uses the AMI .* setting "
                                        f"{face.p('force_delete')}=True") as refused:
        image.destroy()
    if face.name == "package":  # advice, without a Python traceback
        assert "Traceback" not in refused.value.details and 'File "' not in refused.value.details
    else:  # the SDK's dynamic provider host sends the exception's whole traceback: the advice is its last line
        assert "Stop what uses the AMI" in refused.value.message
    assert emulator.images() == [image.id]
    image.up(image.program(force_delete=True))
    image.destroy()
    assert emulator.images() == []


def test_someone_elses_image_with_the_same_id_is_adopted_only_on_request(face: Face, emulator):
    image = face.image()
    client = ParallelClusterClient(emulator.url)
    client.build_image("shared-base", foreign_configuration("other-project/prod/base"), rollback_on_failure=True)
    with pytest.raises(HostError, match="'shared-base' is already taken .* built by 'other-project/prod/base'. "
                                        f"Choices: set {face.p('adopt_existing')}=True"):
        image.up(image.program(image_id="shared-base"))
    assert image.id == ""

    image.up(image.program(image_id="shared-base", adopt_existing=True))
    assert image.id == "shared-base" and image.out["ami_id"].startswith("ami-")
    assert emulator.counters()["builds_started"] == 1, "adopted, not rebuilt"


def test_an_image_in_another_region_than_the_api(face: Face, emulator):
    # the API (and its signature) lives in us-east-1; the image is built in eu-west-1, where the parent AMI
    # exists too (AMI ids are per region: a copy of the team's AMI, registered as AWS would know it)
    emulator.register_parent_image(official_ami_id("us-east-1"), region="eu-west-1")
    image = face.image()
    image.up(image.program(region="eu-west-1"))
    assert image.out["region"] == "eu-west-1" and image.out["ami_id"].startswith("ami-")
    assert emulator.images(region="eu-west-1") == [image.id] and emulator.images(region="us-east-1") == []
    image.destroy()
    assert emulator.images(region="eu-west-1") == []


def test_a_preview_against_a_throttling_api_warns_and_moves_on(face: Face, emulator):
    # the dry run is advice: after a few attempts the preview goes on with a warning, nothing is built
    image = face.image()
    emulator.set_faults(throttle_rate=1.0)
    assert image.preview(image.program()).op == "create"
    assert emulator.counters()["build_image"] == lifecycle.DRYRUN_MAX_ATTEMPTS
    assert emulator.counters()["builds_started"] == 0
    assert "could not validate the configuration against the API" in face.said()


def test_a_preview_against_the_wrong_stage_fails_with_what_to_check(face: Face, emulator):
    # API Gateway answers an unknown stage with 403 "Missing Authentication Token": certain, so `up` would fail too
    image = face.image()
    wrong_stage = emulator.url.rsplit("/", 1)[0] + "/beta"
    with pytest.raises(CheckRejected) as refused:
        image.preview(image.program(api_url=wrong_stage))
    (prop, reason), = refused.value.failures
    assert prop == face.p("api_url") and "Missing Authentication Token" in reason
    assert emulator.counters()["builds_started"] == 0

