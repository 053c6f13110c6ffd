"""The texts a user reads when an image cannot be built, adopted, updated or deleted: pinned word for word."""

import logging

import pytest

from pulumi_pcimage.errors import BadRequestError, NotFoundError, PcImageError
from pulumi_pcimage.lifecycle import BuildFailed, DeleteFailed, ImageClash, Lifecycle

from .fakeapi import FakeImage
from .test_provider import CONFIG, inputs

KEPT = ("the failed image was kept for inspection (keep_failed_image=true); the next `pulumi up` deletes it and "
        "builds again, or delete it yourself: pcluster delete-image --image-id hpc-base")


def checked(**overrides):
    result = Lifecycle().check({}, inputs(validate_on_preview=False, **overrides))
    assert result.failures == []
    return result.inputs


def failed_build(api, **overrides):
    api.build_script = ["BUILD_FAILED"]
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state()).create(checked(keep_failed_image=True, **overrides))
    return str(failure.value)


def test_a_failed_build_without_any_reason_says_so(api):
    assert failed_build(api) == ("image 'hpc-base' build failed (BUILD_FAILED):\n  - (the API gave no reason)\n"
                                 + KEPT)


def test_a_failed_build_lists_its_first_five_failed_stack_events_one_a_line(api):
    api.stack_events = [{"logicalResourceId": f"R{n}", "resourceStatus": "CREATE_FAILED",
                         "resourceStatusReason": f"reason {n}"} for n in range(1, 8)]
    api.stack_events.insert(0, {"logicalResourceId": "Ok", "resourceStatus": "CREATE_COMPLETE",
                                "resourceStatusReason": "fine"})
    assert failed_build(api) == ("image 'hpc-base' build failed (BUILD_FAILED):\n"
                                 "  - R1 CREATE_FAILED: reason 1\n  - R2 CREATE_FAILED: reason 2\n"
                                 "  - R3 CREATE_FAILED: reason 3\n  - R4 CREATE_FAILED: reason 4\n"
                                 "  - R5 CREATE_FAILED: reason 5\n" + KEPT)


def test_a_failed_build_quotes_the_newest_build_log_keeping_its_empty_lines(api):
    api.list_image_log_streams = lambda image_id, **kw: {"logStreams": [
        {"logStreamName": "3.16.1/1", "lastEventTimestamp": "2026-01-01T01:00:00Z"},
        {"logStreamName": "not-started-yet"}]}
    api.get_image_log_events = lambda image_id, stream, **kw: {"events": [
        {"message": "installing slurm"}, {"timestamp": "2026-01-01T01:00:00Z"}, {"message": "exit 1\n"}]}
    assert failed_build(api) == ("image 'hpc-base' build failed (BUILD_FAILED):\n"
                                 "  - build log 3.16.1/1 (last lines):\n      installing slurm\n      \n      exit 1\n"
                                 + KEPT)


def test_an_image_built_outside_pulumi_with_the_same_configuration_is_not_taken_without_asking(api):
    api.images["hpc-base"] = FakeImage(["BUILD_COMPLETE"], CONFIG)
    with pytest.raises(ImageClash) as clash:
        Lifecycle(state=api.host_state()).create(checked())
    assert str(clash.value) == (
        "image id 'hpc-base' is already taken (status BUILD_COMPLETE) and it was not built by this resource. "
        "Choices: set adopt_existing=True to take it over as it is; choose another image_id (or omit image_id to "
        "derive a unique one); or delete the existing image (pcluster delete-image --image-id hpc-base) and run "
        "`pulumi up` again.")
    assert api.ops("delete_image") == []


def test_a_forced_delete_refused_by_the_api_quotes_its_reason_and_does_not_suggest_forcing(api):
    api.images["hpc-base"] = FakeImage(["BUILD_COMPLETE"], CONFIG)
    api.raise_on["delete_image"] = [BadRequestError("Image is used by launch template LT-BOX. ")]
    with pytest.raises(DeleteFailed) as failure:
        Lifecycle(state=api.host_state()).delete("hpc-base", {**inputs(), "force_delete": True})
    assert str(failure.value) == (
        "the API refused to delete image 'hpc-base': Image is used by launch template LT-BOX. Stop what uses the AMI "
        "(instances, launch templates, shares) and run `pulumi destroy` or `pulumi up` again.")
    assert "hpc-base" in api.images


def replaced_generation_refused(api, *, forced: bool) -> str:
    """The engine's delete of the image a replacement left behind, as the provider process sees it: the
    program's resource was checked with another generation first."""
    api.images["hpc-base"] = FakeImage(["BUILD_COMPLETE"], CONFIG)
    api.raise_on["delete_image"] = [BadRequestError("Image is used by launch template LT-BOX. ")]
    core = Lifecycle(state=api.host_state())
    live = core.check({}, inputs(validate_on_preview=False, image_id="hpc-base-2")).inputs
    with pytest.raises(DeleteFailed) as failure:
        core.delete("hpc-base", {**inputs(), "owner": live["owner"], "generation": "0123456789abcdef",
                                 "force_delete": forced})
    assert "hpc-base" in api.images
    return str(failure.value)


def test_a_replaced_image_whose_delete_is_refused_gets_advice_that_works_with_its_old_inputs(api):
    assert replaced_generation_refused(api, forced=False) == (
        "the API refused to delete image 'hpc-base': Image is used by launch template LT-BOX. It is the image this "
        "resource had before a replacement, which the engine deletes with the inputs it was built with, also when a "
        "later `pulumi up` retries: setting force_delete on the resource does not reach it. Stop what uses the AMI "
        "(instances, launch templates, shares) and run `pulumi up` again; or delete it whatever uses it, `pcluster "
        "delete-image --image-id hpc-base --region us-east-1 --force true`, and run `pulumi up` again, which finds "
        "it gone.")
    assert replaced_generation_refused(api, forced=True) == (
        "the API refused to delete image 'hpc-base': Image is used by launch template LT-BOX. It is the image this "
        "resource had before a replacement. Stop what uses the AMI (instances, launch templates, shares) and run "
        "`pulumi up` again: the engine retries its delete.")


def test_an_update_that_moves_two_settings_names_both_when_the_image_cannot_be_found(api):
    olds = {**checked(), "ami_id": "ami-0f00"}
    api.raise_on["describe_image"] = [NotFoundError("no such image")]
    with pytest.raises(PcImageError) as failure:
        Lifecycle(state=api.host_state()).update("hpc-base", olds, {**olds, "api_url": "http://127.0.0.1:2/prod",
                                                                    "aws_profile": "ops"})
    assert str(failure.value).startswith("image 'hpc-base' cannot be found through the new api_url, aws_profile "
                                         "(describe_image in us-east-1 answered 404); nothing was changed.")


def test_a_build_answer_with_validator_notes_logs_each_and_says_it_started(api, caplog):
    build = api.build_image

    def with_notes(image_id, configuration, **kw):
        answer = build(image_id, configuration, **kw)
        return {**answer, "validationMessages": [{"type": "UrlValidator", "level": "WARNING",
                                                  "message": "The S3 object is public."}]}

    api.build_image, api.build_script = with_notes, ["BUILD_COMPLETE"]
    with caplog.at_level(logging.INFO, logger="pulumi_pcimage"):
        Lifecycle(state=api.host_state()).create(checked())
    assert "image hpc-base: UrlValidator (WARNING): The S3 object is public." in caplog.text
    assert "image hpc-base: build started" in caplog.text, "the provider's own logger says what it does"
