"""What a failed, stopped or refused operation leaves behind, as the user meets it: the outputs a face keeps in the
state for an image that still exists (so `pulumi destroy` deletes it and the next `pulumi up` resumes it), and the
advice that names the command to run again."""

import threading

import pytest

from pulumi_pcimage.errors import BadRequestError, TransportError
from pulumi_pcimage.lifecycle import BuildFailed, DeleteFailed, Hooks, Lifecycle

from .fakeapi import FakeImage
from .test_provider import CONFIG, inputs

LATER = (" The build continues server-side; the next `pulumi up` finds it, adopts it (it carries this resource's "
         "ownership tag) and waits for it. To stop it instead: pcluster delete-image --image-id hpc-base")


def checked(olds=None, **overrides):
    result = Lifecycle().check(olds or {}, inputs(validate_on_preview=False, **overrides))
    assert result.failures == []
    return result.inputs


def unanswered(api, after=None):
    """describe_image never answers (the API unreachable: a transient error the wait rides out); `after` runs on
    each attempt."""

    def describe_image(image_id, *, region=None):
        if after is not None:
            after()
        raise TransportError("connection refused")

    api.describe_image = describe_image


REFUSED = BadRequestError("Image is used by launch template LT-BOX. ")


def test_a_build_wait_timed_out_before_any_answer_keeps_the_image_as_still_building(api):
    unanswered(api)
    ins = checked()
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state(), hooks=Hooks(create_timeout=0.001)).create(ins)
    assert str(failure.value) == "image 'hpc-base' was still building after the create timeout (0s, customTimeouts)." \
        + LATER
    assert failure.value.outputs == {**ins, "image_build_status": "BUILD_IN_PROGRESS"}, "resumed by the next up"


@pytest.mark.timeout(10)
def test_a_build_wait_cancelled_before_any_answer_keeps_the_image_as_still_building(api):
    cancel = threading.Event()
    unanswered(api, after=cancel.set)
    ins = checked()
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state(), hooks=Hooks(cancel=cancel)).create(ins)
    assert str(failure.value) == "image 'hpc-base': stopped waiting after 0s (cancelled; it was building)." + LATER
    assert failure.value.outputs == {**ins, "image_build_status": "BUILD_IN_PROGRESS"}


def test_a_failed_build_kept_for_inspection_is_kept_in_the_state_as_failed(api):
    api.build_script = ["BUILD_FAILED"]
    ins = checked(keep_failed_image=True)
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state()).create(ins)
    assert failure.value.outputs == {**ins, "image_build_status": "BUILD_FAILED", "version": "3.16.1"}
    assert "hpc-base" in api.images


def test_a_failed_build_deleted_leaves_nothing_in_the_state(api):
    api.build_script = ["BUILD_FAILED"]
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state()).create(checked())
    assert str(failure.value) == ("image 'hpc-base' build failed (BUILD_FAILED):\n  - (the API gave no reason)\n"
                                  "the failed image was deleted, so the next `pulumi up` builds it again")
    assert failure.value.outputs is None and api.images == {}


def test_an_image_that_vanished_while_building_leaves_nothing_in_the_state(api):
    api.build_script = ["BUILD_IN_PROGRESS", "GONE"]
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state()).create(checked())
    assert str(failure.value) == ("image 'hpc-base' disappeared while building (deleted out of band?); the next "
                                  "`pulumi up` builds it again")
    assert failure.value.outputs is None and api.images == {}


def test_a_forced_cleanup_refused_by_the_api_keeps_the_failed_image_and_says_to_free_it(api):
    api.build_script = ["BUILD_FAILED"]
    api.raise_on["delete_image"] = [REFUSED]
    ins = checked(force_delete=True)
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state()).create(ins)
    assert str(failure.value) == (
        "image 'hpc-base' build failed (BUILD_FAILED):\n  - (the API gave no reason)\n"
        "deleting the failed image also failed: the API refused to delete image 'hpc-base': Image is used by launch "
        "template LT-BOX. Stop what uses the AMI (instances, launch templates, shares) and run `pulumi up` again.")
    assert failure.value.outputs == {**ins, "image_build_status": "BUILD_FAILED", "version": "3.16.1"}, \
        "kept: destroy deletes it once freed"


def test_an_update_resuming_its_own_build_under_the_generation_check_kept_waits_for_it(api):
    """As the engine runs it: the update's inputs come from a Check given the old ones (the same generation)."""
    api.build_script = ["BUILD_IN_PROGRESS"]
    ins = checked()
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state(), hooks=Hooks(create_timeout=0.001)).create(ins)
    olds = failure.value.outputs
    news = checked(olds, force_delete=True)
    assert news["generation"] == olds["generation"]
    api.images["hpc-base"].script = ["BUILD_IN_PROGRESS", "BUILD_COMPLETE"]

    outputs = Lifecycle(state=api.host_state()).update("hpc-base", olds, news)

    assert (outputs["image_build_status"], outputs["ami_id"], outputs["force_delete"]) == \
        ("BUILD_COMPLETE", "ami-0f00", True)
    assert len(api.ops("build_image")) == 2 and list(api.images) == ["hpc-base"], "asked once more, not rebuilt"


@pytest.mark.timeout(10)
def test_a_replaced_image_whose_build_wait_is_cancelled_says_to_run_up_again(api):
    """The engine's delete of the image a replacement left behind retries in a later `pulumi up`, not a destroy."""
    api.images["hpc-base"] = FakeImage(["BUILD_IN_PROGRESS"], CONFIG)
    cancel = threading.Event()
    core = Lifecycle(state=api.host_state(),
                     hooks=Hooks(progress=lambda phase, described, elapsed: cancel.set(), cancel=cancel))
    live = core.check({}, inputs(validate_on_preview=False, image_id="hpc-base-2")).inputs
    with pytest.raises(DeleteFailed) as failure:
        core.delete("hpc-base", {**inputs(), "owner": live["owner"], "generation": "0123456789abcdef"})
    assert str(failure.value) == ("image 'hpc-base': stopped waiting for its build to end (cancelled); nothing was "
                                  "deleted. Run `pulumi up` again later.")
    assert api.ops("delete_image") == [] and "hpc-base" in api.images


def test_a_refused_delete_of_an_image_from_before_generations_still_declared_gets_the_destroy_advice(api):
    """State written before generations were tagged holds none; Check keeps it as "", the same generation."""
    olds = {key: value for key, value in checked().items() if key != "generation"}
    core = Lifecycle(state=api.host_state())
    assert core.check(olds, inputs(validate_on_preview=False)).inputs["generation"] == ""
    api.images["hpc-base"] = FakeImage(["BUILD_COMPLETE"], CONFIG)
    api.raise_on["delete_image"] = [REFUSED]
    with pytest.raises(DeleteFailed) as failure:
        core.delete("hpc-base", {**olds, "force_delete": True})
    assert str(failure.value) == (
        "the API refused to delete image 'hpc-base': Image is used by launch template LT-BOX. Stop what uses the AMI "
        "(instances, launch templates, shares) and run `pulumi destroy` or `pulumi up` again.")


def test_a_mapping_configuration_is_checked_into_a_copy_of_its_own_and_nothing_else(api):
    mapping = {"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-0123456789abcdef0"}}
    ins = checked(image_configuration=mapping)
    mapping["Build"]["InstanceType"] = "c6i.2xlarge"  # the program's value, changed after the check
    assert ins == {**checked(), "image_configuration": {"Build": {"InstanceType": "c6i.xlarge",
                                                                 "ParentImage": "ami-0123456789abcdef0"}},
                   "owner": ins["owner"], "generation": ins["generation"]}
