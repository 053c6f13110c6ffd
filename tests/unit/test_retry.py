"""RetryPolicy.decide on its own: each outcome, idempotent or not, at each attempt -> seconds to wait, or stop.

The defaults: 8 attempts, 3 of them when the API is unreachable, 0.5 s doubling up to 20 s, Retry-After up to
120 s. Jitter is pinned to its maximum (random() == 1.0) so every delay is exact.
"""

from __future__ import annotations

import pytest

from pulumi_pcimage.retry import Answer, RetryPolicy, TransportFailure

STOP = None
POLICY = RetryPolicy(random=lambda: 1.0, sleep=lambda _: None)

REFUSED = TransportFailure(never_sent=True)  # refused, unresolvable, unreachable: never sent
CONNECT_TIMEOUT = TransportFailure(never_sent=True, timed_out=True)
READ_TIMEOUT = TransportFailure(never_sent=False, timed_out=True)  # sent, no answer in time
DROPPED = TransportFailure(never_sent=False)  # the connection dropped mid-answer
BAD_CERTIFICATE = TransportFailure(never_sent=False, permanent=True)
HTTP_DATE = "Wed, 21 Oct 2015 07:28:00 GMT"

# (outcome, idempotent, attempt, earlier unreachable attempts) -> delay or STOP
TABLE = [
    # answers given before the API processed anything: repeated for every call
    (Answer(429), True, 1, 0, 0.5),
    (Answer(429), False, 1, 0, 0.5),
    (Answer(503), True, 2, 0, 1.0),
    (Answer(503), False, 2, 0, 1.0),
    # other 5xx: repeated for reads and deletes only
    (Answer(500), True, 1, 0, 0.5),
    (Answer(502), True, 3, 0, 2.0),
    (Answer(504), True, 4, 0, 4.0),
    (Answer(500), False, 1, 0, STOP),
    (Answer(502), False, 1, 0, STOP),
    (Answer(504), False, 1, 0, STOP),
    # client errors: never repeated
    (Answer(400), True, 1, 0, STOP),
    (Answer(401), True, 1, 0, STOP),
    (Answer(403), True, 1, 0, STOP),
    (Answer(404), True, 1, 0, STOP),
    (Answer(409), True, 1, 0, STOP),
    (Answer(412), False, 1, 0, STOP),
    (Answer(501), True, 1, 0, STOP),
    # backoff doubles and is capped at 20 s; the eighth attempt is the last
    (Answer(429), True, 5, 0, 8.0),
    (Answer(429), True, 6, 0, 16.0),
    (Answer(429), True, 7, 0, 20.0),
    (Answer(429), True, 8, 0, STOP),
    (Answer(503), False, 8, 0, STOP),
    (Answer(429), True, 9, 0, STOP),
    # an unreachable count belongs to transport failures: it never stops an answer's retries
    (Answer(429), True, 2, 5, 1.0),
    # Retry-After: honoured in seconds, capped at 120, never negative; an HTTP date is ignored (ordinary backoff)
    (Answer(429, "3"), True, 1, 0, 3.0),
    (Answer(503, "0"), False, 5, 0, 0.0),
    (Answer(429, "120"), True, 1, 0, 120.0),
    (Answer(429, "600"), True, 1, 0, 120.0),
    (Answer(503, "-3"), True, 1, 0, 0.0),
    (Answer(503, "2.5"), True, 1, 0, 2.5),
    (Answer(429, HTTP_DATE), True, 3, 0, 2.0),
    (Answer(429, ""), True, 2, 0, 1.0),
    # ... but it never makes a stop a retry
    (Answer(500, "3"), False, 1, 0, STOP),
    (Answer(404, "3"), True, 1, 0, STOP),
    (Answer(429, "3"), True, 8, 0, STOP),
    # never sent (refused, unresolvable, connect timeout): repeated even for build_image, three attempts in all
    (REFUSED, True, 1, 0, 0.5),
    (REFUSED, False, 1, 0, 0.5),
    (REFUSED, True, 2, 1, 1.0),
    (REFUSED, False, 2, 1, 1.0),
    (REFUSED, True, 3, 2, STOP),
    (REFUSED, False, 3, 2, STOP),
    (REFUSED, True, 5, 1, 8.0),  # answers or drops in between do not count
    (CONNECT_TIMEOUT, False, 1, 0, 0.5),
    (CONNECT_TIMEOUT, True, 3, 2, STOP),
    (REFUSED, True, 8, 0, STOP),
    # sent but unanswered: repeated for reads only; a silent endpoint counts as unreachable
    (READ_TIMEOUT, True, 1, 0, 0.5),
    (READ_TIMEOUT, True, 2, 1, 1.0),
    (READ_TIMEOUT, True, 3, 2, STOP),
    (READ_TIMEOUT, False, 1, 0, STOP),
    # a dropped connection is a passing fault: every attempt for reads, none for build_image
    (DROPPED, True, 1, 0, 0.5),
    (DROPPED, True, 3, 2, 2.0),
    (DROPPED, True, 7, 6, 20.0),
    (DROPPED, True, 8, 0, STOP),
    (DROPPED, False, 1, 0, STOP),
    # a certificate that fails verification: never repeated
    (BAD_CERTIFICATE, True, 1, 0, STOP),
    (TransportFailure(never_sent=True, permanent=True), True, 1, 0, STOP),
]


@pytest.mark.parametrize("outcome, idempotent, attempt, unreachable, expected", TABLE)
def test_decide(outcome, idempotent, attempt, unreachable, expected):
    assert POLICY.decide(attempt, outcome, idempotent, unreachable=unreachable) == expected


def test_decide_counts_no_earlier_unreachable_attempt_by_default():
    assert POLICY.decide(2, REFUSED, True) == 1.0
    two_tries = RetryPolicy(max_transport_attempts=2, random=lambda: 1.0)
    assert two_tries.decide(1, REFUSED, True) == 0.5
    assert two_tries.decide(2, REFUSED, True, unreachable=1) is STOP


def test_the_policys_own_limits_decide():
    policy = RetryPolicy(max_attempts=2, max_transport_attempts=5, base_delay=1.0, max_delay=3.0,
                         max_retry_after=10.0, random=lambda: 1.0)
    assert policy.decide(1, Answer(503), True) == 1.0
    assert policy.decide(2, Answer(503), True) is STOP
    assert policy.decide(1, Answer(429, "30"), True) == 10.0
    assert policy.decide(1, REFUSED, True, unreachable=3) == 1.0  # the fifth unreachable attempt would stop
    assert policy.decide(1, REFUSED, True, unreachable=4) is STOP
    assert RetryPolicy(max_attempts=1).decide(1, Answer(429), True) is STOP
    long = RetryPolicy(max_attempts=20, base_delay=1.0, max_delay=3.0, random=lambda: 1.0)
    assert [long.decide(n, DROPPED, True) for n in (1, 2, 3, 10)] == [1.0, 2.0, 3.0, 3.0]


def test_jitter_scales_the_backoff_but_never_a_retry_after():
    policy = RetryPolicy(random=lambda: 0.25)
    assert policy.decide(3, Answer(503), True) == 0.5  # a quarter of 2 s
    assert policy.decide(3, DROPPED, True) == 0.5
    assert policy.decide(3, Answer(503, "3"), True) == 3.0


@pytest.mark.parametrize("failure, unreachable", [
    (REFUSED, True), (CONNECT_TIMEOUT, True), (READ_TIMEOUT, True), (DROPPED, False), (BAD_CERTIFICATE, False)])
def test_which_transport_failures_count_as_unreachable(failure, unreachable):
    assert failure.unreachable is unreachable


def test_the_defaults_are_the_documented_ones():
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.max_transport_attempts, policy.base_delay, policy.max_delay,
            policy.max_retry_after) == (8, 3, 0.5, 20.0, 120.0)
    assert policy.RETRY_ALWAYS == {429, 503} and policy.RETRY_IDEMPOTENT == {429, 500, 502, 503, 504}
