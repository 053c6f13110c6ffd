"""When the client tries a request again, and after how long: one decision per failed attempt, from what happened.

Modelled on botocore's retryhandler: the call loop describes each failed attempt as a small value (an HTTP answer
with its Retry-After, or a transport failure and whether the request was ever sent) and `RetryPolicy.decide`
answers with the seconds to wait, or None to stop. Nothing here sends, signs or knows requests.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """The API answered with an error status (a success is never asked about), and perhaps a Retry-After."""

    status: int
    retry_after: str | None = None


@dataclass(frozen=True)
class TransportFailure:
    """No answer came back.

    ``never_sent``: it failed while connecting, so the API cannot have seen the request. ``timed_out``: a connect or
    read timeout. ``permanent``: no repetition can help (a TLS certificate that fails verification).
    """

    never_sent: bool
    timed_out: bool = False
    permanent: bool = False

    @property
    def unreachable(self) -> bool:
        """Refused, unresolvable or timed out: the endpoint is wrong or down, and a few quick tries are enough. A
        connection dropped mid-answer is a passing fault and is not counted."""
        return self.never_sent or self.timed_out


Outcome = Answer | TransportFailure


@dataclass
class RetryPolicy:
    """When to try a request again and how long to wait first: capped exponential backoff with full jitter.

    POST build_image is not idempotent: only answers given before the API processed anything (429 throttled,
    503 unavailable) and failures to connect are repeated for it.
    """

    max_attempts: int = 8
    # A refused connection, an unknown host or a silent endpoint rarely heals within seconds: a few quick tries,
    # then a clear error (a build's waiter keeps polling through longer outages on its own). Dropped connections
    # are not counted here: under load they come and go.
    max_transport_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = _random.random

    RETRY_ALWAYS = frozenset({429, 503})
    RETRY_IDEMPOTENT = frozenset({429, 500, 502, 503, 504})

    def decide(self, attempt: int, outcome: Outcome, idempotent: bool, *, unreachable: int = 0) -> float | None:
        """Seconds to wait before trying again after failed attempt number ``attempt`` (1-based), or None: stop.

        ``unreachable`` is how many earlier attempts of the same call found the API unreachable.
        """
        if attempt >= self.max_attempts:
            return None
        if isinstance(outcome, Answer):
            if not self.retries_status(outcome.status, idempotent):
                return None
            return self.delay(attempt, outcome.retry_after)
        if outcome.permanent or not (idempotent or outcome.never_sent):
            return None  # a request that may have reached the API is never repeated for a non-idempotent call
        if outcome.unreachable and unreachable + 1 >= self.max_transport_attempts:
            return None
        return self.delay(attempt)

    def retries_status(self, status: int, idempotent: bool) -> bool:
        return status in (self.RETRY_IDEMPOTENT if idempotent else self.RETRY_ALWAYS)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); the server's Retry-After wins."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.max_retry_after)
            except ValueError:
                pass
        return self.random() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
