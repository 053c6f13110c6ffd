"""Pytest fixtures for testing against a local ParallelCluster API (registered through the pytest11 entry point).

    def test_my_program(pcluster_emulator):
        ...  # PCLUSTER_API_URL and AWS credentials point at the emulator

    def test_faults(pcluster_emulator_factory):
        emu = pcluster_emulator_factory(throttle_rate=0.2)
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable, Iterator

import pytest

from .server import Emulator

FAST = {"build_seconds": 1.0, "delete_seconds": 0.2}


@pytest.fixture
def pcluster_emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with any `Emulator` keyword arguments (short build times by default); all stop afterwards."""
    started: list[Emulator] = []

    def start(**kwargs: Any) -> Emulator:
        emulator = Emulator(**{**FAST, **kwargs}).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.close()


@pytest.fixture
def pcluster_emulator(pcluster_emulator_factory: Callable[..., Emulator],
                      monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """A running emulator, with the environment pointing clients at it."""
    emulator = pcluster_emulator_factory()
    monkeypatch.setenv("PCLUSTER_API_URL", emulator.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", emulator.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", emulator.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", emulator.region)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return emulator
