"""What a provider process remembers between calls: `HostState`, and how its API clients are made."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from ..waiter import REAL_TIME, Clock


class ApiClient(Protocol):
    """What the lifecycle and the get_* functions ask of a ParallelCluster API client: `client.ParallelClusterClient`
    is one; a test's scripted API can be another. Each method is the API operation of the same name."""

    def build_image(self, image_id: str, image_configuration: str | Mapping[str, Any], *,
                    suppress_validators: str | list[str] | None = None, validation_failure_level: str | None = None,
                    dryrun: bool | None = None, rollback_on_failure: bool | None = None,
                    region: str | None = None) -> dict[str, Any]: ...

    def describe_image(self, image_id: str, *, region: str | None = None) -> dict[str, Any]: ...

    def delete_image(self, image_id: str, *, region: str | None = None,
                     force: bool | None = None) -> dict[str, Any]: ...

    def describe_official_images(self, *, region: str | None = None, os: str | None = None,
                                 architecture: str | None = None) -> dict[str, Any]: ...

    def iter_images(self, image_status: str, *, region: str | None = None) -> Iterator[dict[str, Any]]: ...

    def get_image_stack_events(self, image_id: str, *, region: str | None = None,
                               next_token: str | None = None) -> dict[str, Any]: ...

    def list_image_log_streams(self, image_id: str, *, region: str | None = None,
                               next_token: str | None = None) -> dict[str, Any]: ...

    def get_image_log_events(self, image_id: str, log_stream_name: str, *, region: str | None = None,
                             next_token: str | None = None, start_from_head: bool | None = None,
                             limit: int | None = None, start_time: datetime | str | None = None,
                             end_time: datetime | str | None = None) -> dict[str, Any]: ...


# A transient answer (429, 5xx, a dropped connection) must not fail an hour-long up or destroy: the provider's
# single calls (read, delete, reconcile) get twice the client's default attempts (~2 minutes of backoff).
HOST_MAX_ATTEMPTS = 16
# A preview's dry run is only advice: an unreachable API becomes a warning after a few seconds, not minutes.
DRYRUN_MAX_ATTEMPTS = 4


def make_client(api_url: str, *, region: str | None, profile: str | None, role_arn: str | None,
                max_attempts: int = HOST_MAX_ATTEMPTS) -> ApiClient:
    from ..client import ParallelClusterClient  # imported late: only the host talks to the API
    from ..retry import RetryPolicy

    return ParallelClusterClient(api_url, region=region, profile=profile, role_arn=role_arn,
                                 retry=RetryPolicy(max_attempts=max_attempts))


class HostState:
    """What one provider process remembers between calls, owned by the face that serves the process (the dynamic
    provider's instance, the package's provider) and passed to every Lifecycle it makes. One lock guards it all.

    - API clients, built lazily and cached per (api_url, region, profile, role_arn, attempts): a client keeps the
      credentials it first read.
    - Dry-run answers by content, so a preview of many unchanged images sends nothing twice.
    - Adoptions: complete images a Create of this process adopted instead of building, keyed by (region, image
      id), valued by the adopting resource's generation. A forced replacement (`pulumi up --replace`) with an
      unchanged configuration gets the same id, adopts the live image, and the engine then deletes the old
      resource in this same process: that delete must leave the image alone (a delete of any other resource there
      is one the image was taken from; not the image's own tag: after a second replacement the resource being
      deleted is the first adopter, whose generation the image never carried).
    - What Check told this process about the resources the program declares: each one's owner marker and the
      generation it holds now (the last Check's answer; a replacement's second Check gives the new generation).
      The engine checks every resource the program declares before it deletes anything (a replacement's second
      Check comes before its Create and its Delete; pending deletes run after the program's steps), so a Delete of
      another generation of a declared owner is the delete of an image a replacement left behind, now or retried
      in a later run. Those run with the inputs the old image was built with: what the program says now
      (force_delete) cannot reach them, and the advice after a refusal must say so.

    `make_client(api_url, *, region, profile, role_arn, max_attempts)`: how clients are built (default:
    `make_client`, the real one). `clock`: the time every wait and deadline of the lifecycle runs on (default: real
    time).
    """

    def __init__(self, make_client: Callable[..., ApiClient] | None = None, clock: Clock = REAL_TIME) -> None:
        self._make_client = make_client
        self.clock = clock
        self._lock = threading.Lock()
        self._clients: dict[tuple, ApiClient] = {}
        self._dryruns: dict[str, list[str]] = {}
        self._adopted: dict[tuple[str | None, str], str] = {}
        self._generations: dict[str, str] = {}

    def client(self, api_url: str, region: str | None, profile: str | None, role_arn: str | None,
               max_attempts: int = HOST_MAX_ATTEMPTS) -> ApiClient:
        key = (api_url, region, profile, role_arn, max_attempts)
        with self._lock:
            if key not in self._clients:
                build = self._make_client or make_client
                self._clients[key] = build(api_url, region=region, profile=profile, role_arn=role_arn,
                                           max_attempts=max_attempts)
            return self._clients[key]

    def dryrun_answer(self, key: str) -> list[str] | None:
        with self._lock:
            return self._dryruns.get(key)

    def remember_dryrun(self, key: str, reasons: list[str]) -> None:
        with self._lock:
            self._dryruns[key] = reasons

    def adopted(self, region: str | None, image_id: str, generation: str) -> None:
        with self._lock:
            self._adopted[(region, image_id)] = generation

    def adopter(self, region: str | None, image_id: str) -> str | None:
        """The generation of the resource that adopted this image in this process, if one did."""
        with self._lock:
            return self._adopted.get((region, image_id))

    def note(self, owner: Any, generation: Any) -> None:
        """What a Check answered: `owner`'s resource now holds `generation`."""
        if isinstance(owner, str) and owner and isinstance(generation, str):
            with self._lock:
                self._generations[owner] = generation

    def replaced(self, owner: Any, generation: Any) -> bool:
        """Whether the image of `owner` and `generation` is one a replacement of a declared resource left behind."""
        with self._lock:
            live = self._generations.get(owner) if isinstance(owner, str) else None
        return live is not None and live != (generation or "")
