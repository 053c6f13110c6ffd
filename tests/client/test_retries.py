"""Retries against the recording server: what is repeated, what never is, and what is raised in the end."""

from __future__ import annotations

import logging
import socket

import pytest

from pulumi_pcimage import errors
from pulumi_pcimage.client import ParallelClusterClient, RetryPolicy
from pulumi_pcimage.retry import Answer, TransportFailure
from tests.client.server import DESCRIBED, DROP, HANG, Reply

CONFIG = "Build:\n  InstanceType: c6i.xlarge\n"
THROTTLED = Reply(429, {"message": "Too Many Requests"})
UNAVAILABLE = Reply(503, {"message": "Service Unavailable"})


def test_429_waits_as_long_as_retry_after_says(client, server, sleeps):
    server.script(Reply(429, {"message": "Rate exceeded"}, headers={"Retry-After": "3"}))
    assert client.describe_image("hpc-base") == DESCRIBED
    assert sleeps == [3.0] and len(server.seen) == 2


def test_503_then_success(client, server, sleeps):
    server.script(UNAVAILABLE, UNAVAILABLE)
    assert client.list_images("AVAILABLE")["images"]
    assert len(server.seen) == 3 and sleeps == [0.5, 1.0]  # base 0.5 s doubling, jitter pinned to its maximum


@pytest.mark.parametrize("reply", [THROTTLED, UNAVAILABLE], ids=["429", "503"])
def test_build_image_is_retried_on_answers_given_before_processing(client, server, sleeps, reply):
    server.script(reply)
    assert client.build_image("hpc-base", CONFIG)["image"]["imageId"] == "hpc-base"
    assert [seen.method for seen in server.seen] == ["POST", "POST"]


@pytest.mark.parametrize("status", [500, 502, 504])
def test_build_image_is_not_repeated_after_other_5xx(client, server, sleeps, status):
    server.script(Reply(status, {"message": "upstream failure"}))
    with pytest.raises(errors.InternalServiceError) as raised:
        client.build_image("hpc-base", CONFIG)
    assert raised.value.status == status and len(server.seen) == 1 and sleeps == []


@pytest.mark.parametrize("status", [500, 502, 504])
def test_reads_are_retried_after_5xx(client, server, status):
    server.script(Reply(status, {"message": "upstream failure"}))
    assert client.describe_image("hpc-base") == DESCRIBED
    assert len(server.seen) == 2


def test_dropped_connection_on_a_read_is_retried(client, server, sleeps):
    server.script(DROP)
    assert client.describe_image("hpc-base") == DESCRIBED
    assert len(server.seen) == 2 and len(sleeps) == 1


def test_dropped_connections_are_passing_faults_and_get_every_attempt(client, server, sleeps):
    # four drops in a row (more than the three quick tries a refused connection gets), then the answer
    server.script(DROP, DROP, DROP, DROP)
    assert client.describe_image("hpc-base") == DESCRIBED
    assert len(server.seen) == 5 and sleeps == [0.5, 1.0, 2.0, 4.0]


def test_build_image_whose_connection_drops_after_sending_is_not_repeated(client, server, sleeps):
    server.script(DROP)
    with pytest.raises(errors.UnknownOutcomeError, match="describe_image"):
        client.build_image("hpc-base", CONFIG)
    assert len(server.seen) == 1 and sleeps == []


def test_build_image_read_timeout_is_an_unknown_outcome(make_client, server, sleeps):
    server.script(HANG)
    with pytest.raises(errors.UnknownOutcomeError):
        make_client(timeout=(2.0, 0.2)).build_image("hpc-base", CONFIG)
    assert len(server.seen) == 1 and sleeps == []


def test_read_timeout_on_a_read_is_retried(make_client, server):
    server.script(HANG)
    assert make_client(timeout=(2.0, 0.2)).describe_image("hpc-base") == DESCRIBED
    assert len(server.seen) == 2


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/prod"


@pytest.mark.parametrize("call", [lambda c: c.build_image("hpc-base", CONFIG), lambda c: c.describe_image("x")],
                         ids=["build_image", "describe_image"])
def test_refused_connections_fail_fast_even_for_build_image_saying_what_to_check(make_client, sleeps, call):
    client = make_client(closed_port_url(), retry=RetryPolicy(sleep=sleeps.append, random=lambda: 1.0))
    with pytest.raises(errors.TransportError) as raised:
        call(client)
    assert type(raised.value) is errors.TransportError  # never sent, so the outcome is known
    # three quick attempts, 1.5 s of waiting in all: not the 8 backoffs a throttled API gets
    assert sleeps == [0.5, 1.0] and "after 3 attempts (the connection was refused)" in str(raised.value)
    assert "Check that api_url is the API's invoke URL" in str(raised.value)


def test_a_silent_endpoint_costs_three_read_timeouts_not_minutes(make_client, sleeps):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    try:
        client = make_client(f"http://127.0.0.1:{listener.getsockname()[1]}/prod", timeout=(1.0, 0.2),
                             retry=RetryPolicy(sleep=sleeps.append, random=lambda: 1.0))
        with pytest.raises(errors.TransportError,
                           match="after 3 attempts \\(the API accepted the connection but did not answer in time\\)"):
            client.describe_image("hpc-base")
    finally:
        listener.close()
    assert sleeps == [0.5, 1.0]


def test_retries_are_announced_at_most_every_few_seconds(make_client, server, sleeps, caplog):
    server.script(*[THROTTLED] * 4, Reply(200, {"imageId": "hpc-base"}))
    client = make_client(retry=RetryPolicy(sleep=sleeps.append, random=lambda: 1.0))
    with caplog.at_level(logging.INFO, logger="pulumi_pcimage"):
        client.describe_image("hpc-base")
    said = [r.getMessage() for r in caplog.records if r.name.startswith("pulumi_pcimage") and r.levelno >= logging.INFO]
    assert said == ["describe_image: HTTP 429; retrying in 0.5 s (attempt 2 of at most 8)"], "one line, not four"


def test_exhausted_throttling_raises_throttled_error(make_client, server, sleeps):
    server.script(*[THROTTLED] * 3)
    client = make_client(retry=RetryPolicy(max_attempts=3, sleep=sleeps.append, random=lambda: 1.0))
    with pytest.raises(errors.ThrottledError) as raised:
        client.delete_image("hpc-base")
    assert raised.value.status == 429 and raised.value.operation == "delete_image"
    assert len(server.seen) == 3 and len(sleeps) == 2


def test_exhausted_unavailability_raises_internal_service_error(make_client, server, sleeps):
    server.script(*[UNAVAILABLE] * 2)
    client = make_client(retry=RetryPolicy(max_attempts=2, sleep=sleeps.append, random=lambda: 1.0))
    with pytest.raises(errors.InternalServiceError) as raised:
        client.build_image("hpc-base", CONFIG)
    assert raised.value.status == 503 and len(server.seen) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412])
def test_client_errors_are_never_retried(client, server, sleeps, status):
    server.script(Reply(status, {"message": "no"}))
    with pytest.raises(errors.ApiError):
        client.describe_image("hpc-base")
    assert len(server.seen) == 1 and sleeps == []


def test_backoff_is_capped_exponential_with_full_jitter():
    policy = RetryPolicy(base_delay=1.0, max_delay=20.0, random=lambda: 1.0)
    assert [policy.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 20, 20]
    draws = iter([0.0, 0.25])
    jittered = RetryPolicy(base_delay=1.0, random=lambda: next(draws))
    assert [jittered.delay(4), jittered.delay(4)] == [0.0, 2.0]


def test_retry_after_is_honoured_within_bounds():
    policy = RetryPolicy(max_retry_after=60, random=lambda: 1.0)
    assert policy.delay(1, "7") == 7.0
    assert policy.delay(1, "600") == 60.0
    assert policy.delay(1, "-3") == 0.0
    assert policy.delay(3, "Wed, 21 Oct 2015 07:28:00 GMT") == 2.0  # not seconds: ordinary backoff


def test_default_client_uses_timeouts_and_eight_attempts():
    client = ParallelClusterClient("http://127.0.0.1:1/prod")
    assert client.retry.max_attempts == 8 and client.retry.max_transport_attempts == 3
    assert client.timeout == (5.0, 35.0), "API Gateway answers within 29 s or never"


class _Asked(RetryPolicy):
    """A policy that answers from a script and records what the call loop asked it."""

    def __init__(self, answers, **kwargs):
        super().__init__(**kwargs)
        self.answers, self.asked = list(answers), []

    def decide(self, attempt, outcome, idempotent, *, unreachable=0):
        self.asked.append((attempt, outcome, idempotent, unreachable))
        return self.answers.pop(0)


def test_the_call_loop_waits_and_stops_as_the_policy_decides(make_client, server, sleeps):
    server.script(Reply(400, {"message": "no"}), Reply(404, {"message": "no"}, headers={"Retry-After": "9"}),
                  Reply(409, {"message": "no"}))
    policy = _Asked([0.25, 0.75, None], sleep=sleeps.append)
    with pytest.raises(errors.ConflictError):
        make_client(retry=policy).build_image("hpc-base", CONFIG)
    assert policy.asked == [(1, Answer(400), False, 0), (2, Answer(404, "9"), False, 0), (3, Answer(409), False, 0)]
    assert sleeps == [0.25, 0.75] and len(server.seen) == 3


def test_the_call_loop_tells_the_policy_how_often_the_api_was_unreachable(make_client, sleeps):
    policy = _Asked([0.0, 0.0, 0.0, None], sleep=sleeps.append)
    with pytest.raises(errors.TransportError, match="after 4 attempts \\(the connection was refused\\)"):
        make_client(closed_port_url(), retry=policy).describe_image("hpc-base")
    refused = TransportFailure(never_sent=True)
    assert policy.asked == [(n, refused, True, n - 1) for n in (1, 2, 3, 4)]


def test_a_dropped_connection_is_not_counted_as_unreachable(make_client, server, sleeps):
    server.script(DROP, DROP)
    policy = _Asked([0.0, 0.0], sleep=sleeps.append)
    assert make_client(retry=policy).describe_image("hpc-base") == DESCRIBED
    assert policy.asked == [(1, TransportFailure(never_sent=False), True, 0),
                            (2, TransportFailure(never_sent=False), True, 0)]


def test_a_read_timeout_is_counted_as_unreachable(make_client, server, sleeps):
    server.script(HANG, HANG)
    policy = _Asked([0.0, 0.0], sleep=sleeps.append)
    assert make_client(timeout=(2.0, 0.2), retry=policy).describe_image("hpc-base") == DESCRIBED
    assert policy.asked == [(1, TransportFailure(never_sent=False, timed_out=True), True, 0),
                            (2, TransportFailure(never_sent=False, timed_out=True), True, 1)]
