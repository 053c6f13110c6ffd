"""Fixtures shared by tests/client and tests/contract: a clean fake AWS environment and the recording server."""

from __future__ import annotations

import pytest

from pulumi_pcimage.client import ParallelClusterClient, RetryPolicy
from tests.client.server import RecordingServer

ACCESS_KEY = "AKIDTESTINGCLIENT"
SECRET_KEY = "SECRETsecretSECRETsecret"

_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "PCLUSTER_API_URL", "PCLUSTER_API_STACK_NAME",
            "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    """Fake static credentials, no config files, no instance metadata: nothing can reach AWS."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def server():
    with RecordingServer() as recording:
        yield recording


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(server, sleeps):
    """A client for the recording server whose backoff sleeps are recorded, not slept (jitter pinned to 1.0)."""
    def make(url: str | None = None, **kwargs) -> ParallelClusterClient:
        kwargs.setdefault("region", "eu-west-1")
        kwargs.setdefault("retry", RetryPolicy(sleep=sleeps.append, random=lambda: 1.0))
        kwargs.setdefault("timeout", (2.0, 5.0))
        return ParallelClusterClient(url or server.url, **kwargs)
    return make


@pytest.fixture
def client(make_client) -> ParallelClusterClient:
    return make_client()
