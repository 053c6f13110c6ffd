"""The CustomImage dynamic provider: `pulumi.dynamic`'s face of the lifecycle core (`lifecycle/`).

The instance is pickled (by reference: this module is importable) into every resource's `__provider` state, so it
holds no settings at all: everything comes from the resource's inputs. It only translates between the SDK's
dynamic-provider types and the lifecycle's plain values.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pulumi.dynamic import (CheckFailure, CheckResult, ConfigureRequest, CreateResult, DiffResult, ReadResult,
                            ResourceProvider, UpdateResult)

from . import config, hostpool
from .lifecycle import HostState, Lifecycle, is_unknown, log


class CustomImageProvider(ResourceProvider):
    serialize_as_secret_always = False  # holds nothing: safe to store in plain state

    def __init__(self, state: HostState | None = None) -> None:
        # `state`: a test's (its API and clock); never given in a program, whose instance is pickled into the state.
        if state is not None:
            self._state = state

    def configure(self, req: ConfigureRequest) -> None:
        # Only a fallback: CustomImage resolves api_url in the program. Set in the host, never pickled.
        self._stack_config = req.config

    def _core(self) -> Lifecycle:
        # The host keeps one configured instance per process (one deployment, `_PROVIDER_CACHE` in the SDK's
        # host): what the process remembers lives here. Created on first use, in the host (never in the program,
        # so never pickled into the state).
        state = vars(self).setdefault("_state", HostState())
        return Lifecycle(getattr(self, "_stack_config", None), state=state)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = self._core().check(olds, news)
        inputs = checked.inputs
        value = inputs.get("image_configuration")
        # This face keeps one form, YAML text, as CustomImage sends it (its output is typed str): a mapping that
        # reaches the provider some other way is written out once it has passed check's limits.
        if not checked.failures and isinstance(value, dict) and not is_unknown(value):
            inputs = {**inputs, "image_configuration": config.dump(value)}
        return CheckResult(inputs, [CheckFailure(f.property, f.reason) for f in checked.failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        plan = self._core().diff(_id, olds, news)
        return DiffResult(changes=plan.changes, replaces=plan.replaces, stables=[],
                          delete_before_replace=plan.delete_before_replace)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(*self._core().create(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(*self._core().read(id_, props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._core().update(_id, olds, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._core().delete(id_, props)


def _log_to_stderr() -> None:
    """Inside the provider host, show progress on stderr (the CLI prints it as diagnostics)."""
    if hostpool.in_provider_host() and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("pulumi_pcimage: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


_log_to_stderr()
hostpool.raise_host_worker_limit()
