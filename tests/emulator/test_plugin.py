"""The pytest plugin, as a user's project would use it."""

from __future__ import annotations

import os

import boto3
import requests
from requests_aws4auth import AWS4Auth

pytest_plugins = ["pytester"]


def test_the_fixture_points_the_environment_at_a_running_emulator(pcluster_emulator):
    assert os.environ["PCLUSTER_API_URL"] == pcluster_emulator.url
    assert "AWS_SESSION_TOKEN" not in os.environ and "AWS_PROFILE" not in os.environ
    credentials = boto3.Session().get_credentials()  # what a client would sign with
    auth = AWS4Auth(credentials.access_key, credentials.secret_key, os.environ["AWS_DEFAULT_REGION"],
                    "execute-api")
    response = requests.get(os.environ["PCLUSTER_API_URL"] + "/v3/images/official", auth=auth, timeout=10)
    assert response.status_code == 200


def test_the_factory_passes_options_and_stops_what_it_started(pcluster_emulator_factory):
    emulator = pcluster_emulator_factory(region="eu-north-1", stage="dev", page_size=3)
    assert emulator.url.endswith("/dev") and emulator.region == "eu-north-1"
    assert emulator.build_seconds == 1.0  # fast by default


def test_a_user_project_gets_the_fixture_from_the_entry_point(pytester):
    pytester.makepyfile("""
        def test_uses_it(pcluster_emulator):
            assert pcluster_emulator.url.startswith("http://127.0.0.1:")
            assert pcluster_emulator.images() == []
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
