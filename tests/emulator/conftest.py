"""Shared helpers: fake AWS credentials, a running emulator, and a signed client checked against the spec."""

from __future__ import annotations

from typing import Any
from collections.abc import Iterator

import pytest
import requests
from requests_aws4auth import AWS4Auth

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_ami_id
from tests.support.openapi import validate_request, validate_response

# Statuses that come from API Gateway or injected faults, not from the ParallelCluster Lambda: not in the spec.
GATEWAY_STATUSES = {403, 502, 503}


def config_in(region: str = "us-east-1") -> str:
    """A valid configuration whose parent is an official image of `region` (AMI ids are per region)."""
    return (f"Build:\n  InstanceType: c6i.xlarge\n  ParentImage: {official_ami_id(region)}\n"
            "  UpdateOsPackages:\n    Enabled: true\n")


CONFIG = config_in("us-east-1")


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


class Client:
    """A SigV4-signed client of one emulator; every exchange is validated against the released spec."""

    def __init__(self, emulator: Emulator, access_key: str = "testing", secret_key: str = "testing",
                 region: str | None = None, service: str = "execute-api"):
        self.emulator = emulator
        self.session = requests.Session()
        self.session.auth = AWS4Auth(access_key, secret_key, region or emulator.region, service)

    def __call__(self, method: str, path: str, *, check: bool = True, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, self.emulator.url + path, timeout=10, **kwargs)
        if check:
            conform(response)
        return response

    def build(self, image_id: str, config: str = CONFIG, check: bool = True, **params: Any) -> requests.Response:
        return self("POST", "/v3/images/custom", json={"imageId": image_id, "imageConfiguration": config},
                    params=params, check=check)

    def describe(self, image_id: str, check: bool = True, **params: Any) -> requests.Response:
        return self("GET", f"/v3/images/custom/{image_id}", params=params, check=check)


def conform(response: requests.Response) -> None:
    """The answer matches the released openapi.yaml (or, for gateway statuses, API Gateway's {message} shape)."""
    if response.status_code in GATEWAY_STATUSES:
        assert set(response.json()) == {"message"}, response.text
        return
    if response.status_code < 400:  # requests meant to be refused are not valid by definition
        validate_request(response.request)
    validate_response(response.request, response)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(build_seconds=1.0, delete_seconds=0.2) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Client:
    return Client(emulator)
