"""Target 4: describe calls and completion lag of the real waiter, simulated on an injected clock (no sleeping).

    python benchmarks/waiter_polling.py

Drives `pulumi_pcimage.waiter.wait` with the production backoff policy against a scripted describe_image on fake
time, next to a fixed 10-second poll run by the same loop; then under throttling (HTTP 429).
"""

from __future__ import annotations

import logging
import random

from pulumi_pcimage import waiter
from pulumi_pcimage.errors import ThrottledError

FIXED_10S = waiter.Backoff(first=10, minimum=10, maximum=10)
BUILD_MINUTES = (5, 15, 30, 60, 90, 240)
OFFSETS = 30


class ScriptedBuild:
    """BUILD_IN_PROGRESS until `done_at` seconds; `throttle(now, rng)` says whether a call gets a 429 instead."""

    def __init__(self, done_at: float, throttle=lambda now, rng: False, seed: int = 0):
        self.now, self.done_at, self.throttle, self.rng = 0.0, done_at, throttle, random.Random(seed)
        self.calls = self.throttled = 0
        self.longest_gap, self._last_call = 0.0, None

    def describe(self) -> dict:
        self.calls += 1
        if self._last_call is not None:
            self.longest_gap = max(self.longest_gap, self.now - self._last_call)
        self._last_call = self.now
        if self.throttle(self.now, self.rng):
            self.throttled += 1
            raise ThrottledError("Rate exceeded", status=429)
        return {"imageBuildStatus": "BUILD_COMPLETE" if self.now >= self.done_at else "BUILD_IN_PROGRESS"}

    def wait(self, policy: waiter.Backoff) -> tuple[waiter.Outcome, float]:
        def sleep(seconds: float) -> None:
            self.now += seconds

        outcome = waiter.wait(self.describe, waiter.BUILD, timeout=8 * 3600, what="image build", policy=policy,
                              clock=lambda: self.now, sleep=sleep, progress=lambda *_: None)
        return outcome, outcome.elapsed - self.done_at


def across_offsets(minutes: int, policy: waiter.Backoff) -> dict:
    """Builds ending at every whole second of a 30-second window after `minutes` (no lucky alignment with polls)."""
    runs = []
    for offset in range(OFFSETS):
        build = ScriptedBuild(minutes * 60 + offset)
        outcome, lag = build.wait(policy)
        runs.append((build.calls, lag, lag / outcome.elapsed))
    calls, lags, shares = zip(*runs, strict=True)
    return {"calls": sum(calls) / len(runs), "max_calls": max(calls), "lag": sum(lags) / len(runs),
            "max_lag": max(lags), "max_share": max(shares)}


def main() -> None:
    logging.getLogger(waiter.__name__).setLevel(logging.ERROR)  # the waiter's 429 warnings, once per throttle
    policy = waiter.Backoff()
    print(f"policy: first poll after {policy.first:g} s, then every clamp({policy.proportion:g} x elapsed, "
          f"{policy.minimum:g} s, {policy.maximum:g} s); 429 multiplies the delay up to "
          f"{policy.throttle_penalty_cap:g}x")
    print(f"\n4. efficient waiting: describe calls and lag (completion -> noticed), mean and worst over {OFFSETS} "
          "end times")
    print(f"   {'build':>8} | {'waiter calls':>12} {'lag mean/max':>13} {'max lag %':>9} | "
          f"{'fixed 10 s calls':>16} {'lag mean/max':>13} | calls ratio")
    results = {}
    for minutes in BUILD_MINUTES:
        ours, fixed = across_offsets(minutes, policy), across_offsets(minutes, FIXED_10S)
        results[minutes] = ours
        print(f"   {minutes:>5} min | {ours['calls']:>12.0f} {ours['lag']:>5.1f}/{ours['max_lag']:>4.1f} s "
              f"{100 * ours['max_share']:>8.1f}% | {fixed['calls']:>16.0f} "
              f"{fixed['lag']:>5.1f}/{fixed['max_lag']:>4.1f} s | {ours['calls'] / fixed['calls']:.2f}")

    print("\n   throttling (60-minute build): the waiter slows down, never fails")
    scenarios = {
        "every call 429 from minute 10 to 40": lambda now, rng: 600 <= now < 2400,
        "30% of calls 429 throughout": lambda now, rng: rng.random() < 0.3,
        "every call 429 from minute 55 to 65 (completion inside)": lambda now, rng: 3300 <= now < 3900,
    }
    for label, throttle in scenarios.items():
        build = ScriptedBuild(3600, throttle)
        outcome, lag = build.wait(policy)
        print(f"   {label:<56} {outcome.state}: {build.calls} calls ({build.throttled} throttled), "
              f"longest gap {build.longest_gap:.0f} s, lag {lag:.0f} s")

    sixty = results[60]
    met = sixty["max_calls"] <= 150 and sixty["max_lag"] <= 30 and sixty["max_share"] <= 0.05
    print(f"\ntarget 4 (60 min: <= 150 calls, lag <= 30 s and <= 5%): {'met' if met else 'NOT met'} "
          f"(at most {sixty['max_calls']} calls, lag at most {sixty['max_lag']:.1f} s = "
          f"{100 * sixty['max_share']:.2f}%)")


if __name__ == "__main__":
    main()
