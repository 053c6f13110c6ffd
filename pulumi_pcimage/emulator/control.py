"""Test control of an emulator: in process (`Controls`) or over HTTP from another process (`EmulatorControl`).

Both offer the same methods; every one of them is also a route under `/_emulator/` (no signature needed, but the
emulator's control token: `EmulatorControl` finds it by itself for emulators of this process, and in the file next
to the port file for `pcimage-emulator --port-file`).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from typing import Any
from collections.abc import Iterable
from urllib.parse import quote, urlencode

from .faults import Faults
from .models import ImageService
from .sigv4 import SigV4Verifier

TOKEN_HEADER = "X-Pcimage-Emulator-Token"  # a custom header: browsers cannot send it cross-origin without CORS
TOKEN_ENV = "PCIMAGE_EMULATOR_CONTROL_TOKEN"  # lets a parent process choose the token of a pcimage-emulator

# The tokens of the emulators running in this process, by base URL, so EmulatorControl(emulator.base_url) works.
_local_tokens: dict[str, str] = {}
_local_lock = threading.Lock()


def register_token(base_url: str, token: str | None) -> None:
    with _local_lock:
        if token:
            _local_tokens[base_url.rstrip("/")] = token
        else:
            _local_tokens.pop(base_url.rstrip("/"), None)


def token_file(port_file: str | os.PathLike) -> str:
    """Where `pcimage-emulator --port-file PATH` writes its control token (owner-only): PATH.token."""
    return f"{os.fspath(port_file)}.token"

OPERATIONS = ["build_image", "describe_image", "delete_image", "list_images", "list_official_images",
              "get_image_stack_events", "list_image_log_streams", "get_image_log_events"]
COUNTER_NAMES = OPERATIONS + ["total", "builds_started", "faults_injected", "auth_failures"]


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        with self._lock:
            self._values = dict.fromkeys(COUNTER_NAMES, 0)


class Controls:
    """What tests may do to a running emulator, in process."""

    def __init__(self, service: ImageService, verifier: SigV4Verifier, faults: Faults, counters: Counters):
        self._bound_service, self.verifier, self.faults, self._counters = service, verifier, faults, counters

    @property
    def service(self) -> ImageService:  # a property: the Emulator's is created on start()
        return self._bound_service

    def complete_build(self, image_id: str, region: str | None = None) -> None:
        self.service.complete_build(image_id, region=region)

    def fail_build(self, image_id: str, reason: str = "Build failed (injected by the emulator)",
                   region: str | None = None) -> None:
        self.service.fail_build(image_id, reason=reason, region=region)

    def set_in_use(self, image_id: str, in_use: bool = True, region: str | None = None) -> None:
        self.service.set_in_use(image_id, in_use=in_use, region=region)

    def register_parent_image(self, image: str, architecture: str = "x86_64", name: str | None = None,
                              region: str | None = None) -> None:
        """Make an AMI exist (a customer's own base AMI), so builds may use it as Build.ParentImage."""
        self.service.register_parent_image(image, architecture=architecture, name=name, region=region)

    def set_faults(self, throttle_rate: float | None = None, error_rate: float | None = None,
                   drop_rate: float | None = None, latency_ms: float | None = None, seed: int | None = None) -> None:
        self.faults.configure(throttle_rate=throttle_rate, error_rate=error_rate, drop_rate=drop_rate,
                              latency_ms=latency_ms, seed=seed)

    def set_credentials(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.verifier.set_credentials(pairs)

    def counters(self) -> dict[str, int]:
        return self._counters.snapshot()

    def reset_counters(self) -> None:
        self._counters.reset()

    def images(self, region: str | None = None) -> list[str]:
        return self.service.image_ids(region)


class EmulatorControlError(Exception):
    """A control request was refused; `status` and `message` are the emulator's answer."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message = status, message


class EmulatorControl:
    """The same controls as `Controls`, against an emulator reachable at `base_url` (http://127.0.0.1:PORT).

    `token` is the emulator's control token; by default the one of an emulator of this process at that address,
    else the environment variable PCIMAGE_EMULATOR_CONTROL_TOKEN. For a `pcimage-emulator --port-file PATH`,
    `EmulatorControl.from_port_file(PATH)` reads the port and the token.
    """

    def __init__(self, base_url: str, timeout: float = 10.0, token: str | None = None):
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        with _local_lock:
            self.token = token or _local_tokens.get(self.base_url) or os.environ.get(TOKEN_ENV, "")

    @classmethod
    def from_port_file(cls, port_file: str | os.PathLike, host: str = "127.0.0.1",
                       timeout: float = 10.0) -> EmulatorControl:
        with open(port_file) as handle:
            port = int(handle.read())
        with open(token_file(port_file)) as handle:
            token = handle.read().strip()
        return cls(f"http://{host}:{port}", timeout=timeout, token=token)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              region: str | None = None) -> Any:
        query = f"?{urlencode({'region': region})}" if region else ""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base_url}/_emulator/{path}{query}", data=data, method=method,
                                         headers={"Content-Type": "application/json", TOKEN_HEADER: self.token})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise EmulatorControlError(exc.code, json.loads(exc.read() or b"{}").get("message", "")) from None

    def complete_build(self, image_id: str, region: str | None = None) -> None:
        self._call("POST", f"images/{quote(image_id)}/complete", {}, region)

    def fail_build(self, image_id: str, reason: str = "Build failed (injected by the emulator)",
                   region: str | None = None) -> None:
        self._call("POST", f"images/{quote(image_id)}/fail", {"reason": reason}, region)

    def set_in_use(self, image_id: str, in_use: bool = True, region: str | None = None) -> None:
        self._call("POST", f"images/{quote(image_id)}/in-use", {"in_use": in_use}, region)

    def register_parent_image(self, image: str, architecture: str = "x86_64", name: str | None = None,
                              region: str | None = None) -> None:
        body = {"image": image, "architecture": architecture, **({"name": name} if name else {})}
        self._call("POST", "parent-images", body, region)

    def set_faults(self, throttle_rate: float | None = None, error_rate: float | None = None,
                   drop_rate: float | None = None, latency_ms: float | None = None, seed: int | None = None) -> None:
        settings = {"throttle_rate": throttle_rate, "error_rate": error_rate, "drop_rate": drop_rate,
                    "latency_ms": latency_ms, "seed": seed}
        self._call("POST", "faults", {k: v for k, v in settings.items() if v is not None})

    def set_credentials(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._call("PUT", "credentials", {"credentials": [list(pair) for pair in pairs]})

    def counters(self) -> dict[str, int]:
        return self._call("GET", "counters")

    def reset_counters(self) -> None:
        self._call("DELETE", "counters")

    def images(self, region: str | None = None) -> list[str]:
        return self._call("GET", "images", region=region)["images"]
