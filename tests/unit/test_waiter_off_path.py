"""The waiter when the image leaves the normal path, on the simulated clock: every answer ends the wait promptly.

A build that is deleted out of band (404, DELETE_IN_PROGRESS, DELETE_FAILED) must end the build wait at the next
poll, not after build_timeout_minutes (3 hours by default).
"""

import pytest

from pulumi_pcimage import waiter
from pulumi_pcimage.errors import AuthError, NotFoundError, ThrottledError

from .test_waiter import SimulatedImage

THREE_HOURS = 3 * 3600


Script = SimulatedImage  # BUILD_IN_PROGRESS until `done_at` simulated seconds, then `final` ("GONE" = 404)


@pytest.mark.parametrize("final", ["GONE", "DELETE_IN_PROGRESS", "DELETE_FAILED", "BUILD_FAILED"])
def test_a_build_that_leaves_the_normal_path_ends_the_wait_at_the_next_poll(final):
    image = Script(done_at=20 * 60, final=final)
    outcome = image.wait(waiter.BUILD, timeout=THREE_HOURS)
    assert outcome.state == "failure"
    assert 20 * 60 <= image.now <= 20 * 60 + 30, "noticed within one poll (30 s), not after 3 hours"
    if final == "GONE":
        assert outcome.response is None and isinstance(outcome.error, NotFoundError)
    else:
        assert outcome.status == final


@pytest.mark.parametrize("final", ["BUILD_COMPLETE", "BUILD_FAILED", "DELETE_IN_PROGRESS", "DELETE_FAILED", "GONE"])
def test_settled_waits_out_a_running_build_and_accepts_any_end(final):
    image = Script(done_at=45 * 60, final=final)
    outcome = image.wait(waiter.SETTLED, timeout=THREE_HOURS)
    assert outcome.state == "success"
    assert 45 * 60 <= image.now <= 45 * 60 + 30
    assert image.polls >= 3, "BUILD_IN_PROGRESS kept it waiting"


def test_settled_gives_up_at_its_deadline_while_the_build_runs():
    image = Script(done_at=THREE_HOURS)
    with pytest.raises(waiter.WaitTimeout, match=r"after 10m00s \(last status: BUILD_IN_PROGRESS\)"):
        image.wait(waiter.SETTLED, timeout=600)
    assert image.now == 600


@pytest.mark.parametrize("answers, state", [
    (["DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS", "DELETE_COMPLETE"], "success"),
    (["DELETE_IN_PROGRESS", "DELETE_FAILED"], "failure"),
])
def test_delete_waiter_ends_on_delete_complete_or_delete_failed(answers, state):
    image = Script(done_at=0)
    image.describe = lambda: {"imageBuildStatus": answers.pop(0) if len(answers) > 1 else answers[0]}
    outcome = image.wait(waiter.DELETE, timeout=3600)
    assert outcome.state == state and outcome.status in ("DELETE_COMPLETE", "DELETE_FAILED")
    assert image.now < 60


def test_an_answer_no_acceptor_knows_keeps_the_wait_going_until_its_deadline():
    image = Script(done_at=THREE_HOURS, final="BUILD_COMPLETE")
    image.describe = lambda: {"imageBuildStatus": "SOMETHING_NEW"}
    with pytest.raises(waiter.WaitTimeout, match=r"last status: SOMETHING_NEW"):
        image.wait(waiter.BUILD, timeout=300)


def test_default_backoff_first_poll_after_5s_then_15s_growing_to_30s():
    image = Script(done_at=2 * 3600)
    image.wait(waiter.BUILD, policy=waiter.Backoff())
    assert image.sleeps[0] == 5
    assert image.sleeps[1] == 15, "the minimum delay early in a build"
    assert max(image.sleeps) == 30, "never more than 30 s between polls"
    # 5 % of the elapsed time in between: at 400 s elapsed the delay is 20 s
    assert waiter.Backoff().delay(400, 3) == 20
    assert waiter.Backoff().delay(10, 0) == 5 and waiter.Backoff().delay(10, 1) == 15


def test_consecutive_throttling_slows_polling_at_most_eightfold():
    throttled = {n: ThrottledError("Rate exceeded") for n in range(2, 6)}
    image = Script(done_at=THREE_HOURS, errors=throttled)
    with pytest.raises(waiter.WaitTimeout):
        image.wait(waiter.BUILD, timeout=1200)
    # 15 s is the normal delay early on; each throttled poll doubles it, up to 8 times
    assert image.sleeps[:5] == [5, 30, 60, 120, 120]
    assert sum(image.sleeps[:5]) == 335
    assert image.sleeps[5] == pytest.approx(0.05 * 335), "an answer resets the penalty (5 % of 335 s elapsed)"


def test_transient_errors_until_the_deadline_say_the_last_status_is_unknown():
    image = Script(done_at=THREE_HOURS, errors={n: ThrottledError("Rate exceeded") for n in range(1, 100)})
    with pytest.raises(waiter.WaitTimeout, match=r"after 5m00s \(last status: unknown\)"):
        image.wait(waiter.BUILD, timeout=300)


def test_an_error_the_acceptors_do_not_know_is_raised_at_once():
    image = Script(done_at=600, errors={1: AuthError("The security token included in the request is expired")})
    with pytest.raises(AuthError, match="expired"):
        image.wait(waiter.SETTLED)
    assert image.polls == 1 and image.now == 0


def test_progress_reports_a_minute_apart_and_each_change_at_once():
    lines = []

    class Logger:
        def info(self, fmt, *args):
            lines.append(fmt % args)

    progress = waiter.Progress("image x build", logger=Logger())
    for elapsed in (0, 30, 59, 60, 90, 121):
        progress("BUILD_IN_PROGRESS", elapsed)
    progress("BUILD_COMPLETE", 125)
    progress(None, 3 * 3600 + 61)
    assert lines == ["image x build: BUILD_IN_PROGRESS after 0s", "image x build: still BUILD_IN_PROGRESS after 1m00s",
                     "image x build: still BUILD_IN_PROGRESS after 2m01s", "image x build: BUILD_COMPLETE after 2m05s",
                     "image x build: not found after 3h01m"]


@pytest.mark.parametrize("raw", ["0", "-0.5", "fast", "nan"])
def test_a_bad_poll_scale_is_refused_with_the_variable_named(raw):
    with pytest.raises(ValueError, match=rf"PCIMAGE_POLL_SCALE={raw!r} must be a positive number"):
        waiter.Backoff.from_environ({"PCIMAGE_POLL_SCALE": raw})


def test_an_empty_poll_scale_means_real_time():
    assert waiter.Backoff.from_environ({"PCIMAGE_POLL_SCALE": ""}).delay(3600, 9) == 30


def test_timeout_error_keeps_what_it_waited_for():
    image = Script(done_at=THREE_HOURS)
    with pytest.raises(waiter.WaitTimeout) as timeout:
        image.wait(waiter.BUILD, timeout=90)
    assert (timeout.value.what, timeout.value.seconds, timeout.value.last_status) == (
        "image x", 90, "BUILD_IN_PROGRESS")


def test_throttling_at_the_very_first_poll_doubles_the_first_delay():
    image = Script(done_at=600, errors={1: ThrottledError("Rate exceeded")})
    image.wait(waiter.BUILD)
    assert image.sleeps[:2] == [10, 15], "5 s doubled once, then the normal 15 s"


def test_an_unreachable_api_after_throttling_polls_at_the_normal_pace():
    from pulumi_pcimage.errors import TransportError

    image = Script(done_at=600, errors={2: ThrottledError("Rate exceeded"), 3: TransportError("connection reset")})
    image.wait(waiter.BUILD)
    assert image.sleeps[:4] == [5, 30, 15, 15], "only throttling slows polling down"
