"""The client's words and requests, pinned whole: what each operation sends, and every message and hint a user reads
when something goes wrong (a text changed by accident reads wrong in every `pulumi up` that shows it)."""

from __future__ import annotations

import logging
import socketserver
import threading
import types
from datetime import datetime, timedelta, timezone

import pytest
import requests
import urllib3.exceptions

from pulumi_pcimage import client as client_module
from pulumi_pcimage import errors
from pulumi_pcimage.client import ParallelClusterClient, RetryPolicy
from tests.client.server import DROP, Reply

CONFIG_TEXT = "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n"


@pytest.fixture
def once(make_client):
    return make_client(retry=RetryPolicy(max_attempts=1))


# ---------------------------------------------------------------- what each operation sends, and names

OPERATIONS = [
    ("build_image", lambda c: c.build_image("hpc-base", CONFIG_TEXT), "POST", "/prod/v3/images/custom"),
    ("describe_image", lambda c: c.describe_image("hpc-base"), "GET", "/prod/v3/images/custom/hpc-base"),
    ("delete_image", lambda c: c.delete_image("hpc-base"), "DELETE", "/prod/v3/images/custom/hpc-base"),
    ("describe_official_images", lambda c: c.describe_official_images(), "GET", "/prod/v3/images/official"),
    ("list_images", lambda c: c.list_images("AVAILABLE"), "GET", "/prod/v3/images/custom"),
    ("list_images", lambda c: list(c.iter_images("AVAILABLE")), "GET", "/prod/v3/images/custom"),
    ("get_image_stack_events", lambda c: c.get_image_stack_events("hpc-base"), "GET",
     "/prod/v3/images/custom/hpc-base/stackevents"),
    ("list_image_log_streams", lambda c: c.list_image_log_streams("hpc-base"), "GET",
     "/prod/v3/images/custom/hpc-base/logstreams"),
    ("get_image_log_events", lambda c: c.get_image_log_events("hpc-base", "3.16.1/1"), "GET",
     "/prod/v3/images/custom/hpc-base/logstreams/3.16.1%2F1"),
]


@pytest.mark.parametrize("operation, call, method, path", OPERATIONS,
                         ids=[f"{o[0]}-{i}" for i, o in enumerate(OPERATIONS)])
def test_each_operation_sends_its_request_and_names_itself_in_errors(once, server, operation, call, method, path):
    server.script(Reply(404, {"message": "no such thing"}))
    with pytest.raises(errors.NotFoundError) as raised:
        call(once)
    assert str(raised.value) == f"{operation}: HTTP 404: no such thing"
    assert (server.seen[0].method, server.seen[0].path) == (method, path)


def test_build_image_sends_the_id_and_the_text_as_given(client, server):
    client.build_image("hpc-base", CONFIG_TEXT)
    assert server.seen[0].json == {"imageId": "hpc-base", "imageConfiguration": CONFIG_TEXT}


def test_a_mapping_configuration_is_sent_as_yaml_in_the_users_key_order(client, server):
    client.build_image("hpc-base", {"Image": {"Name": "hpc"}, "Build": {"InstanceType": "c6i.xlarge"}})
    assert server.seen[0].json["imageConfiguration"] == "Image:\n  Name: hpc\nBuild:\n  InstanceType: c6i.xlarge\n"


def test_false_and_times_are_sent_in_the_apis_wire_format(client, server):
    client.build_image("hpc-base", CONFIG_TEXT, dryrun=False, rollback_on_failure=True)
    client.get_image_log_events("hpc-base", "s", start_time=datetime(2024, 1, 2, 3, 4, 5),
                                end_time=datetime(2024, 1, 2, 5, 0, tzinfo=timezone(timedelta(hours=2))))
    build, events = server.seen
    assert ("dryrun", "false") in build.query and ("rollbackOnFailure", "true") in build.query
    assert ("startTime", "2024-01-02T03:04:05+00:00") in events.query  # a naive time is UTC
    assert ("endTime", "2024-01-02T05:00:00+02:00") in events.query


def test_all_eight_attempts_and_no_more(make_client, server, sleeps):
    server.script(*[Reply(503, {"message": "busy"})] * 9)
    with pytest.raises(errors.InternalServiceError):
        make_client().describe_image("hpc-base")
    assert len(server.seen) == 8 and sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0]


def test_a_300_answer_is_a_refused_redirect_not_a_success(once, server):
    server.script(Reply(300, {"imageId": "hpc-base"}, headers={"Location": "https://elsewhere.example.com/a"}))
    with pytest.raises(errors.RedirectRefused) as raised:
        once.describe_image("hpc-base")
    assert raised.value.location_host == "elsewhere.example.com"


def raised_by_raw_answer(make_client, answer: bytes) -> tuple[errors.PcImageError, str]:
    """describe_image, tried once, against a server on 127.0.0.1 that answers with these bytes (headers no HTTP
    library would write); the error raised and the server's URL."""
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            self.wfile.write(answer)

    listener = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    listener.daemon_threads = True
    threading.Thread(target=listener.serve_forever, args=(0.02,), daemon=True).start()
    url = f"http://127.0.0.1:{listener.server_address[1]}/prod"
    try:
        with pytest.raises(errors.PcImageError) as raised:
            make_client(url, retry=RetryPolicy(max_attempts=1)).describe_image("hpc-base")
    finally:
        listener.shutdown()
        listener.server_close()
    return raised.value, url


@pytest.mark.parametrize("location, target", [
    ("/v3/images/custom/elsewhere", "http://127.0.0.1:{port}"),  # relative: on the API's own host
    ("mailto:someone", "(no host)"),
    ("https://api.example.com:99999/x", "(an unreadable URL)"),  # no such port
    ("http://[::1/x", "(an unreadable URL)"),  # an IPv6 host never closed
])
def test_a_redirect_to_something_without_a_host_says_so(make_client, location, target):
    error, url = raised_by_raw_answer(make_client, f"HTTP/1.1 302 Found\r\nLocation: {location}\r\n"
                                                   "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
    assert isinstance(error, errors.RedirectRefused)
    target = target.format(port=url.split(":")[2].split("/")[0])
    assert error.message.startswith(f"the API answered with a redirect to {target}; redirects are never")


# ---------------------------------------------------------------- bodies that are not the API's JSON

def test_a_long_text_body_is_cut_at_200_characters(once, server):
    server.script(Reply(500, "x" * 5000, content_type="text/plain"))
    with pytest.raises(errors.InternalServiceError) as raised:
        once.describe_image("hpc-base")
    assert raised.value.message == "INTERNAL SERVER ERROR, non-JSON body (text/plain): " + "x" * 200 + "..."


def test_an_html_page_reads_as_its_words_on_one_line(once, server):
    server.script(Reply(502, "<html><body><h1>Bad</h1>\n\n   <p>Gateway</p></body></html>",
                        content_type="text/html; charset=utf-8"))
    with pytest.raises(errors.InternalServiceError) as raised:
        once.describe_image("hpc-base")
    assert raised.value.message == "BAD GATEWAY, non-JSON body (text/html): Bad Gateway"


def test_a_body_without_a_content_type_and_with_broken_utf8_is_still_shown(once, server):
    server.script(Reply(500, b"oops \xff\xfe end", content_type=""))
    with pytest.raises(errors.InternalServiceError) as raised:
        once.describe_image("hpc-base")
    assert raised.value.message == "INTERNAL SERVER ERROR, non-JSON body (unknown content type): oops \ufffd\ufffd end"


def test_a_signed_url_quoted_in_a_text_body_is_redacted(once, server):
    server.script(Reply(500, "failed https://b.s3.amazonaws.com/k?X-Amz-Signature=0123abcd&X-Amz-Credential=AKIDX",
                        content_type="text/plain"))
    with pytest.raises(errors.InternalServiceError) as raised:
        once.describe_image("hpc-base")
    assert "0123abcd" not in str(raised.value) and "AKIDX" not in str(raised.value)


# ---------------------------------------------------------------- hints for 401/403, whole

@pytest.mark.parametrize("message, hint", [
    ("Missing Authentication Token",
     "check api_url: API Gateway gives this answer for a path or stage it does not have; use the invoke URL with its "
     "stage, e.g. https://<id>.execute-api.<region>.amazonaws.com/prod"),
    ("The request signature we calculated does not match the signature you provided.",
     "check the secret access key, and the signing region: it must be the API's own region (the one in its host "
     "name), not the images' region"),
    ("Credential should be scoped to a valid region, not 'eu-west-1'.",
     "requests were signed for the wrong region: the signing region must be the API's own region, taken from its "
     "execute-api host name, else from the AWS profile or AWS_REGION; use the API's invoke URL or set AWS_REGION to "
     "the region the API is deployed in"),
    ("Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z",
     "refresh the AWS credentials (e.g. `aws sso login`), and check the system clock for skew"),
    ("The security token included in the request is invalid.",
     "the access key or session token is not valid: refresh or replace the AWS credentials"),
    ("The security token included in the request is malformed.",  # not "invalid": the general advice
     "check the AWS credentials used to sign requests and the IAM permission execute-api:Invoke"),
    ("User: arn:aws:iam::123456789012:user/x is not authorized to perform: execute-api:Invoke",
     "the signing identity needs the IAM permission execute-api:Invoke on this API"),
    ("AccessDeniedException", "the signing identity needs the IAM permission execute-api:Invoke on this API"),
    ("with an explicit deny in an identity-based policy",
     "the signing identity needs the IAM permission execute-api:Invoke on this API"),
    ("Forbidden", "check the AWS credentials used to sign requests and the IAM permission execute-api:Invoke"),
])
def test_each_auth_answer_has_its_own_advice(once, server, message, hint):
    server.script(Reply(403, {"message": message}))
    with pytest.raises(errors.AuthError) as raised:
        once.describe_image("hpc-base")
    assert raised.value.hint == hint and str(raised.value) == f"describe_image: HTTP 403: {message} ({hint})"


# ---------------------------------------------------------------- the network

class _Failing(requests.adapters.HTTPAdapter):
    """A transport whose every send fails with `exc`: a resolver or TLS failure, without the network."""

    def __init__(self, exc: Exception):
        super().__init__()
        self.exc, self.sent = exc, 0

    def send(self, request, **kwargs):
        self.sent += 1
        raise self.exc


def _connection_error(text: str) -> requests.ConnectionError:
    reason = urllib3.exceptions.NewConnectionError(None, f"Failed to establish a new connection: {text}")
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/v3/images/custom/x", reason))


def _failing_client(make_client, exc: Exception) -> tuple[ParallelClusterClient, _Failing]:
    client = make_client("https://api.example.invalid/prod")
    adapter = _Failing(exc)
    client._http().mount("https://", adapter)
    return client, adapter


@pytest.mark.parametrize("resolver_says", [
    "[Errno -2] Name or service not known",  # glibc
    "[Errno -3] Temporary failure in name resolution",  # glibc, no DNS server reachable
    "[Errno 8] nodename nor servname provided, or not known",  # macOS
    "[Errno 11001] getaddrinfo failed",  # Windows
])
def test_an_unresolvable_host_is_said_in_plain_words_after_three_quick_tries(make_client, sleeps, resolver_says):
    client, adapter = _failing_client(make_client, _connection_error(resolver_says))
    with pytest.raises(errors.TransportError) as raised:
        client.describe_image("hpc-base")
    assert str(raised.value).startswith(
        "describe_image: could not reach the ParallelCluster API at https://api.example.invalid/prod after 3 attempts "
        "(the host name does not resolve). Check that api_url")
    assert adapter.sent == 3 and sleeps == [0.5, 1.0]


def test_an_untrusted_certificate_fails_at_once_with_what_to_do(make_client, sleeps):
    exc = requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.SSLError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)")))
    client, adapter = _failing_client(make_client, exc)
    with pytest.raises(errors.TransportError) as raised:
        client.build_image("hpc-base", CONFIG_TEXT)
    assert str(raised.value).startswith("build_image: the TLS certificate of https://api.example.invalid/prod could "
                                        "not be verified (")
    assert str(raised.value).endswith("If the API sits behind a private CA, set REQUESTS_CA_BUNDLE to a CA bundle "
                                      "file that includes it; verification is never turned off")
    assert adapter.sent == 1 and sleeps == []


def test_another_tls_failure_is_retried_like_any_connection_fault(make_client, sleeps):
    exc = requests.exceptions.SSLError("EOF occurred in violation of protocol")
    client, adapter = _failing_client(make_client, exc)
    with pytest.raises(errors.TransportError, match=r"after 8 attempts \(SSLError: EOF occurred in violation"):
        client.describe_image("hpc-base")
    assert adapter.sent == 8


def test_a_dropped_connection_is_named_by_its_kind_and_announced(make_client, server, sleeps, caplog):
    server.script(DROP, DROP, Reply(200, {"imageId": "hpc-base"}))
    with caplog.at_level(logging.INFO, logger="pulumi_pcimage"):
        assert make_client().describe_image("hpc-base") == {"imageId": "hpc-base"}
    said = [r.getMessage() for r in caplog.records if r.name.startswith("pulumi_pcimage") and r.levelno >= logging.INFO]
    assert len(said) == 1 and said[0].startswith("describe_image: ConnectionError: ('Connection aborted.'")
    assert said[0].endswith("; retrying in 0.5 s (attempt 2 of at most 8)")


def test_retries_are_announced_again_every_five_seconds(make_client, server, monkeypatch, caplog):
    clock = types.SimpleNamespace(now=1000.0)
    monkeypatch.setattr(client_module, "time", types.SimpleNamespace(monotonic=lambda: clock.now))

    def sleep(seconds: float) -> None:
        clock.now += seconds

    server.script(*[Reply(503, {"message": "busy"}, headers={"Retry-After": "2"})] * 7, Reply(200, {"imageId": "x"}))
    client = make_client(retry=RetryPolicy(sleep=sleep))
    with caplog.at_level(logging.INFO, logger="pulumi_pcimage"):
        client.describe_image("x")
    said = [r.getMessage() for r in caplog.records if r.name.startswith("pulumi_pcimage") and r.levelno >= logging.INFO]
    assert said == [f"describe_image: HTTP 503; retrying in 2.0 s (attempt {n} of at most 8)" for n in (2, 5, 8)]


# ---------------------------------------------------------------- credentials

def test_an_unknown_profile_says_how_to_create_one(make_client):
    client = make_client(profile="nope")
    with pytest.raises(errors.MissingCredentialsError) as raised:
        client.describe_image("hpc-base")
    assert raised.value.message == "AWS profile 'nope' is not defined in the AWS config or credentials files"
    assert raised.value.hint == ("create it (`aws configure --profile NAME` or `aws configure sso`) or set another "
                                 "profile")


def test_no_credentials_at_all_says_every_way_to_give_them(make_client, monkeypatch, server):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(errors.MissingCredentialsError) as raised:
        make_client().describe_image("hpc-base")
    assert raised.value.message == f"no AWS credentials to sign requests to {server.url}"
    assert raised.value.hint == (
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_PROFILE or the profile "
        "setting (run `aws sso login` for SSO profiles), or run with an instance role")
    assert server.seen == []


class _Session:
    """A boto3 Session stand-in: static keys, a region, and the STS clients it was asked for."""

    def __init__(self, region: str | None):
        import botocore.credentials

        self.region_name = region
        self.clients: list[dict] = []
        self._credentials = botocore.credentials.Credentials("AKIDSOURCE", "source-secret")

    def get_credentials(self):
        return self._credentials

    def client(self, service, **kwargs):
        self.clients.append({"service": service, **kwargs})
        raise _StsUnreachable()


class _StsUnreachable(Exception):
    pass


@pytest.mark.parametrize("session_region, sts_region", [("eu-central-1", "eu-central-1"), (None, "ap-southeast-2")])
def test_the_role_is_assumed_through_sts_in_the_sessions_region_else_the_apis(session_region, sts_region):
    session = _Session(session_region)
    api = "https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod"  # never reached: STS fails first
    client = ParallelClusterClient(api, region="eu-west-1", session=session,
                                   role_arn="arn:aws:iam::123456789012:role/builder")
    with pytest.raises(_StsUnreachable):
        client.describe_image("hpc-base")
    assert [(c["service"], c["region_name"]) for c in session.clients] == [("sts", sts_region)]


def test_a_failed_role_assumption_says_what_to_check(server):
    from botocore.exceptions import NoCredentialsError

    class Broken(_Session):
        def client(self, service, **kwargs):
            raise NoCredentialsError()

    role = "arn:aws:iam::123456789012:role/builder"
    client = ParallelClusterClient(server.url, region="eu-west-1", session=Broken("eu-west-1"), role_arn=role)
    with pytest.raises(errors.MissingCredentialsError) as raised:
        client.describe_image("hpc-base")
    assert raised.value.message == f"could not assume role {role}: Unable to locate credentials"
    assert raised.value.hint == ("refresh the source credentials (e.g. `aws sso login`) and check that they may "
                                 "call sts:AssumeRole on the role")


def test_a_broken_credential_source_without_a_role_says_what_to_refresh(server):
    from botocore.exceptions import CredentialRetrievalError

    class Broken(_Session):
        def get_credentials(self):
            raise CredentialRetrievalError(provider="custom-process", error_msg="exit 1")

    client = ParallelClusterClient(server.url, region="eu-west-1", session=Broken("eu-west-1"))
    with pytest.raises(errors.MissingCredentialsError) as raised:
        client.describe_image("hpc-base")
    assert raised.value.message == ("could not obtain AWS credentials: Error when retrieving credentials from "
                                    "custom-process: exit 1")
    assert raised.value.hint == "refresh the source credentials (e.g. `aws sso login`)"
    assert server.seen == []


def test_the_client_refuses_to_be_pickled_saying_what_to_do_instead(client):
    import pickle

    with pytest.raises(TypeError) as raised:
        pickle.dumps(client)
    assert str(raised.value) == ("ParallelClusterClient holds credentials and connections and is not picklable: "
                                 "keep plain settings on the provider and build the client lazily")


def test_the_clients_repr_names_its_settings_and_no_credential(server):
    role = "arn:aws:iam::123456789012:role/builder"
    client = ParallelClusterClient(server.url + "/", region="eu-west-1", profile="dev", role_arn=role)
    assert (client.profile, client.role_arn) == ("dev", role)
    assert repr(client) == (f"ParallelClusterClient(api_url={server.url!r}, region='eu-west-1', profile='dev', "
                            f"role_arn={role!r})")


def test_the_assumed_role_session_is_named_for_cloudtrail_and_signs_the_requests(server):
    class Sts:
        calls: list[dict] = []

        def assume_role(self, **kwargs):
            self.calls.append(kwargs)
            return {"Credentials": {"AccessKeyId": "ASIAASSUMED", "SecretAccessKey": "assumed-secret",
                                    "SessionToken": "assumed-token",
                                    "Expiration": datetime.now(timezone.utc) + timedelta(hours=1)}}

    class Session(_Session):
        def client(self, service, **kwargs):
            return Sts()

    role = "arn:aws:iam::123456789012:role/builder"
    ParallelClusterClient(server.url, region="eu-west-1", session=Session("eu-west-1"),
                          role_arn=role).describe_image("hpc-base")
    assert Sts.calls == [{"RoleArn": role, "RoleSessionName": "pulumi-pcimage"}]
    assert server.seen[0].access_key == "ASIAASSUMED"


def test_importing_the_client_alone_keeps_signatures_out_of_library_logs():
    import subprocess
    import sys

    code = ("import logging\nimport pulumi_pcimage.client\n"
            "print(logging.getLogger('urllib3').makeRecord('urllib3', 10, 'f', 1, '%s', ('X-Amz-Signature=abc',), "
            "None).getMessage())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out == "X-Amz-Signature=REDACTED\n"


def test_a_body_without_any_content_type_says_so(make_client):
    error, _ = raised_by_raw_answer(make_client, b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n"
                                                 b"Connection: close\r\n\r\noops")
    assert isinstance(error, errors.InternalServiceError)
    assert error.message == "Internal Server Error, non-JSON body (unknown content type): oops"


def test_credentials_that_stay_expired_after_a_refresh_say_what_to_refresh(server):
    import botocore.credentials

    def expired():
        return {"access_key": "ASIAOLD", "secret_key": "old", "token": "old",
                "expiry_time": (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()}

    class Session(_Session):
        def get_credentials(self):
            return botocore.credentials.RefreshableCredentials.create_from_metadata(
                expired(), refresh_using=expired, method="custom-process")

    with pytest.raises(errors.MissingCredentialsError) as raised:
        ParallelClusterClient(server.url, region="eu-west-1", session=Session("eu-west-1")).describe_image("x")
    assert raised.value.message.startswith("the AWS credentials have expired and refreshing them gave expired ones "
                                           "again: ")
    assert raised.value.hint == ("refresh the AWS credentials (e.g. `aws sso login`, or check the credential_process's "
                                 "Expiration), and check the system clock")
    assert server.seen == []
