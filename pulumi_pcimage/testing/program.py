"""Run a Pulumi program (a project directory's ``__main__.py``) under the SDK's mocks, with dynamic resources
handed to the real provider host.

The program runs as the SDK's language host runs it (``pulumi.runtime.run_in_stack``, so ``pulumi.export`` values
reach the root stack's registered outputs) with a ``MockMonitor`` in place of the engine. Each dynamic resource goes
through ``ProviderHost`` as on a first ``pulumi up``: Check (old inputs empty), then Create with the checked inputs.
With ``preview=True`` only Check runs and the outputs are what the engine previews: the checked inputs, with
everything else unknown. Other resources get their inputs back as outputs.

Each run happens on its own thread, inside a fresh ``contextvars`` context and event loop, so the SDK's global
state (settings, root stack, config) never leaks from one run to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import runpy
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from google.protobuf import empty_pb2
from pulumi.runtime import rpc, run_in_stack, set_all_config
from pulumi.runtime.mocks import MockCallArgs, MockEngine, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.settings import SETTINGS, reset_options

from pulumi_pcimage.testing.host import ProviderHost, _plain, urn

DYNAMIC_PREFIX = "pulumi-python:dynamic"  # the type token prefix of every dynamic.Resource
log = logging.getLogger(__name__)


class CheckFailed(Exception):
    """The provider's Check rejected a resource's inputs (the engine stops the update the same way)."""

    def __init__(self, type_: str, name: str, failures: list[tuple[str, str]]):
        reasons = "; ".join(f"{prop}: {reason}" if prop else reason for prop, reason in failures)
        super().__init__(f"{type_} resource '{name}' has a problem: {reasons}")
        self.failures = failures


@dataclass
class RegisteredResource:
    type: str
    name: str
    inputs: dict  # for dynamic resources: the checked inputs the provider returned
    id: str | None
    outputs: dict


@dataclass
class ProgramRun:
    outputs: dict  # the stack's exports, resolved; UNKNOWN where a preview cannot know them
    resources: list[RegisteredResource] = field(default_factory=list)
    project: str = "quickstart"
    stack: str = "dev"

    def resource(self, name: str) -> RegisteredResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}; registered: {[r.name for r in self.resources]}")
        return matches[0]


def _unwrap_secrets(value: Any) -> Any:
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


class _ForwardingMocks(Mocks):
    def __init__(self, host: ProviderHost, project: str, stack: str, preview: bool,
                 calls: dict[str, Callable[[dict], dict]]):
        self.host, self.project, self.stack, self.preview, self.calls = host, project, stack, preview, calls
        self.resources: list[RegisteredResource] = []
        self._lock = threading.Lock()  # the SDK registers resources from executor threads

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        if args.typ.startswith(DYNAMIC_PREFIX):
            id_, inputs, outputs = self._dynamic(args)
        else:
            id_, inputs, outputs = (f"{args.name}_id" if args.custom else ""), args.inputs, dict(args.inputs)
        with self._lock:
            self.resources.append(RegisteredResource(args.typ, args.name, inputs, id_, outputs))
        # The engine keeps an output secret when the same-named input was (``__provider`` always is).
        secret = {k for k, v in args.inputs.items() if rpc.is_rpc_secret(v)}
        return id_, {k: rpc.wrap_rpc_secret(v) if k in secret else v for k, v in outputs.items()}

    def _dynamic(self, args: MockResourceArgs) -> tuple[str, dict, dict]:
        if "__provider" not in args.inputs:
            raise ValueError(f"dynamic resource {args.name!r} has no __provider input")
        resource_urn = urn(args.name, args.typ, project=self.project, stack=self.stack)
        # During preview unknowns arrive as pulumi.output.Unknown; the host sends them as the UNKNOWN sentinel.
        checked = self.host.check(resource_urn, {}, args.inputs)
        if checked.failures:
            raise CheckFailed(args.typ, args.name, checked.failures)
        if self.preview:  # the engine previews a create as its checked inputs; the rest stays unknown
            return "", checked.inputs, dict(checked.inputs)
        id_, outputs = self.host.create(resource_urn, checked.inputs)
        return id_, checked.inputs, outputs

    def call(self, args: MockCallArgs) -> tuple[dict, list | None]:
        if args.token not in self.calls:
            raise NotImplementedError(f"no mock for function {args.token!r}; pass calls={{token: fn}} to run_program")
        return self.calls[args.token](args.args), None


class _RecordingMonitor(MockMonitor):
    """Keeps what the root stack registers as its outputs: the program's exports."""

    stack_outputs: dict | None = None

    def RegisterResourceOutputs(self, request):
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            self.stack_outputs = _unwrap_secrets(_plain(rpc.deserialize_properties(request.outputs, True)))
        return empty_pb2.Empty()


def _config_strings(config: dict[str, Any]) -> dict[str, str]:
    # Stack config values are strings; structured values travel as JSON, as `pulumi config set --path` stores them.
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def _drop_unretrieved(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    # A failed resource faults every output that depends on it; run_program raises the failure once, so the
    # unobserved copies are noise (the SDK's language host silences them too).
    if not context.get("message", "").endswith("exception was never retrieved"):
        loop.default_exception_handler(context)


def run_program(program_dir: str | os.PathLike, host: ProviderHost, *, project: str = "quickstart",
                stack: str = "dev", config: dict[str, Any] | None = None, preview: bool = False,
                calls: dict[str, Callable[[dict], dict]] | None = None) -> ProgramRun:
    """Run ``program_dir/__main__.py``; return its resolved exports and every resource it registered.

    ``config`` holds stack config keys such as ``{"pcimage:apiUrl": "..."}`` for ``pulumi.Config`` in the program.
    ``calls`` maps invoke tokens to functions returning their result; any other invoke fails the run.
    """
    program_dir = Path(program_dir).resolve()
    main = program_dir / "__main__.py"
    if not main.is_file():
        raise FileNotFoundError(f"{main} not found: program_dir must be a Pulumi project with a __main__.py")
    mocks = _ForwardingMocks(host, project, stack, preview, dict(calls or {}))
    monitor = _RecordingMonitor(mocks)
    outcome: dict[str, Any] = {}

    def run() -> None:  # on a fresh thread: an empty contextvars context and no event loop yet
        reset_options(project=project, stack=stack, root_directory=str(program_dir), preview=preview,
                      organization="organization")
        SETTINGS.monitor = monitor
        SETTINGS.engine = MockEngine(log)
        SETTINGS.monitor_features = set(monitor.GetDeploymentInfo(empty_pb2.Empty()).supportedFeatures)
        set_all_config(_config_strings(config or {}), [])
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_drop_unretrieved)
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(run_in_stack(lambda: runpy.run_path(str(main), run_name="__main__")))
        except BaseException as exc:  # noqa: BLE001 handed to the caller's thread
            outcome["error"] = exc
        finally:
            for task in asyncio.all_tasks(loop):  # as the SDK's automation server does before closing its loop
                task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(task)
            loop.close()
            asyncio.set_event_loop(None)

    previous_cwd, previous_path = os.getcwd(), list(sys.path)
    os.chdir(program_dir)  # the language host runs the program from its project directory
    sys.path.insert(0, str(program_dir))
    try:
        worker = threading.Thread(target=run, name=f"pulumi-program-{program_dir.name}")
        worker.start()
        worker.join()
    finally:
        os.chdir(previous_cwd)
        sys.path[:] = previous_path
    if "error" in outcome:
        raise outcome["error"]
    if monitor.stack_outputs is None:
        raise RuntimeError(f"{main} finished but its stack registered no outputs")
    return ProgramRun(monitor.stack_outputs, list(mocks.resources), project, stack)


def destroy_program(run: ProgramRun, host: ProviderHost) -> list[RegisteredResource]:
    """``pulumi destroy`` of what ``run`` created: Delete every dynamic resource through ``host``, dependents
    first as the engine orders it; returns the deleted resources."""
    deleted = []
    for resource in reversed(run.resources):
        if resource.id and resource.type.startswith(DYNAMIC_PREFIX):
            host.delete(resource.id, urn(resource.name, resource.type, project=run.project, stack=run.stack),
                        resource.outputs, old_inputs=resource.inputs)
            deleted.append(resource)
    return deleted
