"""Waiting for an image to reach a state, botocore-waiter style.

A waiter is data: acceptors that map what describe_image answered (an `imageBuildStatus`, or an
exception such as NotFoundError) to success, failure or retry, plus a backoff policy. One loop runs
them all. The clock and sleep are injectable so a 60-minute build simulates in milliseconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from collections.abc import Callable

from .durations import duration
from .errors import (Cancelled, InternalServiceError, NotFoundError, ThrottledError, TransportError,
                     WaitTimeout)

log = logging.getLogger(__name__)

State = Literal["success", "failure", "retry"]
# Errors that never end a wait: they only slow it down.
TRANSIENT = (ThrottledError, InternalServiceError, TransportError)
POLL_SCALE_ENV = "PCIMAGE_POLL_SCALE"


@dataclass(frozen=True)
class Acceptor:
    state: State
    status: str | None = None  # matches response["imageBuildStatus"]
    error: type[BaseException] | None = None  # matches an exception raised by the poll

    def matches(self, response: dict | None, error: BaseException | None) -> bool:
        if self.error is not None:
            return isinstance(error, self.error)
        return error is None and response is not None and response.get("imageBuildStatus") == self.status


BUILD = (
    Acceptor("success", "BUILD_COMPLETE"),
    Acceptor("retry", "BUILD_IN_PROGRESS"),
    Acceptor("failure", "BUILD_FAILED"),
    Acceptor("failure", "DELETE_IN_PROGRESS"),
    Acceptor("failure", "DELETE_FAILED"),
    Acceptor("failure", error=NotFoundError),
)
# A build must end (either way) before the image can be deleted.
SETTLED = (
    Acceptor("retry", "BUILD_IN_PROGRESS"),
    Acceptor("success", "BUILD_COMPLETE"),
    Acceptor("success", "BUILD_FAILED"),
    Acceptor("success", "DELETE_IN_PROGRESS"),
    Acceptor("success", "DELETE_FAILED"),
    Acceptor("success", error=NotFoundError),
)
# After DELETE the API answers 404; DELETE_COMPLETE is practically never observed.
DELETE = (
    Acceptor("success", error=NotFoundError),
    Acceptor("success", "DELETE_COMPLETE"),
    Acceptor("retry", "DELETE_IN_PROGRESS"),
    Acceptor("failure", "DELETE_FAILED"),
)


@dataclass(frozen=True)
class Backoff:
    """delay = clamp(proportion * elapsed, minimum, maximum), the first poll after `first`.

    Proportional delays keep the number of polls logarithmic in the build time while the lag between
    completion and noticing it stays under both `maximum` and `proportion` of the elapsed time.
    `scale` multiplies every delay (tests and the PCIMAGE_POLL_SCALE environment variable).
    """

    first: float = 5.0
    minimum: float = 15.0
    maximum: float = 30.0
    proportion: float = 0.05
    throttle_penalty_cap: float = 8.0  # consecutive throttling doubles the delay up to this factor
    scale: float = 1.0

    def delay(self, elapsed: float, attempt: int) -> float:
        base = self.first if attempt == 0 else min(self.maximum, max(self.minimum, self.proportion * elapsed))
        return base * self.scale

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> Backoff:
        raw = (os.environ if environ is None else environ).get(POLL_SCALE_ENV)
        if not raw:
            return cls()
        try:
            scale = float(raw)
        except ValueError:
            raise ValueError(f"{POLL_SCALE_ENV}={raw!r} must be a positive number (e.g. 0.01)") from None
        if not scale > 0:
            raise ValueError(f"{POLL_SCALE_ENV}={raw!r} must be a positive number (e.g. 0.01)")
        return cls(scale=scale)


@dataclass(frozen=True)
class Clock:
    """Where waits read the time and spend their delays: real time, unless a test injects a simulated one (the
    lifecycle takes it from its HostState and passes both to `wait`). A wait given a `cancel` spends its delays in
    `cancel.wait` instead: on a simulated clock, give a cancel that advances it (tests/unit/test_waiter.py)."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Any] = time.sleep


REAL_TIME = Clock()


@dataclass
class Outcome:
    state: State  # "success" or "failure"
    response: dict | None  # the last describe answer (None when the acceptor matched an error)
    error: BaseException | None
    elapsed: float
    polls: int

    @property
    def status(self) -> str | None:
        return (self.response or {}).get("imageBuildStatus")


@dataclass
class Progress:
    """Logs state transitions at once and 'still <status>' at most every `interval` seconds."""

    what: str
    interval: float = 60.0
    logger: logging.Logger = field(default=log)
    _last_status: str | None = None
    _last_report: float = 0.0

    def __call__(self, status: str | None, elapsed: float) -> None:
        if status != self._last_status:
            self.logger.info("%s: %s after %s", self.what, status or "not found", duration(elapsed))
            self._last_status, self._last_report = status, elapsed
        elif elapsed - self._last_report >= self.interval:
            self.logger.info("%s: still %s after %s", self.what, status, duration(elapsed))
            self._last_report = elapsed


def wait(poll: Callable[[], dict], acceptors: tuple[Acceptor, ...], *, timeout: float, what: str,
         policy: Backoff | None = None, clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], Any] = time.sleep,
         progress: Callable[[str | None, float], None] | None = None,
         cancel: threading.Event | None = None) -> Outcome:
    """Poll until an acceptor says success or failure; raise WaitTimeout after `timeout` seconds.

    `cancel`: once set, the wait ends within one poll's network time with `Cancelled` (it replaces `sleep`).

    Transient errors (throttling, 5xx, unreachable API) never end the wait; throttling doubles the
    next delays. Any other error no acceptor matches is raised as is.
    """
    policy = policy or Backoff.from_environ()
    # 'still <status>' about every fourth poll, as at the default scale: an emulated build that lasts seconds
    # (PCIMAGE_POLL_SCALE=0.02) reports every 1.2 s, not once a minute, i.e. never.
    progress = progress or Progress(what, interval=Progress.interval * policy.scale)
    start = clock()
    attempt, penalty, last_status = 0, 1.0, None
    while True:
        if cancel is not None and cancel.is_set():
            raise Cancelled(what, clock() - start, last_status)
        response, error = None, None
        try:
            response = poll()
        except Exception as exc:  # matched against the acceptors below, else re-raised
            error = exc
        elapsed = clock() - start
        state = next((a.state for a in acceptors if a.matches(response, error)), None)
        if state is None and error is not None:
            if not isinstance(error, TRANSIENT):
                raise error
            penalty = min(penalty * 2, policy.throttle_penalty_cap) if isinstance(error, ThrottledError) else 1.0
            log.warning("%s: transient error while waiting, will retry: %s", what, error)
        else:
            penalty = 1.0
            last_status = response.get("imageBuildStatus") if response else None
            progress(last_status, elapsed)
        attempt += 1
        if state in ("success", "failure"):
            return Outcome(state, response, error, elapsed, attempt)
        if elapsed >= timeout:
            raise WaitTimeout(what, elapsed, last_status)
        delay = max(0.0, min(policy.delay(elapsed, attempt - 1) * penalty, timeout - elapsed))
        if cancel is not None:
            cancel.wait(delay)  # a cancel ends the sleep; the loop's first line raises Cancelled
        else:
            sleep(delay)
