"""How many answers of an unavailable API the provider rides out: over real HTTP, with the real client."""

import logging

import pytest

from pulumi_pcimage.errors import ApiError
from pulumi_pcimage.lifecycle import Lifecycle
from tests.client.fixtures import aws_env, server  # noqa: F401 (fixtures: fake credentials, the recording server)
from tests.client.server import Reply

from .test_provider import inputs

# 503 is repeated even for build_image (nothing was processed); Retry-After: 0 keeps the backoff out of the test.
UNAVAILABLE = Reply(503, {"message": "Service Unavailable"}, headers={"Retry-After": "0"})


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.mark.timeout(30)
def test_a_refresh_rides_out_fifteen_unavailable_answers(server):  # noqa: F811
    server.script(*[UNAVAILABLE] * 15)
    id_, outs = Lifecycle().read("hpc-base", inputs(api_url=server.url))
    assert id_ == "hpc-base" and outs["image_build_status"] and len(server.seen) == 16


@pytest.mark.timeout(30)
def test_a_refresh_gives_up_after_sixteen_unavailable_answers(server):  # noqa: F811
    server.script(*[UNAVAILABLE] * 16)
    with pytest.raises(ApiError):
        Lifecycle().read("hpc-base", inputs(api_url=server.url))
    assert len(server.seen) == 16


@pytest.mark.timeout(30)
def test_a_previews_dry_run_gives_up_after_four_unavailable_answers_with_a_warning(server, caplog):  # noqa: F811
    server.script(*[UNAVAILABLE] * 4)
    with caplog.at_level(logging.WARNING, logger="pulumi_pcimage"):
        checked = Lifecycle().check({}, inputs(api_url=server.url))
    assert checked.failures == [] and len(server.seen) == 4
    assert "could not validate the configuration against the API" in caplog.text
