"""Injected faults: throttling, server errors, real dropped connections, latency — reproducible with a seed."""

from __future__ import annotations

import socket

import pytest
import requests

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.app import FAULT_HEADER
from pulumi_pcimage.emulator.faults import Faults

from .conftest import Client, conform


def outcomes(client: Client, count: int) -> list[object]:
    seen = []
    for _ in range(count):
        try:
            seen.append(client("GET", "/v3/images/official", check=False).status_code)
        except requests.ConnectionError:
            seen.append("dropped")
    return seen


def test_the_same_seed_gives_the_same_faults():
    sequence = Faults(0.2, 0.2, 0.2, seed=7)
    again = Faults(0.2, 0.2, 0.2, seed=7)
    assert [sequence.draw() for _ in range(200)] == [again.draw() for _ in range(200)]
    kinds = {fault.kind if fault else None for fault in (sequence.draw() for _ in range(500))}
    assert kinds == {"throttle", "error", "drop", None}


def test_rates_are_checked():
    with pytest.raises(ValueError, match="throttle_rate"):
        Faults(throttle_rate=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        Faults(throttle_rate=0.6, error_rate=0.6)


def test_throttling_and_errors_conform_and_are_counted():
    with Emulator(throttle_rate=0.3, error_rate=0.3, seed=1) as emulator:
        client = Client(emulator)
        statuses = []
        for _ in range(60):
            response = client("GET", "/v3/images/official")  # validated against the spec (429, 500) or gateway shape
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.headers["Retry-After"] == "1"
                assert response.headers[FAULT_HEADER] == "throttle"
        assert {429, 200} <= set(statuses) and set(statuses) <= {200, 429, 500, 502, 503}
        assert emulator.counters()["faults_injected"] == sum(s != 200 for s in statuses)
        assert emulator.counters()["list_official_images"] == 60


def test_faults_follow_the_seed_across_emulators():
    runs = []
    for _ in range(2):
        with Emulator(throttle_rate=0.2, error_rate=0.2, drop_rate=0.2, seed=42) as emulator:
            runs.append(outcomes(Client(emulator), 30))
    assert runs[0] == runs[1]
    assert "dropped" in runs[0]


def test_a_dropped_connection_is_closed_without_an_answer(emulator):
    emulator.set_faults(drop_rate=1.0)
    # Unsigned requests are refused before faults: sign one the normal way and send its bytes ourselves.
    prepared = Client(emulator).session.prepare_request(requests.Request("GET", emulator.url + "/v3/images/official"))
    headers = "".join(f"{k}: {v}\r\n" for k, v in prepared.headers.items())
    request = f"GET {prepared.path_url} HTTP/1.1\r\nHost: 127.0.0.1:{emulator.port}\r\n{headers}\r\n".encode()
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as sock:
        sock.sendall(request)
        assert sock.recv(4096) == b""  # EOF, not an HTTP response
    assert emulator.counters()["faults_injected"] == 1


def test_a_dropped_build_still_took_effect(emulator):
    client = Client(emulator)
    emulator.set_faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        client.build("img")
    emulator.set_faults(drop_rate=0.0)
    assert client.describe("img").status_code == 200  # the answer was lost, the build was not
    assert client.build("img").status_code == 409


def test_latency_is_added(emulator):
    emulator.set_faults(latency_ms=50)
    response = Client(emulator)("GET", "/v3/images/official")
    assert response.elapsed.total_seconds() >= 0.05
    conform(response)
