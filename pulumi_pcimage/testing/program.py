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
import dataclasses
import json
import logging
import os
import runpy
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Collection

from google.protobuf import empty_pb2
from pulumi.runtime import rpc, run_in_stack, set_all_config
from pulumi.runtime.mocks import MockCallArgs, MockEngine, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.settings import SETTINGS, reset_options

from pulumi_pcimage.testing.engine import CheckRejected, Options, Stack, Step
from pulumi_pcimage.testing.host import ProviderHost
from pulumi_pcimage.testing.values import plain, project_name, unwrap_secrets, urn

DYNAMIC_PREFIX = "pulumi-python:dynamic"  # the type token prefix of every dynamic.Resource
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
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
    steps: list[Step] = field(default_factory=list)  # with a Stack: what the engine did (or would do) per resource

    def resource(self, name: str) -> RegisteredResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}; registered: {[r.name for r in self.resources]}")
        return matches[0]


class _ForwardingMocks(Mocks):
    def __init__(self, host: ProviderHost, project: str, stack: str, preview: bool,
                 calls: dict[str, Callable[[dict], dict]], state: Stack | None,
                 targets: Collection[str] | None = None, replace: Collection[str] = ()):
        self.host, self.project, self.stack, self.preview, self.calls = host, project, stack, preview, calls
        self.state, self.targets, self.replace = state, targets, set(replace)
        self.resources: list[RegisteredResource] = []
        self.registration = threading.local()  # (urn, Options) of the registration being served on this thread
        self._lock = threading.RLock()  # the SDK registers resources from executor threads

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
        resource_urn, options = self.registration.current
        if self.state is not None:
            return self._stateful(resource_urn, args, options)
        # During preview unknowns arrive as pulumi.output.Unknown; the host sends them as the UNKNOWN sentinel.
        checked = self.host.check(resource_urn, {}, args.inputs)
        if checked.failures:
            raise CheckFailed(args.typ, args.name, checked.failures)
        if self.preview:  # the engine previews a create as its checked inputs; the rest stays unknown
            return "", checked.inputs, dict(checked.inputs)
        id_, outputs = self.host.create(resource_urn, checked.inputs)
        return id_, checked.inputs, outputs

    def _stateful(self, resource_urn: str, args: MockResourceArgs, options: Options) -> tuple[str, dict, dict]:
        assert self.state is not None
        if self.targets is not None and resource_urn not in self.targets:  # --target: left as it is
            with self._lock:
                kept = self.state.untargeted(resource_urn, options)
            return (kept.id, kept.inputs, dict(kept.outputs)) if kept else ("", args.inputs, dict(args.inputs))
        if resource_urn in self.replace:
            options = dataclasses.replace(options, replace=True)
        try:
            with self._lock:  # the engine's state is one; the SDK registers from several threads
                step = (self.state.preview if self.preview else self.state.up)(resource_urn, args.inputs, options)
        except CheckRejected as exc:
            raise CheckFailed(args.typ, args.name, exc.failures) from None
        if self.preview:
            old = self.state.resources.get(resource_urn)
            if step.op == "same" and old is not None:
                return old.id, old.inputs, dict(old.outputs)
            return (old.id if old else ""), step.inputs, dict(step.inputs)
        done = self.state.resources[resource_urn]
        return done.id, done.inputs, done.outputs

    def call(self, args: MockCallArgs) -> tuple[dict, list | None]:
        if args.token not in self.calls:
            raise NotImplementedError(f"no mock for function {args.token!r}; pass calls={{token: fn}} to run_program")
        return self.calls[args.token](args.args), None


class _RecordingMonitor(MockMonitor):
    """Keeps what the root stack registers as its outputs (the program's exports), and hands each registration's
    URN and engine-relevant options to the mocks."""

    stack_outputs: dict | None = None

    def __init__(self, mocks: _ForwardingMocks, project: str, stack: str):
        super().__init__(mocks)
        self.forwarding, self.project, self.stack = mocks, project, stack

    def RegisterResource(self, request):
        resource_urn = self.make_urn(request.parent, request.type, request.name)
        options = Options(
            ignore_changes=tuple(request.ignoreChanges),
            delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
            protect=bool(request.protect),
            aliases=tuple(self._alias_urn(alias, request) for alias in request.aliases)
            + tuple(request.aliasURNs))
        self.forwarding.registration.current = (resource_urn, options)
        return super().RegisterResource(request)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return _urn(self.stack, self.project, parent, type_, name)

    def _alias_urn(self, alias: Any, request: Any) -> str:
        if alias.urn:
            return alias.urn
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return _urn(spec.stack or self.stack, spec.project or self.project, parent, spec.type or request.type,
                    spec.name or request.name)

    def RegisterResourceOutputs(self, request):
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            self.stack_outputs = unwrap_secrets(plain(rpc.deserialize_properties(request.outputs, True)))
        return empty_pb2.Empty()


def _urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """A URN as the engine makes one (step_generator.go `generateURN`): the parent's whole type chain before the
    type, except the root stack's (the SDK's MockMonitor keeps the stack's type and only the parent's last type)."""
    chain = parent.split("::")[2] if parent else ""
    qualified = type_ if chain in ("", ROOT_STACK_TYPE) else f"{chain}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def _config_strings(config: dict[str, Any]) -> dict[str, str]:
    # Stack config values are strings; structured values travel as JSON, as `pulumi config set --path` stores them.
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def _drop_unretrieved(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    # A failed resource faults every output that depends on it; run_program raises the failure once, so the
    # unobserved copies are noise (the SDK's language host silences them too).
    if not context.get("message", "").endswith("exception was never retrieved"):
        loop.default_exception_handler(context)


def _namespaced(config: dict[str, Any], project: str) -> dict[str, Any]:
    # `pulumi config set key value` stores `<project>:key`: do the same for keys without a namespace.
    return {(key if ":" in key else f"{project}:{key}"): value for key, value in config.items()}


def run_program(program_dir: str | os.PathLike, host: ProviderHost, *, project: str | None = None,
                stack: str = "dev", config: dict[str, Any] | None = None, preview: bool = False,
                calls: dict[str, Callable[[dict], dict]] | None = None, state: Stack | None = None,
                targets: Collection[str] | None = None, replace: Collection[str] = ()) -> ProgramRun:
    """Run ``program_dir/__main__.py``; return its resolved exports and every resource it registered.

    ``project`` defaults to the name in ``program_dir/Pulumi.yaml``. ``config`` holds stack config such as
    ``{"pcimage:apiUrl": "..."}``; keys without a namespace get the project's, as ``pulumi config set`` does.
    ``calls`` maps invoke tokens to functions returning their result; any other invoke fails the run.

    Without ``state`` every run starts from nothing (Check, then Create). With a ``Stack`` the run is one
    ``pulumi preview`` or ``pulumi up`` command against that state (``Stack.command``: a provider process of its
    own): each dynamic resource goes through the engine's sequences (update, replacement, options such as
    ``ignore_changes``, ``aliases`` and ``delete_before_replace`` as the program set them), and an ``up`` then
    deletes the resources the program no longer declares, and the replaced ones. ``targets`` (URNs) is
    ``--target``: other resources are left as they are; ``replace`` (URNs) is ``--replace``.
    """
    program_dir = Path(program_dir).resolve()
    main = program_dir / "__main__.py"
    if not main.is_file():
        raise FileNotFoundError(f"{main} not found: program_dir must be a Pulumi project with a __main__.py")
    project = project or project_name(program_dir)
    config = _namespaced(dict(config or {}), project)
    mocks = _ForwardingMocks(host, project, stack, preview, dict(calls or {}), state, targets, replace)
    monitor = _RecordingMonitor(mocks, project, stack)
    outcome: dict[str, Any] = {}

    def program() -> None:  # the program's module globals are not a result
        runpy.run_path(str(main), run_name="__main__")

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
            loop.run_until_complete(run_in_stack(program))
        except BaseException as exc:  # noqa: BLE001 handed to the caller's thread
            outcome["error"] = exc
        finally:
            for task in asyncio.all_tasks(loop):  # as the SDK's automation server does before closing its loop
                task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(task)
            loop.close()
            asyncio.set_event_loop(None)

    command = state.command("preview" if preview else "up", targets) if state is not None \
        else contextlib.nullcontext()
    with command as done:
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
    # With a state, the command's steps: each resource's, then the deletes of what the program no longer declares.
    steps = list(done.steps) if done is not None else []
    return ProgramRun(monitor.stack_outputs, list(mocks.resources), project, stack, steps)


def destroy_program(run: ProgramRun, host: ProviderHost) -> list[RegisteredResource]:
    """``pulumi destroy`` of what ``run`` created: Delete every dynamic resource through ``host``, all at once as
    the engine does for resources that do not depend on each other (``--parallel`` is unbounded by default);
    returns the deleted resources. The first failure is raised once every delete has ended."""
    doomed = [r for r in run.resources if r.id and r.type.startswith(DYNAMIC_PREFIX)]
    pending = [host.delete_async(r.id, urn(r.name, r.type, project=run.project, stack=run.stack), r.outputs,
                                 old_inputs=r.inputs) for r in doomed]
    errors = [exc for done in pending if (exc := done.exception()) is not None]
    if errors:
        raise errors[0]
    return doomed
