"""What every part of the lifecycle shares: the stack config it falls back on, the face's hooks, the process's
state, and the API clients it reaches images through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import endpoint, waiter
from .values import Settings, Hooks
from .state import ApiClient, HostState


class Base:
    """Settings, hooks and state of one Lifecycle; the clients and the observed polls every operation uses."""

    def __init__(self, stack_config: Any = None, hooks: Hooks | None = None, state: HostState | None = None):
        self.stack_config = stack_config
        self.hooks = hooks or Hooks()
        self.state = state if state is not None else HostState()

    def _api_url(self, s: Settings) -> str:
        return endpoint.resolve_api_url(s.api_url, config=self.stack_config)

    def _client(self, s: Settings) -> ApiClient:
        # Signed for the API's own region (host name, else the session's): the image region is a query
        # parameter on every call, and may differ from where the API is deployed.
        return self.state.client(self._api_url(s), None, s.aws_profile, s.role_arn)

    def _observed(self, phase: str, poll: Callable[[], dict]) -> Callable[[], dict]:
        """`poll`, with each answer shown to the progress hook (if any)."""
        progress = self.hooks.progress
        if progress is None:
            return poll
        monotonic = self.state.clock.monotonic
        start = monotonic()

        def observed() -> dict:
            answer = poll()
            progress(phase, answer, monotonic() - start)
            return answer

        return observed

    def _wait(self, poll: Callable[[], dict], acceptors: tuple[waiter.Acceptor, ...], *, timeout: float,
              what: str) -> waiter.Outcome:
        """`waiter.wait` on this state's clock, ended by the face's cancel."""
        clock = self.state.clock
        return waiter.wait(poll, acceptors, timeout=timeout, what=what, clock=clock.monotonic, sleep=clock.sleep,
                           cancel=self.hooks.cancel)
