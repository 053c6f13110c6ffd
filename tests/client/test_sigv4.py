"""Signatures the client made, recomputed independently with botocore's SigV4Auth over the request as received."""

from __future__ import annotations

import datetime
import hashlib
import itertools
import re
import threading
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import CredentialProvider, Credentials, RefreshableCredentials

from pulumi_pcimage import errors
from pulumi_pcimage.errors import MissingCredentialsError
from tests.client.fixtures import ACCESS_KEY, SECRET_KEY

_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
                   r"/aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})$")


def verify(seen, secret_key: str) -> dict[str, str]:
    """Recompute the signature of a received request with botocore; return the parsed Authorization header."""
    auth = _AUTH.match(seen.headers["Authorization"]).groupdict()
    assert hashlib.sha256(seen.body).hexdigest() == seen.headers["x-amz-content-sha256"]
    signed = {name: seen.headers[name] for name in auth["signed"].split(";")}
    request = AWSRequest(method=seen.method, url=seen.url, headers=signed, data=seen.body)
    request.context["timestamp"] = seen.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(auth["key"], secret_key, seen.headers.get("x-amz-security-token")),
                       auth["service"], auth["region"])
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    assert auth["signature"] == expected, "botocore computes a different signature"
    return auth


def test_get_and_post_signatures_verify_for_execute_api(client, server):
    client.build_image("hpc-base", "Build: {}\n", suppress_validators=["ALL", "type:B"], dryrun=False)
    client.get_image_log_events("hpc-base", "3.16.1/1 x", limit=5, start_time="2024-01-01T00:00:00+00:00")
    for seen in server.seen:
        auth = verify(seen, SECRET_KEY)
        assert (auth["key"], auth["service"]) == (ACCESS_KEY, "execute-api")
        assert {"host", "x-amz-date", "x-amz-content-sha256"} <= set(auth["signed"].split(";"))
        # a local host name carries no region: the client's configured region is the fallback
        assert auth["region"] == "eu-west-1"


def test_a_wrong_secret_does_not_verify(client, server):
    client.describe_image("hpc-base")
    with pytest.raises(AssertionError, match="different signature"):
        verify(server.seen[0], "not-the-secret")


def test_signing_region_comes_from_the_api_host_not_the_image_region(make_client, server):
    """An https execute-api URL, delivered to the recording server by a transport adapter that keeps its Host."""
    api = "https://abc123defg.execute-api.ap-southeast-2.amazonaws.com/prod"
    client = make_client(api, region="us-east-1")
    client._http().mount("https://", _ToRecordingServer(server.url))
    client.describe_image("hpc-base", region="eu-west-1")
    seen = server.seen[0]
    assert seen.headers["Host"] == "abc123defg.execute-api.ap-southeast-2.amazonaws.com"
    assert verify(seen, SECRET_KEY)["region"] == "ap-southeast-2"
    assert ("region", "eu-west-1") in seen.query


class _ToRecordingServer(requests.adapters.HTTPAdapter):
    """Sends each request to the local server over plain http, with the Host header of the URL it was signed for."""

    def __init__(self, server_url: str):
        super().__init__()
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(server_url))

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc
        request.url = self.origin + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def test_without_host_or_configured_region_the_session_region_then_us_east_1(make_client, server, monkeypatch):
    make_client(region=None).describe_official_images()
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ca-central-1")
    make_client(region=None).describe_official_images()
    assert [verify(seen, SECRET_KEY)["region"] for seen in server.seen] == ["us-east-1", "ca-central-1"]
    assert server.seen[0].query == [] and server.seen[1].query == [("region", "ca-central-1")]


class RotatingKeys(CredentialProvider):
    """Hands out a new key pair on every refresh, each expiring 2 seconds later (a short-lived STS session)."""

    METHOD = "rotating-test-keys"

    def __init__(self):
        self.counter = itertools.count(1)
        self.secrets: dict[str, str] = {}
        self.lock = threading.Lock()

    def refresh(self) -> dict[str, str]:
        with self.lock:
            n = next(self.counter)
            self.secrets[f"ASIAROTATING{n:04d}"] = f"secret-{n}"
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
        return {"access_key": f"ASIAROTATING{n:04d}", "secret_key": f"secret-{n}", "token": f"token-{n}",
                "expiry_time": expiry.isoformat()}

    def load(self):
        return RefreshableCredentials.create_from_metadata(self.refresh(), self.refresh, self.METHOD)


def rotating_session(keys: RotatingKeys) -> boto3.Session:
    core = botocore.session.Session()
    core.get_component("credential_provider").insert_before("env", keys)
    return boto3.Session(botocore_session=core, region_name="eu-west-1")


def test_expiring_credentials_are_refreshed_and_requests_signed_with_new_keys(make_client, server):
    keys = RotatingKeys()
    client = make_client(session=rotating_session(keys))
    for _ in range(3):
        client.describe_image("hpc-base")
    used = [seen.access_key for seen in server.seen]
    assert len(set(used)) == 3, used  # within 15 minutes of expiry botocore refreshes before each use
    for seen in server.seen:
        verify(seen, keys.secrets[seen.access_key])
        assert seen.headers["x-amz-security-token"] == "token-" + keys.secrets[seen.access_key].split("-")[1]


def test_threads_sharing_a_client_never_mix_key_pairs(make_client, server):
    keys = RotatingKeys()
    client = make_client(session=rotating_session(keys))
    failures = []

    def work():
        try:
            for _ in range(4):
                client.describe_image("hpc-base")
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and len(server.seen) == 24
    for seen in server.seen:
        verify(seen, keys.secrets[seen.access_key])


def test_role_arn_signs_with_assumed_role_credentials(make_client, server):
    from moto import mock_aws

    with mock_aws():
        client = make_client(role_arn="arn:aws:iam::123456789012:role/pcluster-image-builder")
        client.describe_image("hpc-base")
        client.describe_image("hpc-base")
    keys = {seen.access_key for seen in server.seen}
    assert len(keys) == 1 and ACCESS_KEY not in keys and next(iter(keys)).startswith("ASIA")
    assert all(seen.headers.get("x-amz-security-token") for seen in server.seen)


def test_missing_credentials_fail_before_sending_and_say_what_to_set(make_client, server, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(MissingCredentialsError) as raised:
        make_client().describe_image("hpc-base")
    assert isinstance(raised.value, errors.AuthError) and raised.value.status is None
    assert "AWS_ACCESS_KEY_ID" in str(raised.value) and "AWS_PROFILE" in str(raised.value)
    assert server.seen == []


def test_unknown_profile_is_named(make_client, server):
    with pytest.raises(MissingCredentialsError, match="'nightly-builds'"):
        make_client(profile="nightly-builds").describe_image("hpc-base")
    assert server.seen == []


def test_profile_credentials_and_region_are_used(make_client, server, tmp_path):
    (tmp_path / "aws-credentials").write_text(
        "[builds]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n")
    (tmp_path / "aws-config").write_text("[profile builds]\nregion = sa-east-1\n")
    make_client(profile="builds", region=None).describe_image("hpc-base")
    seen = server.seen[0]
    assert verify(seen, "profile-secret")["region"] == "sa-east-1"
    assert seen.access_key == "AKIDPROFILE" and seen.query == [("region", "sa-east-1")]


def test_a_failing_credential_source_is_reported_before_sending(make_client, server, tmp_path):
    import sys

    (tmp_path / "aws-config").write_text(
        f"[profile broken]\ncredential_process = {sys.executable} -c \"import sys; sys.exit(3)\"\n")
    with pytest.raises(MissingCredentialsError, match="could not obtain AWS credentials") as raised:
        make_client(profile="broken").describe_image("hpc-base")
    assert "aws sso login" in raised.value.hint and server.seen == []
