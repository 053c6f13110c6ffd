"""Reliability and security scenarios: the real provider host over gRPC against the emulator, under faults.

The scenarios reuse the engine tests' `Deployment` (the engine's bookkeeping of one CustomImage). Credentials are
distinctive strings so that a scan of state, logs and messages can tell whether any of them leaked. Each test adds
its figures (lifecycles, faults injected, builds counted, inputs tried) to `figures`; they are saved in pytest's
cache (`.pytest_cache/v/pcimage/reliability`), printed after the run, and rendered by `report.py`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.waiter import POLL_SCALE_ENV
from tests.engine.conftest import PROJECT, Deployment
from pulumi_pcimage.testing import ProviderHost

ACCESS_KEY = "AKIAPCIMAGERELIAB1E7"
SECRET_KEY = "rel1ability/Secret+Key/8fJ2kQ9xW4mZ7pL0vB3nC6"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjPCIMAGE/Session+Token/Zm9vYmFyYmF6cXV4"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
               "AWS_SESSION_TOKEN": SESSION_TOKEN, "AWS_DEFAULT_REGION": REGION}
# Polling 50x faster than on AWS: first poll after 0.1 s, then every 0.3 s.
FAST_POLLING = {POLL_SCALE_ENV: "0.02"}
HOST_ENV = {**CREDENTIALS, **FAST_POLLING}
BUILD_SECONDS = 0.8
CACHE_KEY = "pcimage/reliability"

_AWS_SETTINGS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "PCLUSTER_API_URL", "PCLUSTER_API_STACK_NAME", "REQUESTS_CA_BUNDLE",
                 "CURL_CA_BUNDLE", "AWS_CA_BUNDLE")


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only this test's fake credentials: nothing from the machine's AWS set-up reaches a host or a client."""
    for name in _AWS_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(build_seconds=BUILD_SECONDS, delete_seconds=0.2, access_key=ACCESS_KEY,
                  secret_key=SECRET_KEY) as emu:
        yield emu


@pytest.fixture
def host() -> Iterator[ProviderHost]:
    with ProviderHost(project=PROJECT, env=HOST_ENV) as running:
        yield running


@pytest.fixture
def deployment_pair(host: ProviderHost, emulator: Emulator) -> tuple[Deployment, Emulator]:
    return Deployment(host, emulator), emulator


class Figures:
    """Numbers docs/reliability.md quotes, added up over the run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: Counter[str] = Counter()

    def add(self, **amounts: int) -> None:
        with self._lock:
            self.values.update(amounts)


_FIGURES = Figures()


@pytest.fixture
def figures() -> Figures:
    return _FIGURES


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _FIGURES.values and getattr(session.config, "cache", None) is not None:
        session.config.cache.set(CACHE_KEY, dict(_FIGURES.values))


def pytest_terminal_summary(terminalreporter) -> None:
    if _FIGURES.values:
        terminalreporter.section("pulumi_pcimage reliability figures")
        for name, value in sorted(_FIGURES.values.items()):
            terminalreporter.write_line(f"{name}: {value}")
