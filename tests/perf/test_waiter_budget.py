"""Target 4 mechanism: the real waiter on an injected clock against a scripted describe_image (no sleeping)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_pcimage import waiter
from pulumi_pcimage.errors import ThrottledError

FIXED_10S = waiter.Backoff(first=10, minimum=10, maximum=10)  # the naive poll the targets compare against


class ScriptedBuild:
    """describe_image on a fake clock: BUILD_IN_PROGRESS until `done_at`; 429 for every call inside `throttled`."""

    def __init__(self, done_at: float, throttled: tuple[float, float] = (0.0, 0.0)):
        self.now, self.done_at, self.throttled = 0.0, done_at, throttled
        self.calls: list[float] = []  # when each describe happened
        self.throttles = 0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def describe(self) -> dict:
        self.calls.append(self.now)
        if self.throttled[0] <= self.now < self.throttled[1]:
            self.throttles += 1
            raise ThrottledError("Rate exceeded", status=429)
        return {"imageBuildStatus": "BUILD_COMPLETE" if self.now >= self.done_at else "BUILD_IN_PROGRESS"}

    def wait(self, policy: waiter.Backoff = waiter.Backoff()) -> waiter.Outcome:  # noqa: B008 - a frozen dataclass
        return waiter.wait(self.describe, waiter.BUILD, timeout=6 * 3600, what="image x build", policy=policy,
                           clock=lambda: self.now, sleep=self.sleep, progress=lambda *_: None)

    def lag(self, outcome: waiter.Outcome) -> float:
        return outcome.elapsed - self.done_at


def test_a_sixty_minute_build_costs_at_most_150_calls_and_is_noticed_within_30_seconds():
    build, fixed = ScriptedBuild(3600), ScriptedBuild(3600)
    outcome = build.wait()
    fixed.wait(FIXED_10S)
    assert outcome.state == "success"
    assert len(build.calls) <= 150 and len(build.calls) < len(fixed.calls) / 2
    assert 0 <= build.lag(outcome) <= 30 and build.lag(outcome) <= 0.05 * outcome.elapsed


@settings(max_examples=200, deadline=None)
@given(minutes=st.floats(min_value=10, max_value=240))
def test_any_build_from_10_minutes_to_4_hours_is_noticed_within_30_seconds_and_5_percent(minutes):
    build, fixed = ScriptedBuild(minutes * 60), ScriptedBuild(minutes * 60)
    outcome = build.wait()
    fixed.wait(FIXED_10S)
    assert 0 <= build.lag(outcome) <= min(30, 0.05 * outcome.elapsed)
    assert len(build.calls) <= outcome.elapsed / 15 + 2, "after the first poll, never more often than every 15 s"
    assert len(build.calls) < len(fixed.calls)


def test_throttling_slows_the_waiter_down_instead_of_failing_it():
    # The API answers 429 to every call from minute 10 to minute 40 of a 60-minute build.
    storm = (600.0, 2400.0)
    throttled, calm = ScriptedBuild(3600, throttled=storm), ScriptedBuild(3600)
    outcome = throttled.wait()
    calm.wait()
    assert outcome.state == "success" and throttled.throttles > 0
    during = [t for t in throttled.calls if storm[0] <= t < storm[1]]
    calm_during = [t for t in calm.calls if storm[0] <= t < storm[1]]
    assert len(during) <= len(calm_during) / 4, "consecutive 429s multiply the delay (up to 8x)"
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(during)]
    assert gaps == sorted(gaps) and gaps[-1] > waiter.Backoff().maximum
    assert throttled.lag(outcome) <= 30, "the storm is over long before completion: polling is back to normal"
