"""Fifty signed clients at once for a few seconds: nothing fails except the faults that were asked for."""

from __future__ import annotations

import threading
import time
from collections import Counter

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.app import FAULT_HEADER

from .conftest import Client

CLIENTS = 50
SECONDS = 3.0


def test_fifty_concurrent_clients_see_only_injected_faults():
    with Emulator(build_seconds=0.5, delete_seconds=0.1, throttle_rate=0.05, error_rate=0.05, seed=3) as emulator:
        outcomes: Counter = Counter()
        unexpected: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(CLIENTS)

        def record(response, expected: set[int]) -> None:
            injected = response.headers.get(FAULT_HEADER)
            with lock:
                outcomes["injected" if injected else response.status_code] += 1
                if not injected and response.status_code not in expected:
                    unexpected.append(f"{response.request.method} {response.url}: {response.status_code} "
                                      f"{response.text[:200]}")

        def work(n: int) -> None:
            client = Client(emulator)
            start.wait()
            deadline, i = time.monotonic() + SECONDS, 0
            while time.monotonic() < deadline:
                image_id = f"img-{n}-{i}"
                record(client.build(image_id, check=False), {202})
                record(client.describe(image_id, check=False), {200, 404})
                record(client("GET", "/v3/images/custom", params={"imageStatus": "PENDING"}, check=False), {200})
                record(client("GET", "/v3/images/official", params={"os": "rocky9"}, check=False), {200})
                # 400 while the build still runs, 404 if the build itself was a fault
                record(client("DELETE", f"/v3/images/custom/{image_id}", check=False), {202, 400, 404})
                i += 1

        threads = [threading.Thread(target=work, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert unexpected == []
        total = sum(outcomes.values())
        assert outcomes[202] > 0 and outcomes["injected"] > 0
        counters = emulator.counters()
        assert counters["total"] == total
        assert counters["faults_injected"] == outcomes["injected"]
        assert counters["auth_failures"] == 0
