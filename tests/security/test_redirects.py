"""The client never follows a redirect: the session token and the build request's body stay with the API."""

from __future__ import annotations

import pytest
from werkzeug.wrappers import Response

from pulumi_pcimage import errors
from tests.client.server import Reply

SESSION_TOKEN = "IQoJsessionTOKENforTHEapiONLY"


@pytest.fixture
def other_host(host):
    """Where a hostile or misconfigured API sends the client: it would answer like a successful build."""
    return host(lambda request: Response('{"image": {"imageId": "hpc-base"}}', status=202,
                                         mimetype="application/json"))


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_build_is_refused_and_nothing_reaches_the_other_host(make_client, server, other_host,
                                                                          monkeypatch, status):
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    server.script(Reply(status, headers={"Location": f"{other_host.origin}/prod/v3/images/custom?x=1"}))
    with pytest.raises(errors.RedirectRefused) as refused:
        make_client().build_image("hpc-base", "Build:\n  InstanceType: c6i.xlarge\n")
    assert other_host.seen == []  # neither the session token, nor the configuration, nor a GET went there
    assert len(server.seen) == 1  # and a redirect is not retried
    assert refused.value.status == status
    assert refused.value.location_host == "127.0.0.1"
    assert f"127.0.0.1:{other_host.port}" in str(refused.value) and "?x=1" not in str(refused.value)
    assert isinstance(refused.value, errors.PcImageError)


def test_a_redirect_loop_is_the_same_typed_error_not_too_many_redirects(make_client, server):
    server.script(*[Reply(302, headers={"Location": server.url + "/v3/images/custom/hpc-base"})] * 40)
    with pytest.raises(errors.RedirectRefused):
        make_client().describe_image("hpc-base")
    assert len(server.seen) == 1


def test_a_redirect_without_location_is_refused_too(make_client, server):
    server.script(Reply(302))
    with pytest.raises(errors.RedirectRefused, match="no Location"):
        make_client().describe_image("hpc-base")
