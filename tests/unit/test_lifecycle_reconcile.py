"""An id that is already taken when Create builds: which images are adopted, which are rebuilt, and what a
replaced resource's delete then leaves at AWS."""

import logging

import pytest

from pulumi_pcimage import config
from pulumi_pcimage.errors import NotFoundError, UnknownOutcomeError
from pulumi_pcimage.lifecycle import BuildFailed, DeleteFailed, ImageClash, Lifecycle

from .fakeapi import FakeImage
from .test_bad_day import MINUTE, clock  # noqa: F401 (clock: the fixture)
from .test_provider import CONFIG, inputs


def checked(core, **overrides):
    """The inputs a Check without old inputs gives (a new resource, or a replacement: a new generation)."""
    result = core.check({}, inputs(validate_on_preview=False, **overrides))
    assert result.failures == []
    return result.inputs


def lose_the_next_answer(api):
    """The next build request reaches the API, but its answer is lost."""
    original = api.build_image

    def lost(image_id, *args, **kwargs):
        original(image_id, *args, **kwargs)
        api.build_image = original
        raise UnknownOutcomeError("connection reset after the request was sent")

    api.build_image = lost


def test_a_forced_replacement_takes_over_the_live_image_and_the_old_resources_delete_leaves_it(api, caplog):
    core = Lifecycle(state=api.host_state())
    old = checked(core)
    core.create(old)
    new = checked(core)  # `pulumi up --replace`: same configuration and id, a new generation
    api.calls.clear()

    image_id, outs = core.create(new)

    assert (image_id, outs["ami_id"], outs["image_build_status"]) == ("hpc-base", "ami-0f00", "BUILD_COMPLETE")
    assert [op for op, _, _ in api.calls] == ["build_image", "describe_image"], "taken over as it is: no waiting"
    with caplog.at_level(logging.WARNING, logger="pulumi_pcimage"):
        core.delete("hpc-base", old)  # the engine deletes the replaced resource
    assert "hpc-base" in api.images and api.ops("delete_image") == []
    assert "image hpc-base: not deleted: its replacement has the same configuration and image id" in caplog.text
    core.delete("hpc-base", new)
    assert "hpc-base" not in api.images, "the replacement's own delete deletes it"


def test_a_replacement_whose_build_answer_is_lost_takes_over_the_live_image_too(api):
    core = Lifecycle(state=api.host_state())
    old = checked(core)
    core.create(old)
    new = checked(core)
    # The request is lost on the way: the image holding the id is the replaced one, not this Create's.
    api.raise_on["build_image"] = [UnknownOutcomeError("connection reset before an answer")]

    core.create(new)
    core.delete("hpc-base", old)

    assert "hpc-base" in api.images and api.ops("delete_image") == []


def test_an_image_this_create_built_despite_a_lost_answer_is_its_own_and_its_delete_deletes_it(api, caplog):
    core = Lifecycle(state=api.host_state())
    new = checked(core)
    api.build_script = ["BUILD_COMPLETE"]
    lose_the_next_answer(api)

    with caplog.at_level(logging.INFO, logger="pulumi_pcimage"):
        _, outs = core.create(new)
    assert "image hpc-base: adopting the existing image (BUILD_COMPLETE)\n" in caplog.text + "\n", "its own build"
    core.delete("hpc-base", new)

    assert outs["ami_id"] == "ami-0f00" and len(api.ops("build_image")) == 1
    assert "hpc-base" not in api.images and len(api.ops("delete_image")) == 1


def test_an_image_of_an_earlier_release_without_a_generation_is_taken_over_and_kept_by_the_old_delete(api):
    core = Lifecycle(state=api.host_state())
    new = checked(core)
    old = {**new, "generation": None}  # state written before generations existed
    api.images["hpc-base"] = FakeImage(["BUILD_COMPLETE"], config.dump(config.with_owner(
        config.load(CONFIG), new["owner"])))

    core.create(new)
    core.delete("hpc-base", old)

    assert "hpc-base" in api.images and api.ops("delete_image") == []


@pytest.mark.timeout(10)
def test_our_failed_image_that_keeps_coming_back_stops_the_up_after_four_builds(api):
    core = Lifecycle(state=api.host_state())
    api.build_script = ["BUILD_FAILED"]
    with pytest.raises(BuildFailed):
        core.create(checked(core, keep_failed_image=True))
    api.images["hpc-base"].extra = {"cloudformationStackStatusReason": "stack failed",
                                    "imagebuilderImageStatusReason": "component failed"}
    # The API says it deleted the image, yet it keeps answering BUILD_FAILED (eventual consistency gone wrong).
    api.raise_on["delete_image"] = [NotFoundError("No image or stack associated with it.")] * 10
    api.calls.clear()

    with pytest.raises(ImageClash) as clash:
        core.create(checked(core))

    assert str(clash.value) == (
        "image 'hpc-base' exists in state BUILD_FAILED (stack failed; component failed) and cannot be adopted; "
        "delete it (pcluster delete-image --image-id hpc-base) and run `pulumi up` again")
    assert len(api.ops("build_image")) == 4 and len(api.ops("delete_image")) == 3


def test_our_image_stuck_deleting_fails_the_up_at_delete_timeout_minutes(api, clock):
    core = Lifecycle(state=api.host_state())
    core.create(checked(core))
    api.images["hpc-base"].script = ["DELETE_IN_PROGRESS"]
    api.delete_script = ["DELETE_IN_PROGRESS"]  # never goes
    start = clock.now

    with pytest.raises(DeleteFailed, match=r"'hpc-base' was still DELETE_IN_PROGRESS after "
                                           r"delete_timeout_minutes=30; run the delete again later"):
        core.create(checked(core, delete_timeout_minutes=30))

    assert clock.now - start == pytest.approx(30 * MINUTE)
    assert len(api.ops("build_image")) == 2, "no build while the old image is still there"


def test_our_failed_images_cleanup_that_never_ends_is_given_up_at_delete_timeout_minutes(api, clock):
    core = Lifecycle(state=api.host_state())
    api.build_script = ["BUILD_FAILED"]
    api.delete_script = ["DELETE_IN_PROGRESS"]  # never goes

    with pytest.raises(BuildFailed) as failure:
        core.create(checked(core, delete_timeout_minutes=45))

    assert str(failure.value).endswith(
        "deleting the failed image also failed (image 'hpc-base' was still DELETE_IN_PROGRESS after "
        "delete_timeout_minutes=45; run the delete again later); delete it before the next `pulumi up`")
    assert clock.now == pytest.approx(45 * MINUTE)


def test_an_image_built_without_a_generation_despite_a_lost_answer_is_still_deleted_by_its_delete(api, caplog):
    core = Lifecycle(state=api.host_state())
    new = {**checked(core), "generation": ""}  # an identity without a generation (as imports of untagged images)
    api.build_script = ["BUILD_COMPLETE"]
    lose_the_next_answer(api)

    with caplog.at_level(logging.INFO, logger="pulumi_pcimage"):
        core.create(new)
    assert "image hpc-base: adopting the existing image (BUILD_COMPLETE)\n" in caplog.text + "\n", "its own build"
    core.delete("hpc-base", new)

    assert "hpc-base" not in api.images and len(api.ops("build_image")) == 1


def test_a_second_forced_replacement_keeps_the_image_the_first_one_took_over(api):
    core = Lifecycle(state=api.host_state())
    first = checked(core)
    core.create(first)
    second = checked(core)  # `pulumi up --replace`
    _, second_outs = core.create(second)
    core.delete("hpc-base", first)
    # the next `pulumi up --replace`: a new provider process, with a HostState of its own
    core = Lifecycle(state=api.host_state())
    third = checked(core)

    core.create(third)
    core.delete("hpc-base", second_outs)

    assert "hpc-base" in api.images and api.ops("delete_image") == [], "the third resource's image is still there"
    core.delete("hpc-base", third)
    assert "hpc-base" not in api.images


def test_a_resource_without_a_generation_that_took_an_image_over_deletes_it_on_its_own_delete(api):
    core = Lifecycle(state=api.host_state())
    taker = {**checked(core, adopt_existing=True), "generation": None}
    api.images["hpc-base"] = FakeImage(["BUILD_COMPLETE"], CONFIG)  # built with pcluster, same configuration

    core.create(taker)
    core.delete("hpc-base", taker)

    assert "hpc-base" not in api.images and len(api.ops("delete_image")) == 1
