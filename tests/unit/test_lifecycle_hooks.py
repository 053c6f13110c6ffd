"""What a face passes in `Hooks` (progress, cancel, the engine's timeouts): what the user sees while waiting and
what is left at AWS when a wait is cancelled."""

import logging
import threading

import pytest

from pulumi_pcimage.errors import BadRequestError
from pulumi_pcimage.lifecycle import BuildFailed, DeleteFailed, Hooks, Lifecycle

from .test_bad_day import MINUTE, clock, follow, put  # noqa: F401 (clock: the fixture)
from .test_provider import inputs

LATER = (" The build continues server-side; the next `pulumi up` finds it, adopts it (it carries this resource's "
         "ownership tag) and waits for it. To stop it instead: pcluster delete-image --image-id hpc-base")


def checked(**overrides):
    result = Lifecycle().check({}, inputs(validate_on_preview=False, **overrides))
    assert result.failures == []
    return result.inputs


class Seen(list):
    """The progress hook: every (phase, status, elapsed seconds) it was shown."""

    def __call__(self, phase, described, elapsed):
        self.append((phase, (described or {}).get("imageBuildStatus"), elapsed))


def cancelling(after_phase):
    """Hooks whose cancel is set once the first answer of `after_phase` has been shown (the engine's Cancel)."""
    cancel = threading.Event()

    def progress(phase, described, elapsed):
        if phase == after_phase:
            cancel.set()

    return Hooks(progress=progress, cancel=cancel)


def test_a_build_wait_shows_each_answer_with_the_time_since_it_began(api, clock):
    clock.now = 1000.0  # whatever the monotonic clock says when it starts: elapsed counts from there
    follow(api, clock, (0, "BUILD_IN_PROGRESS"), (1000 + 10 * MINUTE, "BUILD_COMPLETE"))
    seen = Seen()

    Lifecycle(state=api.host_state(), hooks=Hooks(progress=seen)).create(checked())

    assert {phase for phase, _, _ in seen} == {"build"} and len(seen) >= 3
    assert seen[0][1:] == ("BUILD_IN_PROGRESS", 0.0)
    assert seen[-1][1] == "BUILD_COMPLETE" and 10 * MINUTE <= seen[-1][2] <= 10 * MINUTE + 30
    assert [elapsed for _, _, elapsed in seen] == sorted(elapsed for _, _, elapsed in seen)


def test_a_delete_shows_the_build_it_waits_out_then_the_deletion(api, clock):
    put(api, clock, "hpc-base", (0, "BUILD_IN_PROGRESS"), (5 * MINUTE, "BUILD_COMPLETE"))
    api.delete_script = ["DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS", "GONE"]
    seen = Seen()

    Lifecycle(state=api.host_state(), hooks=Hooks(progress=seen)).delete("hpc-base", inputs())

    phases = [(phase, status) for phase, status, _ in seen]
    assert phases[-3:] == [("build", "BUILD_COMPLETE"), ("delete", "DELETE_IN_PROGRESS"),
                           ("delete", "DELETE_IN_PROGRESS")]
    assert set(phases[:-3]) == {("build", "BUILD_IN_PROGRESS")}
    assert "hpc-base" not in api.images


@pytest.mark.timeout(10)
def test_a_cancelled_build_wait_says_the_build_goes_on_and_leaves_it_running(api):
    api.build_script = ["BUILD_IN_PROGRESS"]

    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state(), hooks=cancelling("build")).create(checked())

    assert str(failure.value) == ("image 'hpc-base': stopped waiting after 0s (cancelled; it was BUILD_IN_PROGRESS)."
                                  + LATER)
    assert "hpc-base" in api.images and api.ops("delete_image") == []


def test_a_cancelled_wait_keeps_what_exists_for_a_partial_failure(api):
    api.build_script = ["BUILD_IN_PROGRESS"]
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state(), hooks=cancelling("build")).create(checked())
    kept = failure.value.outputs
    assert kept is not None and (kept["image_id"], kept["image_build_status"]) == ("hpc-base", "BUILD_IN_PROGRESS")


def test_a_create_after_the_engines_cancel_requests_no_build(api):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state(), hooks=Hooks(cancel=cancel)).create(checked())
    assert str(failure.value) == ("image 'hpc-base': not built: the operation was cancelled before the build was "
                                  "requested")
    assert failure.value.outputs is None and api.ops("build_image") == [] and api.images == {}


def test_an_update_of_a_partly_created_image_resumes_its_build_without_another(api, caplog):
    api.build_script = ["BUILD_IN_PROGRESS", "BUILD_COMPLETE"]
    with pytest.raises(BuildFailed) as failure:
        Lifecycle(state=api.host_state(), hooks=cancelling("build")).create(checked())
    olds = failure.value.outputs
    api.images["hpc-base"].script = ["BUILD_IN_PROGRESS", "BUILD_COMPLETE"]
    caplog.set_level(logging.INFO, logger="pulumi_pcimage")

    outputs = Lifecycle(state=api.host_state()).update("hpc-base", olds, checked())

    assert outputs["image_build_status"] == "BUILD_COMPLETE" and outputs["ami_id"]
    assert list(api.images) == ["hpc-base"] and "image hpc-base: adopting the existing image (BUILD_IN_PROGRESS)" \
        in caplog.text, "its own build is adopted whatever its generation, not built again"
    assert Lifecycle(state=api.host_state()).diff("hpc-base", olds, checked()).updates == ["image_build_status"], \
        "resumed in place"


@pytest.mark.timeout(10)
def test_a_delete_cancelled_while_a_build_runs_deletes_nothing(api):
    api.build_script = ["BUILD_IN_PROGRESS"]
    api.build_image("hpc-base", "Build: {}\n")

    with pytest.raises(DeleteFailed) as failure:
        Lifecycle(state=api.host_state(), hooks=cancelling("build")).delete("hpc-base", inputs())

    assert str(failure.value) == ("image 'hpc-base': stopped waiting for its build to end (cancelled); nothing was "
                                  "deleted. Run `pulumi destroy` again later.")
    assert api.ops("delete_image") == [] and "hpc-base" in api.images


@pytest.mark.timeout(10)
def test_a_delete_cancelled_after_it_was_accepted_says_the_deletion_goes_on(api):
    api.build_script = ["BUILD_COMPLETE"]
    api.build_image("hpc-base", "Build: {}\n")
    api.delete_script = ["DELETE_IN_PROGRESS"]

    with pytest.raises(DeleteFailed) as failure:
        Lifecycle(state=api.host_state(), hooks=cancelling("delete")).delete("hpc-base", inputs())

    assert str(failure.value) == ("image 'hpc-base': stopped waiting (cancelled) after its deletion was accepted; it "
                                  "goes on server-side: the next `pulumi refresh` or `pulumi destroy` sees it gone")
    assert len(api.ops("delete_image")) == 1


def test_a_delete_retried_after_a_build_started_is_sent_only_once_the_build_ended(api, clock):
    put(api, clock, "hpc-base", (0, "BUILD_COMPLETE"))
    api.images["hpc-base"].script = ["BUILD_COMPLETE"] + ["BUILD_IN_PROGRESS"] * 6 + ["BUILD_COMPLETE"]
    api.raise_on["delete_image"] = [BadRequestError("Image is in BUILD_IN_PROGRESS state.")]
    sent_at, delete = [], api.delete_image

    def delete_image(image_id, **kwargs):
        sent_at.append(clock.now)
        return delete(image_id, **kwargs)

    api.delete_image = delete_image
    Lifecycle(state=api.host_state()).delete("hpc-base", inputs())

    assert len(sent_at) == 2 and sent_at[1] - sent_at[0] >= 30, "the retry waited for the build to end"
    assert "hpc-base" not in api.images


def test_a_delete_whose_request_alone_outlasts_the_deadline_is_not_waited_for_beyond_it(api, clock):
    put(api, clock, "hpc-base", (0, "BUILD_COMPLETE"))
    api.delete_script = ["DELETE_IN_PROGRESS"]
    delete = api.delete_image

    def slow_delete_image(image_id, **kwargs):
        clock.now += 40 * MINUTE  # an API that takes 40 minutes to answer
        return delete(image_id, **kwargs)

    api.delete_image = slow_delete_image
    with pytest.raises(DeleteFailed, match="'hpc-base' was still DELETE_IN_PROGRESS after delete_timeout_minutes=30"):
        Lifecycle(state=api.host_state()).delete("hpc-base", {**inputs(), "delete_timeout_minutes": 30})

    assert clock.now == pytest.approx(40 * MINUTE), "one look at the image, then the deadline is said"
