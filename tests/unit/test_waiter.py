"""The waiter on a simulated clock: a 60-minute build costs milliseconds."""

import logging

import pytest

from pulumi_pcimage import waiter
from pulumi_pcimage.errors import AuthError, InternalServiceError, NotFoundError, ThrottledError, TransportError


class SimulatedImage:
    """describe_image over a fake clock: BUILD_IN_PROGRESS until `done_at`, then `final`."""

    def __init__(self, done_at, final="BUILD_COMPLETE", errors=None):
        self.now, self.done_at, self.final = 0.0, done_at, final
        self.errors = dict(errors or {})  # poll number -> exception raised instead of answering
        self.polls, self.sleeps = 0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def describe(self):
        self.polls += 1
        if self.polls in self.errors:
            raise self.errors[self.polls]
        if self.now < self.done_at:
            return {"imageBuildStatus": "BUILD_IN_PROGRESS"}
        if self.final == "GONE":
            raise NotFoundError("no such image")
        return {"imageBuildStatus": self.final}

    def wait(self, acceptors=waiter.BUILD, timeout=4 * 3600, **kwargs):
        kwargs.setdefault("policy", waiter.Backoff())
        return waiter.wait(self.describe, acceptors, timeout=timeout, what="image x", clock=self.clock,
                           sleep=self.sleep, **kwargs)


def test_sixty_minute_build_is_noticed_quickly_with_few_polls():
    image = SimulatedImage(done_at=3600)
    outcome = image.wait()
    assert outcome.state == "success" and outcome.status == "BUILD_COMPLETE"
    assert image.polls <= 150
    lag = outcome.elapsed - 3600
    assert 0 <= lag <= 30 and lag <= 0.05 * outcome.elapsed


def test_first_poll_comes_soon_and_delays_grow_to_the_cap():
    image = SimulatedImage(done_at=3600)
    image.wait()
    policy = waiter.Backoff()
    assert image.sleeps[0] == policy.first
    later = image.sleeps[1:]
    assert later == sorted(later), "delays never shrink while nothing goes wrong"
    assert min(later) == policy.minimum and max(later) == policy.maximum


def test_failure_acceptor_ends_the_wait_with_the_last_answer():
    outcome = SimulatedImage(done_at=600, final="BUILD_FAILED").wait()
    assert outcome.state == "failure" and outcome.response == {"imageBuildStatus": "BUILD_FAILED"}


def test_delete_waiter_treats_404_as_success():
    image = SimulatedImage(done_at=30, final="GONE")
    image.describe = _as_delete(image.describe)
    outcome = image.wait(waiter.DELETE)
    assert outcome.state == "success" and isinstance(outcome.error, NotFoundError)


def _as_delete(describe):
    def wrapped():
        answer = describe()
        return {"imageBuildStatus": "DELETE_IN_PROGRESS"} if answer["imageBuildStatus"] == "BUILD_IN_PROGRESS" \
            else answer
    return wrapped


@pytest.mark.parametrize("error", [InternalServiceError("boom"), TransportError("connection refused")])
def test_transient_errors_never_end_the_wait(error):
    image = SimulatedImage(done_at=120, errors={n: error for n in range(2, 8)})
    assert image.wait().state == "success"


def test_throttling_doubles_the_next_delays():
    calm = SimulatedImage(done_at=10_000)
    throttled = SimulatedImage(done_at=10_000, errors={3: ThrottledError("slow down"), 4: ThrottledError("slow down")})
    for image in (calm, throttled):
        with pytest.raises(waiter.WaitTimeout):
            image.wait(timeout=300)
    normal = waiter.Backoff().minimum
    assert calm.sleeps[1:5] == [normal] * 4
    # poll 3 was throttled: the next delay doubled; poll 4 too: doubled again; then back to normal
    assert throttled.sleeps[1:5] == [normal, 2 * normal, 4 * normal, normal]
    assert throttled.polls < calm.polls


def test_other_errors_are_raised_as_is():
    image = SimulatedImage(done_at=600, errors={2: AuthError("denied")})
    with pytest.raises(AuthError):
        image.wait()


def test_timeout_names_the_wait_and_the_last_status():
    image = SimulatedImage(done_at=10_000)
    with pytest.raises(waiter.WaitTimeout, match=r"image x after 10m00s \(last status: BUILD_IN_PROGRESS\)"):
        image.wait(timeout=600)
    assert image.now == pytest.approx(600), "the last sleep is cut to the deadline"


def test_progress_logs_transitions_at_once_and_otherwise_about_once_a_minute(caplog):
    image = SimulatedImage(done_at=3600)
    with caplog.at_level(logging.INFO, logger="pulumi_pcimage.waiter"):
        image.wait()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("image x: BUILD_IN_PROGRESS after")
    assert lines[-1].startswith("image x: BUILD_COMPLETE after 1h00m")
    assert 55 <= len(lines) <= 65, "about one line a minute for an hour"


def test_progress_comes_as_often_under_a_poll_scale_as_the_polls_do(caplog):
    # PCIMAGE_POLL_SCALE=0.02 (the tests, the main job): a 20-second emulated build reports as a 1000-second one does
    image = SimulatedImage(done_at=20)
    with caplog.at_level(logging.INFO, logger="pulumi_pcimage.waiter"):
        image.wait(policy=waiter.Backoff(scale=0.02))
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "image x: BUILD_IN_PROGRESS after 0s" and lines[-1].startswith("image x: BUILD_COMPLETE")
    assert 14 <= sum("still BUILD_IN_PROGRESS" in line for line in lines) <= 17, "every 1.2 s, not never"


def test_poll_scale_from_environment():
    assert waiter.Backoff.from_environ({}).scale == 1.0
    scaled = waiter.Backoff.from_environ({waiter.POLL_SCALE_ENV: "0.01"})
    assert scaled.delay(3600, 5) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="PCIMAGE_POLL_SCALE='-1' must be a positive number"):
        waiter.Backoff.from_environ({waiter.POLL_SCALE_ENV: "-1"})


def test_cancel_ends_a_wait_during_its_sleep_and_names_the_last_status():
    import threading
    import time

    cancel = threading.Event()
    polls = []

    def describe():
        polls.append(time.monotonic())
        if len(polls) == 2:
            threading.Timer(0.05, cancel.set).start()  # Ctrl-C while the waiter sleeps 300 s
        return {"imageBuildStatus": "BUILD_IN_PROGRESS"}

    policy = waiter.Backoff(first=0.01, minimum=300, maximum=300)
    with pytest.raises(waiter.Cancelled, match=r"image x .*cancelled; last status: BUILD_IN_PROGRESS"):
        waiter.wait(describe, waiter.BUILD, timeout=3600, what="image x", policy=policy, cancel=cancel)
    assert len(polls) == 2, "no poll after the cancel"


def test_a_wait_cancelled_before_it_starts_polls_nothing():
    import threading

    cancel = threading.Event()
    cancel.set()
    image = SimulatedImage(done_at=600)
    with pytest.raises(waiter.Cancelled):
        waiter.wait(image.describe, waiter.BUILD, timeout=3600, what="image x", cancel=cancel)
    assert image.polls == 0


class CancelAt:
    """The engine's cancel, set at a time of the simulated clock; waiting on it advances that clock."""

    def __init__(self, image: SimulatedImage, at: float):
        self.image, self.at, self.waits = image, at, []

    def is_set(self) -> bool:
        return self.image.now >= self.at

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.image.now = min(self.image.now + seconds, max(self.at, self.image.now))
        return self.is_set()


def test_a_cancelled_wait_says_how_long_it_waited_and_the_last_status():
    image = SimulatedImage(done_at=3600)
    cancel = CancelAt(image, at=600.0)  # Ctrl-C ten minutes into the build
    policy = waiter.Backoff(first=30, minimum=30, maximum=30)
    with pytest.raises(waiter.Cancelled) as raised:
        waiter.wait(image.describe, waiter.BUILD, timeout=3600, what="image x", policy=policy, clock=image.clock,
                    cancel=cancel)  # type: ignore[arg-type]
    assert str(raised.value) == "stopped waiting for image x after 10m00s (cancelled; last status: BUILD_IN_PROGRESS)"
    assert (raised.value.what, raised.value.elapsed, raised.value.last_status) == ("image x", 600.0,
                                                                                   "BUILD_IN_PROGRESS")
    assert image.polls == 20 and cancel.waits == [30.0] * 20, "one poll per 30 s, none after the cancel"


def test_a_wait_cancelled_later_than_its_start_counts_from_its_start():
    image = SimulatedImage(done_at=3600)
    image.now = 5000.0  # the clock is not at zero when the wait begins
    cancel = CancelAt(image, at=5000.0)
    with pytest.raises(waiter.Cancelled) as raised:
        waiter.wait(image.describe, waiter.BUILD, timeout=3600, what="image x", clock=image.clock,
                    cancel=cancel)  # type: ignore[arg-type]
    assert str(raised.value) == "stopped waiting for image x after 0s (cancelled; last status: unknown)"
    assert raised.value.elapsed == 0.0 and image.polls == 0
