"""Injected faults: throttling, server errors, dropped connections and latency, reproducible with a seed.

Each authenticated stage request draws one number from a seeded generator; the same seed and the same order of
requests give the same faults. Rates are probabilities in [0, 1] and their sum must not exceed 1.
"""

from __future__ import annotations

import dataclasses
import random
import threading

ERROR_STATUSES = (500, 502, 503)


@dataclasses.dataclass
class Fault:
    kind: str  # "throttle", "error" or "drop"
    status: int | None = None


def check_rate(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return float(value)


class Faults:
    def __init__(self, throttle_rate: float = 0.0, error_rate: float = 0.0, drop_rate: float = 0.0,
                 latency_ms: float = 0, seed: int | None = 0):
        self._lock = threading.Lock()
        self.throttle_rate = self.error_rate = self.drop_rate = 0.0
        self.latency_ms = 0.0
        self._random = random.Random(seed)
        self.configure(throttle_rate=throttle_rate, error_rate=error_rate, drop_rate=drop_rate,
                       latency_ms=latency_ms)

    def configure(self, throttle_rate: float | None = None, error_rate: float | None = None,
                  drop_rate: float | None = None, latency_ms: float | None = None, seed: int | None = None) -> None:
        """Change the given settings only; a new seed restarts the sequence of draws."""
        with self._lock:
            rates = {"throttle_rate": self.throttle_rate, "error_rate": self.error_rate,
                     "drop_rate": self.drop_rate}
            for name, value in (("throttle_rate", throttle_rate), ("error_rate", error_rate),
                                ("drop_rate", drop_rate)):
                if value is not None:
                    rates[name] = check_rate(name, value)
            if sum(rates.values()) > 1.0:
                raise ValueError(f"throttle_rate + error_rate + drop_rate must not exceed 1, got {rates}")
            if latency_ms is not None and latency_ms < 0:
                raise ValueError(f"latency_ms must be >= 0, got {latency_ms}")
            self.throttle_rate, self.error_rate, self.drop_rate = (rates["throttle_rate"], rates["error_rate"],
                                                                   rates["drop_rate"])
            if latency_ms is not None:
                self.latency_ms = float(latency_ms)
            if seed is not None:
                self._random = random.Random(seed)

    def draw(self) -> Fault | None:
        """The fault for the next request, if any."""
        with self._lock:
            roll = self._random.random()
            if roll < self.throttle_rate:
                return Fault("throttle", 429)
            roll -= self.throttle_rate
            if roll < self.error_rate:
                return Fault("error", self._random.choice(ERROR_STATUSES))
            roll -= self.error_rate
            if roll < self.drop_rate:
                return Fault("drop")
            return None

    def settings(self) -> dict[str, float]:
        with self._lock:
            return {"throttle_rate": self.throttle_rate, "error_rate": self.error_rate,
                    "drop_rate": self.drop_rate, "latency_ms": self.latency_ms}
