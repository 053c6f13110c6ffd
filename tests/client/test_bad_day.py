"""The client on a bad day: credentials that stop refreshing mid-run, an API that cannot be connected to in time,
a server asking for a very long pause."""

from __future__ import annotations

import datetime
import re
import socket

import boto3
import botocore.session
import pytest
from botocore.credentials import CredentialProvider, RefreshableCredentials
from botocore.exceptions import CredentialRetrievalError

from pulumi_pcimage import errors
from pulumi_pcimage.client import MissingCredentialsError, RetryPolicy
from tests.client.server import DESCRIBED, Reply

CONFIG = "Build:\n  InstanceType: c6i.xlarge\n"


class ExpiringSession(CredentialProvider):
    """Short-lived keys (botocore refreshes them before each use) until the source stops giving them."""

    METHOD = "expiring-test-keys"

    def __init__(self, good_refreshes: int, then: str):
        self.left, self.then = good_refreshes, then

    def refresh(self) -> dict[str, str]:
        now = datetime.datetime.now(datetime.timezone.utc)
        if self.left <= 0 and self.then == "error":
            raise CredentialRetrievalError(provider="sso", error_msg="Token has expired and refresh failed")
        expired = self.left <= 0 and self.then == "expired"
        self.left -= 1
        expiry = now - datetime.timedelta(minutes=5) if expired else now + datetime.timedelta(seconds=2)
        return {"access_key": "ASIAEXPIRING", "secret_key": "secret", "token": "token",
                "expiry_time": expiry.isoformat()}

    def load(self):
        return RefreshableCredentials.create_from_metadata(self.refresh(), self.refresh, self.METHOD)


def session_with(provider: CredentialProvider) -> boto3.Session:
    core = botocore.session.Session()
    core.get_component("credential_provider").insert_before("env", provider)
    return boto3.Session(botocore_session=core, region_name="eu-west-1")


def test_a_credential_refresh_failing_mid_run_is_a_credentials_error_with_what_to_do(make_client, server):
    client = make_client(session=session_with(ExpiringSession(good_refreshes=2, then="error")))
    assert client.describe_image("hpc-base") == DESCRIBED
    with pytest.raises(MissingCredentialsError) as raised:
        client.describe_image("hpc-base")
    assert "Token has expired and refresh failed" in str(raised.value)
    assert "aws sso login" in raised.value.hint
    assert len(server.seen) == 1, "nothing unsigned is sent"


def test_credentials_that_refresh_to_expired_ones_say_so(make_client, server):
    client = make_client(session=session_with(ExpiringSession(good_refreshes=2, then="expired")))
    assert client.describe_image("hpc-base") == DESCRIBED
    with pytest.raises(MissingCredentialsError, match="the AWS credentials have expired and refreshing them gave "
                                                      "expired ones again") as raised:
        client.describe_image("hpc-base")
    assert "aws sso login" in raised.value.hint and len(server.seen) == 1


@pytest.fixture
def saturated_url():
    """A port whose listen queue is full: new connections are never accepted, so connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):  # the kernel keeps backlog + 1 (or so) waiting connections; fill them all
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield f"http://127.0.0.1:{port}/prod"
    for sock in fillers + [listener]:
        sock.close()


def test_a_connect_timeout_on_build_image_is_retried_it_was_never_sent(make_client, sleeps, saturated_url):
    client = make_client(saturated_url, timeout=(0.2, 5.0),
                         retry=RetryPolicy(max_attempts=3, sleep=sleeps.append, random=lambda: 1.0))
    with pytest.raises(errors.TransportError) as raised:
        client.build_image("hpc-base", CONFIG)
    assert type(raised.value) is errors.TransportError, "not an unknown outcome: the request never left"
    assert "after 3 attempts (the connection timed out)" in str(raised.value)
    assert sleeps == [0.5, 1.0]


def test_a_very_long_retry_after_is_capped_at_two_minutes(client, server, sleeps):
    server.script(Reply(429, {"message": "Rate exceeded"}, headers={"Retry-After": "3600"}))
    assert client.describe_image("hpc-base") == DESCRIBED
    assert sleeps == [120.0]


def test_default_backoff_starts_at_half_a_second_and_stays_under_twenty(client, server, sleeps):
    server.script(*[Reply(503, {"message": "Service Unavailable"})] * 7)
    assert client.describe_image("hpc-base") == DESCRIBED
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0], "eight attempts in all, the last one answered"


# ---------------------------------------------------------------- what is sent, and what a refusal says to do

def test_the_diagnostic_operations_read_their_own_routes(client, server):
    client.get_image_stack_events("hpc-base", region="eu-west-2", next_token="t1")
    client.list_image_log_streams("hpc-base")
    client.get_image_log_events("hpc-base", "3.16.1/1", limit=20, start_from_head=True)
    assert [(s.method, s.path, s.query) for s in server.seen] == [
        ("GET", "/prod/v3/images/custom/hpc-base/stackevents", [("nextToken", "t1"), ("region", "eu-west-2")]),
        ("GET", "/prod/v3/images/custom/hpc-base/logstreams", [("region", "eu-west-1")]),
        ("GET", "/prod/v3/images/custom/hpc-base/logstreams/3.16.1%2F1",
         [("startFromHead", "true"), ("limit", "20"), ("region", "eu-west-1")]),
    ]


def test_validators_to_suppress_are_sent_once_each_in_order(client, server):
    client.build_image("hpc-base", CONFIG, suppress_validators=["type:A", "ALL", "type:A"])
    client.build_image("hpc-base", CONFIG, suppress_validators="ALL")
    client.build_image("hpc-base", {"Build": {"InstanceType": "c6i.xlarge"}})
    assert [q for q in server.seen[0].query if q[0] == "suppressValidators"] == [
        ("suppressValidators", "type:A"), ("suppressValidators", "ALL")]
    assert [q for q in server.seen[1].query if q[0] == "suppressValidators"] == [("suppressValidators", "ALL")]
    assert server.seen[2].json["imageConfiguration"] == "Build:\n  InstanceType: c6i.xlarge\n"


@pytest.mark.parametrize("image_id", ["", ".", ".."])
def test_an_id_a_url_cannot_carry_is_refused_before_sending(client, server, image_id):
    with pytest.raises(ValueError, match=rf"^{re.escape(repr(image_id))} cannot be sent as an image id or log stream "
                                         "name: it is not a path segment a URL can carry"):
        client.describe_image(image_id)
    assert server.seen == []


def test_session_and_profile_together_are_refused():
    from pulumi_pcimage.client import ParallelClusterClient

    with pytest.raises(ValueError, match="^pass either session or profile, not both: a boto3 Session already has its "
                                         "profile$"):
        ParallelClusterClient("http://127.0.0.1:1/prod", session=boto3.Session(), profile="p")


@pytest.mark.parametrize("message, hint", [
    ("Credential should be scoped to a valid region.",
     "requests were signed for the wrong region: the signing region must be the API's own region, taken from its "
     "execute-api host name, else from the AWS profile or AWS_REGION; use the API's invoke URL or set AWS_REGION to "
     "the region the API is deployed in"),
    ("The request signature we calculated does not match the signature you provided.",
     "check the secret access key, and the signing region: it must be the API's own region (the one in its host "
     "name), not the images' region"),
    ("The security token included in the request is expired",
     "refresh the AWS credentials (e.g. `aws sso login`), and check the system clock for skew"),
    ("User is not authorized to access this resource",
     "the signing identity needs the IAM permission execute-api:Invoke on this API"),
    ("AccessDeniedException", "the signing identity needs the IAM permission execute-api:Invoke on this API"),
    ("User: x is not allowed with an explicit deny", "the signing identity needs the IAM permission execute-api:Invoke "
                                                    "on this API"),
    ("Forbidden", "check the AWS credentials used to sign requests and the IAM permission execute-api:Invoke"),
])
def test_each_auth_refusal_gets_its_own_next_step(message, hint):
    from pulumi_pcimage.client import auth_hint

    assert auth_hint(message) == hint
