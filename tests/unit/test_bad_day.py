"""The lifecycle on a bad day, on a simulated clock: what the user sees, how long it takes, what is left at AWS.

`clock` makes every wait of the lifecycle (its waiter and its delete deadline) run on simulated time at real
polling speed, so a three-hour build wait costs milliseconds and a waiter regression fails instead of hanging.
"""

import logging
import re

import pytest

from pulumi_pcimage import waiter
from pulumi_pcimage.errors import (AuthError, BadRequestError, InternalServiceError, NotFoundError,
                                   TransportError)
from pulumi_pcimage.lifecycle import BuildFailed, DeleteFailed, ImageClash, Lifecycle

from .test_provider import CHANGED, create, inputs, prov, urn  # noqa: F401 (prov: the fixture)

MINUTE = 60


class SimClock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(api, monkeypatch):
    sim = SimClock()
    monkeypatch.setenv(waiter.POLL_SCALE_ENV, "1")  # real delays, simulated time
    # the clock of every wait and deadline of the lifecycle, in this test's provider processes
    api.state.clock = waiter.Clock(sim.monotonic, sim.sleep)
    return sim


class Timeline(list):
    """An image's statuses by simulated time: [(from second, status), ...]; "GONE" = 404."""


def follow(api, clock, *steps):
    """Every image built from now on answers describe_image by `steps` until someone deletes it."""
    describe, build = api.describe_image, api.build_image

    def build_image(image_id, *args, **kwargs):
        answer = build(image_id, *args, **kwargs)
        api.images[image_id].script = Timeline(steps)
        return answer

    def describe_image(image_id, *, region=None):
        image = api.images.get(image_id)
        if image is not None and isinstance(image.script, Timeline):
            timeline = image.script
            image.script = [[status for start, status in timeline if start <= clock.now][-1]]
            try:
                return describe(image_id, region=region)
            finally:
                if image_id in api.images:
                    image.script = timeline
        return describe(image_id, region=region)

    api.build_image, api.describe_image = build_image, describe_image


def put(api, clock, image_id, *steps):
    """An existing image (built earlier by this resource) that follows `steps` from now on."""
    follow(api, clock, *steps)
    api.build_image(image_id, "Build: {}\n")
    api.calls.clear()


# ---------------------------------------------------------------- the build leaves the normal path

def test_an_image_deleted_out_of_band_mid_build_fails_the_up_within_a_poll(prov, api, clock):
    follow(api, clock, (0, "BUILD_IN_PROGRESS"), (20 * MINUTE, "GONE"))
    with pytest.raises(BuildFailed) as failure:
        create(prov)
    assert str(failure.value) == ("image 'hpc-base' disappeared while building (deleted out of band?); "
                                  "the next `pulumi up` builds it again")
    assert 20 * MINUTE <= clock.now <= 20 * MINUTE + 30, "noticed at the next poll, not after 3 hours"
    assert api.ops("delete_image") == []


@pytest.mark.parametrize("status", ["DELETE_IN_PROGRESS", "DELETE_FAILED"])
def test_an_image_being_deleted_mid_build_fails_the_up_and_is_left_alone(prov, api, clock, status):
    follow(api, clock, (0, "BUILD_IN_PROGRESS"), (20 * MINUTE, status))
    with pytest.raises(BuildFailed) as failure:
        create(prov)
    message = str(failure.value)
    assert message.startswith(f"image 'hpc-base' build failed ({status}):\n")
    assert message.endswith(f"the image is now {status}; nothing was cleaned up")
    assert 20 * MINUTE <= clock.now <= 20 * MINUTE + 30
    assert api.ops("delete_image") == []


def test_a_build_past_its_timeout_is_left_running_and_said_so(prov, api, clock):
    follow(api, clock, (0, "BUILD_IN_PROGRESS"))
    with pytest.raises(BuildFailed, match=r"'hpc-base' was still BUILD_IN_PROGRESS after build_timeout_minutes=180\. "
                                          r"The build continues server-side"):
        create(prov)
    assert clock.now == pytest.approx(180 * MINUTE)
    assert api.ops("delete_image") == [] and "hpc-base" in api.images


def test_a_build_is_awaited_for_as_long_as_it_takes_within_the_timeout(prov, api, clock):
    follow(api, clock, (0, "BUILD_IN_PROGRESS"), (170 * MINUTE, "BUILD_COMPLETE"))
    result = create(prov)
    assert result.outs["ami_id"] == "ami-0f00" and 170 * MINUTE <= clock.now <= 170 * MINUTE + 30


# ---------------------------------------------------------------- best-effort failure reports

FAILED = ((0, "BUILD_IN_PROGRESS"), (10 * MINUTE, "BUILD_FAILED"))


@pytest.mark.parametrize("operation, error", [
    ("get_image_stack_events", InternalServiceError("stack events unavailable")),
    ("get_image_stack_events", TransportError("connection reset")),
    ("list_image_log_streams", AuthError("not allowed to read logs")),
    ("list_image_log_streams", TransportError("connection reset")),
    ("get_image_log_events", NotFoundError("log stream expired")),
])
def test_a_failed_build_is_reported_and_cleaned_up_even_when_a_reason_source_fails(prov, api, clock, operation,
                                                                                   error):
    follow(api, clock, *FAILED)
    api.log_lines = ["component install-slurm exited 1"]
    api.stack_events = [{"logicalResourceId": "Image", "resourceStatus": "CREATE_FAILED",
                         "resourceStatusReason": "component failed"}]
    api.raise_on[operation] = [error]
    with pytest.raises(BuildFailed) as failure:
        create(prov)
    message = str(failure.value)
    assert message.startswith("image 'hpc-base' build failed (BUILD_FAILED):")
    assert ("Image CREATE_FAILED: component failed" in message) == (operation != "get_image_stack_events")
    assert ("install-slurm exited 1" in message) == (operation == "get_image_stack_events")
    assert message.endswith("the failed image was deleted, so the next `pulumi up` builds it again")
    assert "hpc-base" not in api.images


def test_a_failed_build_whose_cleanup_fails_says_to_delete_it(prov, api, clock):
    follow(api, clock, *FAILED)
    api.raise_on["delete_image"] = [BadRequestError("Image is shared with another account.")]
    with pytest.raises(BuildFailed) as failure:
        create(prov)
    message = str(failure.value)
    assert "  - (the API gave no reason)" in message
    # Nothing of it is in the state yet: the next `pulumi up` deletes it with the inputs the program gives then.
    assert message.endswith("deleting the failed image also failed: the API refused to delete image 'hpc-base': "
                            "Image is shared with another account. Stop what uses the AMI (instances, launch "
                            "templates, shares), or set force_delete=True, or delete it whatever uses it (`pcluster "
                            "delete-image --image-id hpc-base --region us-east-1 --force true`); then run `pulumi up` "
                            "again.")
    assert "hpc-base" in api.images, "left at AWS, and said so"


# ---------------------------------------------------------------- delete edge cases

def test_delete_waits_for_a_running_build_within_one_deadline(prov, api, clock):
    put(api, clock, "hpc-base", (0, "BUILD_IN_PROGRESS"), (20 * MINUTE, "BUILD_COMPLETE"))
    api.delete_script = ["DELETE_IN_PROGRESS"]  # never finishes
    with pytest.raises(DeleteFailed, match=r"'hpc-base' was still DELETE_IN_PROGRESS after "
                                           r"delete_timeout_minutes=30; run the delete again later"):
        prov.delete("hpc-base", {**inputs(), "delete_timeout_minutes": 30})
    assert clock.now == pytest.approx(30 * MINUTE), "the 20 minutes of build waiting count against the 30"


def test_delete_of_a_build_that_outlasts_the_deadline_sends_no_delete(prov, api, clock):
    put(api, clock, "hpc-base", (0, "BUILD_IN_PROGRESS"))
    with pytest.raises(DeleteFailed, match=r"'hpc-base' is still building after delete_timeout_minutes=30; a build "
                                           r"cannot be deleted while it runs\. Run `pulumi destroy` again later\."):
        prov.delete("hpc-base", {**inputs(), "delete_timeout_minutes": 30})
    assert clock.now == pytest.approx(30 * MINUTE) and api.ops("delete_image") == []


def test_a_delete_refused_because_a_build_started_waits_for_it_and_retries(prov, api, clock):
    put(api, clock, "hpc-base", (0, "BUILD_COMPLETE"))
    api.images["hpc-base"].script = ["BUILD_COMPLETE", "BUILD_IN_PROGRESS", "BUILD_IN_PROGRESS", "BUILD_COMPLETE"]
    api.raise_on["delete_image"] = [BadRequestError("Image is in BUILD_IN_PROGRESS state.")]
    prov.delete("hpc-base", inputs())
    assert len(api.ops("delete_image")) == 2 and "hpc-base" not in api.images


def test_a_delete_refused_twice_while_building_gives_up_with_the_apis_reason(prov, api, clock):
    put(api, clock, "hpc-base", (0, "BUILD_COMPLETE"))
    api.images["hpc-base"].script = ["BUILD_COMPLETE", "BUILD_IN_PROGRESS", "BUILD_COMPLETE", "BUILD_IN_PROGRESS"]
    api.raise_on["delete_image"] = [BadRequestError("Image is in BUILD_IN_PROGRESS state."),
                                    BadRequestError("Image is in BUILD_IN_PROGRESS state.")]
    with pytest.raises(DeleteFailed, match="refused to delete image 'hpc-base': Image is in BUILD_IN_PROGRESS state"):
        prov.delete("hpc-base", inputs())
    assert len(api.ops("delete_image")) == 2 and "hpc-base" in api.images


def test_an_image_that_vanishes_while_a_refused_delete_is_checked_is_deleted(prov, api, clock):
    put(api, clock, "hpc-base", (0, "BUILD_COMPLETE"))
    api.images["hpc-base"].script = ["BUILD_COMPLETE", "GONE"]
    api.raise_on["delete_image"] = [BadRequestError("Image is being deleted.")]
    prov.delete("hpc-base", inputs())
    assert "hpc-base" not in api.images and len(api.ops("delete_image")) == 1


def test_an_image_gone_between_describe_and_delete_is_deleted(prov, api, clock):
    put(api, clock, "hpc-base", (0, "BUILD_COMPLETE"))
    api.raise_on["delete_image"] = [NotFoundError("no such image")]
    prov.delete("hpc-base", inputs())
    assert len(api.ops("delete_image")) == 1 and api.ops("describe_image") and \
        len(api.ops("describe_image")) == 1, "nothing to wait for"


def test_delete_asks_for_force_only_when_it_is_set(prov, api, clock):
    put(api, clock, "hpc-base", (0, "BUILD_COMPLETE"))
    prov.delete("hpc-base", {**inputs(), "force_delete": True})
    assert api.ops("delete_image")[0][2]["force"] is True


# ---------------------------------------------------------------- check and create: values that matter

@pytest.mark.parametrize("arn", ["arn:aws:iam::123456789012:role/pcluster-image-builder",
                                 "arn:aws-cn:iam::123456789012:role/path/builder",
                                 "arn:aws-us-gov:iam::123456789012:role/b"])
def test_a_valid_role_arn_passes_check(prov, api, arn):
    result = prov.check({}, inputs(role_arn=arn, validate_on_preview=False))
    assert result.failures == [] and result.inputs["role_arn"] == arn


@pytest.mark.parametrize("arn", ["arn:aws:iam::1234:role/x", "arn:aws:iam::123456789012:user/x",
                                 "arn:aws:iam::123456789012:role/"])
def test_an_invalid_role_arn_is_named(prov, api, arn):
    failures = {f.property: f.reason for f in prov.check({}, inputs(role_arn=arn)).failures}
    assert "role_arn" in failures and failures["role_arn"].startswith(f"role_arn {arn!r} must match")


def test_create_outputs_what_describe_image_says(prov, api):
    api.build_script = ["BUILD_COMPLETE"]
    result = create(prov)
    assert {k: result.outs.get(k) for k in ("ami_id", "ami_name", "architecture", "version", "creation_time",
                                            "image_build_status")} == {
        "ami_id": "ami-0f00", "ami_name": "hpc-base", "architecture": "x86_64", "version": "3.16.1",
        "creation_time": "2026-01-01T00:00:00Z", "image_build_status": "BUILD_COMPLETE"}


def test_the_image_carries_the_owner_tags_images_already_built_carry(prov, api):
    create(prov)
    (_, _, kw), = api.ops("build_image")
    sent = kw["configuration"]
    # The tag keys are a contract with every image already built: adoption reads them back.
    assert "Key: pulumi-pcimage:owner" in sent and "Key: pulumi-pcimage:generation" in sent
    assert "proj/dev/hpc-base@" in sent


def test_a_preview_without_any_endpoint_warns_and_passes(prov, api, monkeypatch, caplog):
    for name in ("PCLUSTER_API_URL", "PCLUSTER_API_STACK_NAME"):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.WARNING, logger="pulumi_pcimage"):
        result = prov.check({}, inputs(api_url=None))
    assert result.failures == [] and api.calls == []
    assert "configuration not validated against the API" in caplog.text


def test_an_existing_image_whose_configuration_cannot_be_fetched_is_not_adopted(prov, api):
    create(prov, owner=urn("res", "other", "stack"))
    api.config_server.close()  # the presigned URL no longer answers
    with pytest.raises(ImageClash, match="already taken .* its configuration could not be read"):
        create(prov)
    assert len(api.images) == 1


def test_an_existing_image_whose_configuration_is_not_yaml_is_not_adopted(prov, api):
    create(prov, owner=urn("res", "other", "stack"))
    api.images["hpc-base"].configuration = "Build: [unclosed"
    with pytest.raises(ImageClash, match="its configuration could not be read"):
        create(prov, image_configuration=CHANGED)
    assert api.ops("delete_image") == [], "nothing deleted"


def test_a_failed_build_waits_for_its_cleanup_within_delete_timeout_minutes(prov, api, clock):
    follow(api, clock, *FAILED)
    api.delete_script = ["DELETE_IN_PROGRESS"] * 30 + ["GONE"]  # about ten minutes of deleting
    with pytest.raises(BuildFailed, match="the failed image was deleted, so the next `pulumi up` builds it again"):
        create(prov)
    assert "hpc-base" not in api.images and clock.now > 15 * MINUTE


# ---------------------------------------------------------------- conflicts, update, refresh

def test_our_image_from_a_previous_configuration_is_not_adopted(prov, api):
    create(prov)
    with pytest.raises(ImageClash, match=r"image id 'hpc-base' holds this resource's image built from its previous "
                                         r"configuration \(status BUILD_COMPLETE\)"):
        create(prov, image_configuration=CHANGED)
    assert len(api.ops("build_image")) == 2 and api.ops("delete_image") == []


def test_our_image_being_deleted_is_waited_out_and_built_again(prov, api, clock):
    create(prov)
    api.images["hpc-base"].script = ["DELETE_IN_PROGRESS"]
    api.delete_script = ["DELETE_IN_PROGRESS", "GONE"]
    result = create(prov)
    assert result.outs["image_build_status"] == "BUILD_COMPLETE" and len(api.ops("build_image")) == 3


def test_a_build_whose_answers_keep_getting_lost_is_tried_four_times(prov, api):
    from pulumi_pcimage.errors import UnknownOutcomeError

    api.raise_on["build_image"] = [UnknownOutcomeError(f"connection reset {n}") for n in range(6)]
    with pytest.raises(UnknownOutcomeError, match="connection reset 3"):
        create(prov)
    assert len(api.ops("build_image")) == 4 and api.images == {}


def outputs_of(prov, api):
    return create(prov).outs


@pytest.mark.parametrize("error, says", [
    (NotFoundError("no such image"), "cannot be found through the new api_url (describe_image in us-east-1 answered "
                                     "404); nothing was changed"),
    (TransportError("connection refused"), "could not be checked through the new api_url: connection refused; "
                                           "nothing was changed"),
])
def test_an_update_to_an_endpoint_that_cannot_see_the_image_changes_nothing(prov, api, error, says):
    olds = outputs_of(prov, api)
    api.raise_on["describe_image"] = [error]
    news = prov.check(olds, {**inputs(validate_on_preview=False), "api_url": "http://127.0.0.1:2/prod"}).inputs
    with pytest.raises(Exception, match=re.escape(f"image 'hpc-base' {says}")):
        prov.update("hpc-base", olds, news)


def test_an_update_to_an_endpoint_that_sees_the_image_keeps_its_outputs(prov, api):
    olds = outputs_of(prov, api)
    news = prov.check(olds, {**inputs(validate_on_preview=False), "api_url": "http://127.0.0.1:2/prod"}).inputs
    result = prov.update("hpc-base", olds, news)
    assert result.outs["api_url"] == "http://127.0.0.1:2/prod" and result.outs["ami_id"] == "ami-0f00"
    assert [c[0] for c in api.calls[-1:]] == ["describe_image"]


@pytest.mark.parametrize("status, extra, replaced", [
    ("BUILD_FAILED", {}, ["image_build_status"]),
    ("DELETE_FAILED", {}, ["image_build_status"]),
    ("BUILD_COMPLETE", {"ec2AmiInfo": {"amiName": "x"}}, ["ami_id"]),
])
def test_a_refresh_that_finds_the_image_unusable_plans_its_rebuild(prov, api, status, extra, replaced):
    olds = outputs_of(prov, api)
    api.images["hpc-base"].script, api.images["hpc-base"].extra = [status], extra
    _, refreshed = Lifecycle(state=api.host_state()).read("hpc-base", olds)
    plan = Lifecycle(state=api.host_state()).diff("hpc-base", refreshed, prov.check(refreshed, inputs(
        validate_on_preview=False)).inputs)
    assert plan.replaces == replaced and plan.delete_before_replace is True


def test_a_replacement_never_adopts_the_live_image_it_replaces(prov, api):
    checked = prov.check({}, inputs(validate_on_preview=False)).inputs
    prov.create(checked)
    with pytest.raises(ImageClash, match=r"image id 'hpc-base' is held by the image this replacement would replace "
                                         r"\(status BUILD_COMPLETE\)"):
        prov.create(checked)  # `pulumi up --replace`: the same inputs, the same generation
    (_, _, first), _ = api.ops("build_image")
    assert f"Value: '{checked['generation']}'" in first["configuration"] or \
        f"Value: {checked['generation']}" in first["configuration"], "the build carries the resource's generation"


def test_the_provider_property_of_the_dynamic_host_is_not_an_unknown_property(prov, api):
    result = prov.check({}, {**inputs(validate_on_preview=False), "__provider": "pickled"})
    assert result.failures == []
    failures = {f.property for f in prov.check({}, {**inputs(validate_on_preview=False), "provider": "x"}).failures}
    assert failures == {"provider"}


def test_a_long_build_log_line_is_cut_at_300_characters(prov, api, clock):
    follow(api, clock, *FAILED)
    api.log_lines = ["start", "error: " + "x" * 5000]
    with pytest.raises(BuildFailed) as failure:
        create(prov)
    lines = str(failure.value).splitlines()
    cut = [line.strip() for line in lines if line.strip().startswith("error: ")]
    assert cut == ["error: " + "x" * 292 + "…"]
