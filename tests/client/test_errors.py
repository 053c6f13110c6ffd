"""What a user reads when the API (or API Gateway, or something in between) says no."""

from __future__ import annotations

import pickle

import pytest

from pulumi_pcimage import errors
from pulumi_pcimage.client import ParallelClusterClient, RetryPolicy
from tests.client.fixtures import SECRET_KEY
from tests.client.server import Reply

CONFIG = "Build:\n  InstanceType: c6i.xlarge\n"
HTML = ("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
        "</body></html>")


@pytest.fixture
def once(make_client):
    """A client that does not retry, so each scripted answer is the final one."""
    return make_client(retry=RetryPolicy(max_attempts=1))


def raised_by(client, server, reply, call=lambda c: c.describe_image("hpc-base")) -> errors.PcImageError:
    server.script(reply)
    with pytest.raises(errors.PcImageError) as raised:
        call(client)
    return raised.value


def test_html_body_becomes_its_text(once, server):
    error = raised_by(once, server, Reply(502, HTML, content_type="text/html"))
    assert isinstance(error, errors.InternalServiceError) and error.status == 502
    assert "non-JSON body (text/html)" in error.message and "502 Bad Gateway" in error.message
    assert "<" not in error.message and error.body == HTML


def test_empty_body(once, server):
    error = raised_by(once, server, Reply(404))
    assert isinstance(error, errors.NotFoundError) and error.message == "NOT FOUND with an empty body"
    assert error.body is None


def test_long_plain_text_is_cut(once, server):
    error = raised_by(once, server, Reply(500, "x" * 5000, content_type="text/plain"))
    assert error.message.endswith("x...") and len(error.message) < 300


@pytest.mark.parametrize("body", [{"message": "Image is being built"}, {"Message": "Image is being built"}])
def test_message_key_in_either_case(once, server, body):
    error = raised_by(once, server, Reply(400, body), call=lambda c: c.delete_image("hpc-base"))
    assert isinstance(error, errors.BadRequestError) and error.message == "Image is being built"
    assert str(error) == "delete_image: HTTP 400: Image is being built"


def test_json_without_a_message_is_shown(once, server):
    error = raised_by(once, server, Reply(409, {"errorCode": "Conflict"}))
    assert isinstance(error, errors.ConflictError) and 'no message in body: {"errorCode": "Conflict"}' in error.message


@pytest.mark.parametrize("message, hint", [
    ("Missing Authentication Token", "check api_url"),
    ("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
     "Key and signing method.", "signing region"),
    ("Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z", "clock"),
    ("User: arn:aws:iam::123456789012:user/x is not authorized to perform: execute-api:Invoke on resource: arn",
     "execute-api:Invoke"),
    ("The security token included in the request is invalid.", "refresh or replace"),
])
def test_auth_errors_carry_a_hint(once, server, message, hint):
    error = raised_by(once, server, Reply(403, {"message": message}))
    assert isinstance(error, errors.AuthError) and hint in error.hint and hint in str(error)


def test_401_is_an_auth_error_too(once, server):
    error = raised_by(once, server, Reply(401, {"message": "Unauthorized"}))
    assert isinstance(error, errors.AuthError) and error.status == 401 and "execute-api:Invoke" in error.hint


def test_validation_errors_of_a_rejected_build(once, server):
    body = {"message": "Invalid image configuration.", "configurationValidationErrors": [
        {"id": "1", "type": "InstanceTypeValidator", "level": "ERROR", "message": "c9.huge is not an instance type"}]}
    error = raised_by(once, server, Reply(400, body), call=lambda c: c.build_image("hpc-base", CONFIG))
    assert isinstance(error, errors.BadRequestError)
    assert [e["type"] for e in error.validation_errors] == ["InstanceTypeValidator"]


def test_dryrun_success_is_its_own_type(once, server):
    error = raised_by(once, server, Reply(412, {"message": "Request would have succeeded, but DryRun flag is set."}),
                      call=lambda c: c.build_image("hpc-base", CONFIG, dryrun=True))
    assert isinstance(error, errors.DryrunSucceeded)


@pytest.mark.parametrize("reply", [Reply(200, "<html>maintenance</html>", content_type="text/html"),
                                   Reply(200, ["not", "an", "object"]), Reply(200)], ids=["html", "list", "empty"])
def test_success_without_a_json_object_is_unexpected(once, server, reply):
    error = raised_by(once, server, reply)
    assert isinstance(error, errors.UnexpectedResponseError) and error.status == 200


def test_teapot_is_unexpected(once, server):
    assert isinstance(raised_by(once, server, Reply(418, {"message": "teapot"})), errors.UnexpectedResponseError)


def test_presigned_urls_and_secrets_never_reach_messages(once, server):
    url = ("https://bucket.s3.amazonaws.com/config.yaml?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=AKIDLEAK%2F20240101&X-Amz-Security-Token=tokenLEAK&X-Amz-Signature=abcdef0123")
    error = raised_by(once, server, Reply(400, {"message": f"cannot read {url}"}))
    assert "AKIDLEAK" not in str(error) and "tokenLEAK" not in str(error) and "abcdef0123" not in str(error)
    assert "X-Amz-Signature=REDACTED" in str(error)
    html = raised_by(once, server, Reply(500, f"<a href='{url}'>config</a>", content_type="text/html"))
    assert "tokenLEAK" not in str(html)
    for seen_error in (error, html):
        text = f"{seen_error!s} {seen_error!r} {seen_error.__cause__!r}"
        assert SECRET_KEY not in text and "Authorization" not in text and "Signature=" not in text.replace(
            "X-Amz-Signature=REDACTED", "")


def test_repr_names_settings_but_no_secrets(make_client):
    client = make_client(role_arn="arn:aws:iam::123456789012:role/builder")
    assert repr(client) == (f"ParallelClusterClient(api_url={client.api_url!r}, region='eu-west-1', profile=None, "
                            "role_arn='arn:aws:iam::123456789012:role/builder')")


def test_client_refuses_to_be_pickled(client, server):
    client.describe_image("hpc-base")
    with pytest.raises(TypeError, match="build the client lazily"):
        pickle.dumps(client)


@pytest.mark.parametrize("kwargs, message", [
    ({"timeout": 5}, "timeout must be"), ({"timeout": (1, 0)}, "timeout must be"),
    ({"profile": "p", "session": object()}, "either session or profile"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ParallelClusterClient("http://127.0.0.1:1/prod", **kwargs)


def test_bad_image_configuration_type(client):
    with pytest.raises(TypeError, match="image_configuration must be YAML text or a mapping, not int"):
        client.build_image("hpc-base", 42)
