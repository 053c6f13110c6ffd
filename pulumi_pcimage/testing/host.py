"""Drive the Pulumi SDK's real dynamic provider host over gRPC, as the engine does.

Without the Pulumi CLI, this module plays the engine's part: it serves the ``Engine`` gRPC service (``Log``),
launches ``python -u -m pulumi.dynamic <engine-address>`` (or a plugin) from the project directory, reads the port
from the host's first stdout line, tries ``Handshake`` (pulumi 3.272's host answers UNIMPLEMENTED, so the engine
falls back to the legacy protocol), calls ``Configure`` with the stack config, and then sends Check / Diff / Create
/ Read / Update / Delete requests shaped like the engine's. ``restart()`` starts a new process in place of the
running one, as the CLI starts one for each command.

What the engine sends in each request (and so what callers pass):

- Check:  ``olds`` = the old *inputs* ({} on create), ``news`` = the program's new inputs.
- Diff:   ``olds`` = the old *outputs*, ``news`` = the checked new inputs, ``old_inputs`` = the old inputs.
- Create: ``props`` = the checked inputs.
- Read:   ``props`` = the old outputs, ``inputs`` = the old inputs.
- Update: ``olds`` = the old outputs, ``news`` = the checked new inputs, ``old_inputs`` = the old inputs.
- Delete: ``props`` = the old outputs, ``old_inputs`` = the old inputs.

A Create or Update the provider ends as a partial failure (an ``ErrorResourceInitFailed`` detail: the resource
exists but did not finish initialising) raises ``PartialFailure`` with the id and outputs the engine keeps.

Every one of them carries ``__provider``; nothing is added implicitly. Values are plain Python; ``UNKNOWN`` marks a
value not known during preview (in results too). The host answers ``Configure`` with ``acceptSecrets=False``, so
(like the engine) secret-wrapped values are unwrapped before they are sent.

The gRPC stub is thread-safe: the blocking methods may be called from several threads at once, and the
``*_async`` variants return ``concurrent.futures.Future`` objects from the host's own thread pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator, Sequence
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import engine_pb2_grpc, provider_pb2, provider_pb2_grpc, status_pb2

from pulumi_pcimage.testing.values import DEFAULT_PROJECT, engine_ready, plain, project_name

START_TIMEOUT = 30.0  # seconds for the host to print its port; generous for a loaded 2-core CI machine
LONG_CALL_MARGIN = 600.0  # seconds beyond a resource's own timeouts before a Create or Delete call is given up


class HostError(Exception):
    """A gRPC call to the provider host failed. ``message`` is the provider's own message (what to read first);
    ``details`` is all the host sent, which for a provider exception is the whole traceback (``traceback``)."""

    def __init__(self, code: grpc.StatusCode | None, details: str):
        self.code = code
        self.details = details
        self.message, self.traceback = _split_traceback(details)
        super().__init__(f"{code.name if code else 'HOST'}: {self.message}")


class PartialFailure(HostError):
    """A Create or Update that failed after the resource came to exist (`ErrorResourceInitFailed`, pulumi/pulumi
    `provider_plugin.go` `parseError`): the engine keeps `id` and `outputs` in the state with `reasons` as the
    resource's initialization errors."""

    def __init__(self, code: grpc.StatusCode | None, details: str, id: str, outputs: dict, reasons: list[str]):
        super().__init__(code, details)
        self.id, self.outputs, self.reasons = id, outputs, reasons


def _error(exc: grpc.RpcError) -> HostError:
    """The HostError of a failed call: a PartialFailure when the status carries an ErrorResourceInitFailed."""
    details = exc.details() or ""
    for key, value in (exc.trailing_metadata() or ()):
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            init_failed = provider_pb2.ErrorResourceInitFailed()
            if detail.Unpack(init_failed):
                return PartialFailure(exc.code(), details, init_failed.id, _props(init_failed.properties),
                                      list(init_failed.reasons))
    return HostError(exc.code(), details)


_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*: ")


def _split_traceback(details: str) -> tuple[str, str]:
    """(the exception's message, the traceback) of a Python traceback; (details, "") for anything else."""
    if not details.startswith("Traceback (most recent call last):"):
        return details, ""
    lines = details.splitlines()
    # The exception line is the first one at column 0 after the last frame ("  File ..." and its indented lines).
    last_frame = max((i for i, line in enumerate(lines) if line.startswith("  File ")), default=0)
    for index in range(last_frame + 1, len(lines)):
        if lines[index] and not lines[index].startswith(" "):
            message = "\n".join(lines[index:])
            return _EXCEPTION_LINE.sub("", message, count=1), "\n".join(lines[:index])
    return details, ""


@dataclass
class CheckResult:
    inputs: dict
    failures: list[tuple[str, str]]


@dataclass
class DiffResult:
    changes: bool | None  # None: the provider could not tell (DIFF_UNKNOWN)
    replaces: list[str]
    stables: list[str]
    delete_before_replace: bool
    diffs: list[str]
    detailed: dict[str, str] = field(default_factory=dict)  # property path -> PropertyDiff kind name


def provider_value(provider: Any) -> str:
    """The ``__provider`` string a ``dynamic.Resource`` registers for this provider instance (the SDK's own code)."""
    return serialize_provider(provider)


def _struct(props: dict | None, unwrap_secrets: bool) -> struct_pb2.Struct:
    # serialize_properties is a coroutine; a private loop keeps this callable from any thread.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(engine_ready(props or {}, unwrap_secrets), {}))
    finally:
        loop.close()


def _props(struct: struct_pb2.Struct) -> dict:
    return plain(rpc.deserialize_properties(struct, keep_unknowns=True))


def _name_and_type(urn: str) -> dict:
    # urn:pulumi:<stack>::<project>::<qualified type>::<name>; the engine passes name and type alongside.
    parts = urn.split("::")
    if len(parts) < 4:
        raise ValueError(f"urn {urn!r} must look like urn:pulumi:<stack>::<project>::<type>::<name>")
    return {"urn": urn, "name": parts[-1], "type": parts[2].split("$")[-1]}


@dataclass(frozen=True)
class LogRecord:
    """One `Engine.Log` call as the engine receives it."""

    severity: int
    message: str
    urn: str
    ephemeral: bool
    at: float  # time.monotonic() when it arrived


class _EngineLog(engine_pb2_grpc.EngineServicer):
    """The engine's Log endpoint: records (severity, message, urn), and every request in full."""

    def __init__(self) -> None:
        self.records: list[tuple[int, str, str]] = []
        self.requests: list[LogRecord] = []
        self._lock = threading.Lock()

    def Log(self, request, context):
        with self._lock:
            self.records.append((request.severity, request.message, request.urn))
            self.requests.append(LogRecord(request.severity, request.message, request.urn, request.ephemeral,
                                           time.monotonic()))
        return empty_pb2.Empty()


class ProviderHost:
    """One running SDK provider host; use as a context manager (it never outlives the ``with`` block)."""

    def __init__(self, project_dir: str | os.PathLike | None = None, *, project: str | None = None,
                 env: dict[str, str] | None = None, config: dict[str, Any] | None = None,
                 max_workers: int | None = None, call_timeout: float | None = 300.0,
                 command: list[str] | None = None):
        # As the CLI does: the project named in the directory's Pulumi.yaml (else the harness's default).
        if project is None:
            named = project_dir is not None and (Path(project_dir) / "Pulumi.yaml").is_file()
            project = project_name(project_dir) if named and project_dir is not None else DEFAULT_PROJECT
        self.project = project
        self.config = dict(config or {})
        # gRPC deadline of short calls, so a wedged host fails a test instead of hanging; Create and Delete get the
        # resource's own build/delete timeouts on top (None: no deadline at all).
        self.call_timeout = call_timeout
        # The plugin to start, followed by the engine's address (default: the SDK's dynamic provider host).
        self.command = list(command) if command else [sys.executable, "-u", "-m", "pulumi.dynamic"]
        self._own_dir = project_dir is None
        self.project_dir = Path(tempfile.mkdtemp(prefix="pcimage-host-")) if project_dir is None else Path(project_dir)
        if self._own_dir:
            (self.project_dir / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n")
        self._env = dict(env or {})
        if max_workers is not None:
            self._env["PCIMAGE_HOST_WORKERS"] = str(max_workers)
        self._engine_log = _EngineLog()
        self._engine: grpc.Server | None = None
        self._channel: grpc.Channel | None = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self._pool = futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="provider-host-call")
        self._stderr = tempfile.TemporaryFile()
        self._stderr_after_close = ""
        self.process: subprocess.Popen[bytes] | None = None
        self._stdout: list[str] = []
        self.accepts_secrets = False  # the host's answers to Configure (3.272: both False)
        self.supports_preview = False
        self.handshook = False
        # Commands in flight (several stacks may share one host from several threads): a new process is started
        # only when none is, as the CLI's processes per command never cut off another command's calls.
        self._commands = 0
        self._commands_lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------------------------

    def __enter__(self) -> ProviderHost:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        if self._engine is None:
            self._engine = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
            engine_pb2_grpc.add_EngineServicer_to_server(self._engine_log, self._engine)
            engine_port = self._engine.add_insecure_port("127.0.0.1:0")
            self._engine.start()
            self.engine_address = f"127.0.0.1:{engine_port}"

        env = {**os.environ, "PULUMI_PROJECT": self.project, **self._env}
        # The host must import what this process imports (the provider's module, a test's own providers).
        paths = [p for p in sys.path if p and os.path.isdir(p)] + [env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        self.process = process = subprocess.Popen(
            [*self.command, self.engine_address],
            cwd=self.project_dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr)
        port = self._read_port(process)
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(self._channel).result(timeout=START_TIMEOUT)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        self._handshake_and_configure()

    def _read_port(self, process: subprocess.Popen[bytes]) -> int:
        lines: queue.Queue[bytes] = queue.Queue()
        stdout = process.stdout
        assert stdout is not None  # started with stdout=PIPE

        def drain() -> None:  # keep reading: a provider that prints must never fill the pipe and block the host
            for number, line in enumerate(iter(stdout.readline, b"")):
                lines.put(line)
                if number:  # not the port
                    self._stdout.append(line.decode(errors="replace"))
            lines.put(b"")
            stdout.close()

        threading.Thread(target=drain, name="provider-host-stdout", daemon=True).start()
        try:
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            raise HostError(None, f"provider host printed no port within {START_TIMEOUT:.0f}s; "
                                  f"stderr:\n{self.stderr_text()}") from None
        if not line.strip().isdigit():
            process.wait(timeout=5)
            raise HostError(None, f"provider host did not start (exit code {process.returncode}, "
                                  f"first stdout line {line!r}); stderr:\n{self.stderr_text()}")
        return int(line)

    def _handshake_and_configure(self) -> None:
        handshake = provider_pb2.ProviderHandshakeRequest(
            engine_address=self.engine_address, root_directory=str(self.project_dir),
            program_directory=str(self.project_dir))
        try:
            self._rpc("Handshake", handshake)
            handshook = True
        except HostError as exc:
            if exc.code != grpc.StatusCode.UNIMPLEMENTED:
                raise
            handshook = False  # the legacy protocol: Configure carries the protocol flags
        variables = {k: v if isinstance(v, str) else json.dumps(v) for k, v in self.config.items()}
        response = self._rpc("Configure", provider_pb2.ConfigureRequest(
            variables=variables, args=_struct(self.config, unwrap_secrets=False), acceptSecrets=True,
            acceptResources=True, sends_old_inputs=True, sends_old_inputs_to_delete=True))
        self.handshook = handshook
        self.accepts_secrets = response.acceptSecrets
        self.supports_preview = response.supportsPreview  # False: the engine never calls Create/Update in preview

    @contextlib.contextmanager
    def serving(self, served: object = None) -> Iterator[subprocess.Popen[bytes] | None]:
        """One CLI command on this host: when ``served`` (the process an earlier command of the caller used) is
        still running and no other command is in flight, a new process takes its place first. Yields the process
        the command uses."""
        with self._commands_lock:
            if served is not None and served is self.process and self._commands == 0:
                self.restart()
            self._commands += 1
            process = self.process
        try:
            yield process
        finally:
            with self._commands_lock:
                self._commands -= 1

    def restart(self) -> None:
        """A new provider process in place of this one, configured the same, as the CLI starts one per command
        (its `Engine` service, log records and stderr carry on)."""
        self._stop_process()
        self.start()

    def kill(self) -> None:
        """SIGKILL the host (a crashed or interrupted ``pulumi up``); idempotent."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _stop_process(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self._stop_process()
        if self._engine is not None:
            self._engine.stop(None)
            self._engine = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        if not self._stderr.closed:  # what the host wrote stays readable after the file is gone
            self._stderr_after_close = self.stderr_text()
            self._stderr.close()
        if self._own_dir:
            shutil.rmtree(self.project_dir, ignore_errors=True)

    # --- what the host tells us ----------------------------------------------------------------------------------

    @property
    def logs(self) -> list[tuple[int, str, str]]:
        """Messages the host sent to the engine's Log service: (severity, message, urn).

        pulumi 3.272's host never connects to the engine address, so provider logging lands in ``stderr_text()``.
        """
        return list(self._engine_log.records)

    @property
    def log_requests(self) -> list[LogRecord]:
        """Every `Engine.Log` request in full (with its `ephemeral` flag), in arrival order."""
        return list(self._engine_log.requests)

    def stdout_text(self) -> str:
        """What the host printed to stdout after its port (a provider's print() calls), in every process."""
        return "".join(self._stdout)

    def stderr_lines(self, offset: int = 0) -> tuple[list[str], int]:
        """The complete lines the host wrote to stderr from byte ``offset`` on, and the offset after the last of them:
        call it again with that offset, while the host runs, to follow its output (its logging) as it comes. A
        positional read: the file offset the host writes at is never moved."""
        data = self._stderr_bytes(offset)
        complete = data[:data.rfind(b"\n") + 1]
        return complete.decode(errors="replace").splitlines(), offset + len(complete)

    def stderr_text(self) -> str:
        return self._stderr_bytes(0).decode(errors="replace")

    def _stderr_bytes(self, offset: int) -> bytes:
        """What the host wrote to stderr from byte ``offset`` on. A positional read: the host's processes share the
        file's offset, so a seek here could make a running host write over what it wrote before."""
        if self._stderr.closed:
            return self._stderr_after_close.encode()[offset:]
        self._stderr.flush()
        fd = self._stderr.fileno()
        return os.pread(fd, max(0, os.fstat(fd).st_size - offset), offset)

    # --- the resource operations ----------------------------------------------------------------------------------

    def _rpc(self, method: str, request: Any, deadline: float | None = None) -> Any:
        if self._stub is None:
            raise HostError(None, "provider host is not running (use ProviderHost as a context manager)")
        try:
            return getattr(self._stub, method)(request, timeout=deadline or self.call_timeout)
        except grpc.RpcError as exc:
            raise _error(exc) from None

    def _s(self, props: dict | None) -> struct_pb2.Struct:
        return _struct(props, unwrap_secrets=not self.accepts_secrets)

    def check(self, urn: str, olds: dict, news: dict, *, seed: bytes | None = None) -> CheckResult:
        """`seed`: the engine draws a new random one for each resource in each run, unless `up --plan` replays
        the plan's (pkg/resource/deploy/step_generator.go)."""
        response = self._rpc("Check", provider_pb2.CheckRequest(
            olds=self._s(olds), news=self._s(news), randomSeed=os.urandom(32) if seed is None else seed,
            **_name_and_type(urn)))
        return CheckResult(_props(response.inputs), [(f.property, f.reason) for f in response.failures])

    def diff(self, id: str, urn: str, olds: dict, news: dict, *, old_inputs: dict | None = None,
             ignore_changes: Sequence[str] = ()) -> DiffResult:
        response = self._rpc("Diff", provider_pb2.DiffRequest(
            id=id, olds=self._s(olds), news=self._s(news), old_inputs=self._s(old_inputs),
            ignoreChanges=list(ignore_changes), **_name_and_type(urn)))
        changes = {provider_pb2.DiffResponse.DIFF_SOME: True, provider_pb2.DiffResponse.DIFF_NONE: False}
        return DiffResult(
            changes=changes.get(response.changes), replaces=list(response.replaces), stables=list(response.stables),
            delete_before_replace=response.deleteBeforeReplace, diffs=list(response.diffs),
            detailed={k: provider_pb2.PropertyDiff.Kind.Name(v.kind) for k, v in response.detailedDiff.items()})

    def _deadline(self, props: dict | None, *minutes: tuple[str, float]) -> float | None:
        """A long call's gRPC deadline follows the resource's own timeouts (a real build takes 30-90 minutes)."""
        if self.call_timeout is None:
            return None
        props = props or {}
        budget = sum(float(props.get(name) or default) * 60 for name, default in minutes)
        return max(self.call_timeout, budget + LONG_CALL_MARGIN)

    def create(self, urn: str, props: dict, timeout: float | None = None) -> tuple[str, dict]:
        # A failed build is also deleted before Create answers: both budgets.
        response = self._rpc("Create", provider_pb2.CreateRequest(
            properties=self._s(props), timeout=timeout or 0, **_name_and_type(urn)),
            self._deadline(props, ("build_timeout_minutes", 180), ("delete_timeout_minutes", 60)))
        return response.id, _props(response.properties)

    def read(self, id: str, urn: str, props: dict, *, inputs: dict | None = None) -> tuple[str, dict]:
        response = self._rpc("Read", provider_pb2.ReadRequest(
            id=id, properties=self._s(props), inputs=self._s(inputs), **_name_and_type(urn)))
        return response.id, _props(response.properties)

    def read_with_inputs(self, id: str, urn: str, props: dict, *, inputs: dict | None = None
                         ) -> tuple[str, dict, dict]:
        """Read, with the inputs the provider returns too: (id, outputs, inputs). An import or `get` sends only
        the id (no properties, no inputs); a package provider answers with the inputs to keep in the state."""
        response = self._rpc("Read", provider_pb2.ReadRequest(
            id=id, properties=self._s(props), inputs=self._s(inputs), **_name_and_type(urn)))
        return response.id, _props(response.properties), _props(response.inputs)

    def update(self, id: str, urn: str, olds: dict, news: dict, *, old_inputs: dict | None = None,
               timeout: float | None = None, ignore_changes: Sequence[str] = ()) -> dict:
        response = self._rpc("Update", provider_pb2.UpdateRequest(
            id=id, olds=self._s(olds), news=self._s(news), old_inputs=self._s(old_inputs), timeout=timeout or 0,
            ignoreChanges=list(ignore_changes), **_name_and_type(urn)))
        return _props(response.properties)

    def delete(self, id: str, urn: str, props: dict, *, old_inputs: dict | None = None,
               timeout: float | None = None) -> None:
        self._rpc("Delete", provider_pb2.DeleteRequest(
            id=id, properties=self._s(props), old_inputs=self._s(old_inputs), timeout=timeout or 0,
            **_name_and_type(urn)), self._deadline(props, ("delete_timeout_minutes", 60)))

    # --- what only a package provider answers -----------------------------------------------------------------

    def plugin_info(self) -> str:
        return self._rpc("GetPluginInfo", empty_pb2.Empty()).version

    def schema(self) -> dict:
        return json.loads(self._rpc("GetSchema", provider_pb2.GetSchemaRequest(version=0)).schema)

    def check_config(self, urn: str, olds: dict, news: dict) -> CheckResult:
        response = self._rpc("CheckConfig", provider_pb2.CheckRequest(
            olds=self._s(olds), news=self._s(news), **_name_and_type(urn)))
        return CheckResult(_props(response.inputs), [(f.property, f.reason) for f in response.failures])

    def invoke(self, token: str, args: dict) -> tuple[dict, list[tuple[str, str]]]:
        """(return value, failures) of a provider function."""
        response = self._rpc("Invoke", provider_pb2.InvokeRequest(tok=token, args=self._s(args)))
        return _props(getattr(response, "return")), [(f.property, f.reason) for f in response.failures]

    def cancel(self) -> None:
        """What the engine sends on Ctrl-C."""
        self._rpc("Cancel", empty_pb2.Empty())

    # Non-blocking variants (same arguments) for concurrency tests and benchmarks.
    def check_async(self, *args, **kwargs) -> futures.Future:
        return self._pool.submit(self.check, *args, **kwargs)

    def diff_async(self, *args, **kwargs) -> futures.Future:
        return self._pool.submit(self.diff, *args, **kwargs)

    def create_async(self, *args, **kwargs) -> futures.Future:
        return self._pool.submit(self.create, *args, **kwargs)

    def read_async(self, *args, **kwargs) -> futures.Future:
        return self._pool.submit(self.read, *args, **kwargs)

    def update_async(self, *args, **kwargs) -> futures.Future:
        return self._pool.submit(self.update, *args, **kwargs)

    def delete_async(self, *args, **kwargs) -> futures.Future:
        return self._pool.submit(self.delete, *args, **kwargs)
