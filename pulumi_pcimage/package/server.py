"""`pulumi-resource-pcimage`: the CustomImage lifecycle served as a Pulumi package provider (the second face).

A thin adapter over `lifecycle.Lifecycle`, like the dynamic face (`provider.py`); it adds only what the engine
offers real providers: camelCase properties from the schema, the URN and region resolved here (the dynamic face's
program does that), detailed diffs down to the configuration path, import, customTimeouts, a live status line per
resource (`Engine.Log`, ephemeral, with its URN), secrets kept secret, and Cancel.

Blocking lifecycle calls run on worker threads: builds on one pool (as many as `PCIMAGE_HOST_WORKERS`, default
64), check / diff / invoke on another, so a Check is answered while every build waits.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn
from collections.abc import Callable

import grpc
from google.protobuf import any_pb2
from pulumi.output import Unknown
from pulumi.provider.experimental import provider as p
from pulumi.provider.experimental import server as sdk_server
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.runtime import rpc
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2_grpc, status_pb2  # the SDK's google.rpc
from pulumi.runtime.proto import provider_pb2 as proto

from .. import endpoint, hostpool, waiter
from ..durations import duration
from ..errors import ArgumentError, EndpointNotConfigured, PartiallyCreated, PcImageError, ProviderError
from ..fields import BY_NAME
from ..walk import rebuild
from ..lifecycle import BuildFailed, Hooks, HostState, Lifecycle, log
from .schema import CONFIG_FIELDS, FROM_CONFIG, INVOKES, PACKAGE, VERSION, camel, schema_json, to_field

PROGRESS_SECONDS = 5.0  # the live status line changes at once on a new status, else at most this often
# Outputs that quote the configuration: secret when it is (ParallelCluster names the AMI after Image.Name).
QUOTE_CONFIGURATION = ("ami_name",)
_urn: contextvars.ContextVar[str] = contextvars.ContextVar("pcimage_urn", default="")


# ---------------------------------------------------------------- values: PropertyValue <-> plain

def plain(value: PropertyValue) -> Any:
    """A PropertyValue as the lifecycle's plain values (unknowns as `pulumi.output.Unknown`, secrets unwrapped)."""
    return rebuild(value, open=_content)


def _content(value: PropertyValue) -> Any:
    inner = value.value
    # The engine sends an unknown as rpc.UNKNOWN's string, which PropertyValue.unmarshal (3.272) keeps as a str.
    return Unknown() if isinstance(inner, Computed) or inner == rpc.UNKNOWN else inner


def wire(value: Any, secret: bool = False) -> PropertyValue:
    """Plain values as PropertyValues (numbers as floats, unknowns as the engine spells them); `secret` marks the
    whole value."""
    node = rebuild(value, _wire_leaf, mapping=lambda items: PropertyValue({str(k): v for k, v in items.items()}),
                   sequence=PropertyValue, containers=(dict, list, tuple))
    return PropertyValue(node.value, is_secret=True) if secret else node


def _wire_leaf(value: Any) -> PropertyValue:
    if isinstance(value, Unknown):  # as the engine spells it: PropertyValue.marshal (3.272) rejects Computed
        return PropertyValue(rpc.UNKNOWN)
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return PropertyValue(value)


def inputs_of(props: dict[str, PropertyValue]) -> tuple[dict[str, Any], set[str]]:
    """(snake_case plain values, names of the secret ones); unknown names are kept as sent, for check to name."""
    values, secret = {}, set()
    for key, value in props.items():
        f = to_field(key)
        name = f.name if f is not None else key
        values[name] = plain(value)
        if value.contains_secret():
            secret.add(name)
    return values, secret


def wire_map(values: dict[str, Any], secret: set[str]) -> dict[str, PropertyValue]:
    if "image_configuration" in secret:
        secret = secret | set(QUOTE_CONFIGURATION)
    return {camel(k) if k in BY_NAME else k: wire(v, k in secret) for k, v in values.items() if v is not None}


def camel_text(text: str) -> str:
    """A lifecycle message with the field names as this package spells them."""
    for name in sorted(BY_NAME, key=len, reverse=True):
        if "_" in name:
            text = text.replace(name, camel(name))
    return text


# ---------------------------------------------------------------- the engine's Log

class EngineLog:
    """Messages to the engine: attached to a resource by its URN; `ephemeral` ones are its live status line."""

    def __init__(self, address: str | None):
        self._stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(address)) if address else None

    def __call__(self, message: str, *, urn: str, severity: engine_pb2.LogSeverity.ValueType = engine_pb2.INFO,
                 ephemeral: bool = False) -> None:
        if self._stub is None:
            return
        try:
            self._stub.Log(engine_pb2.LogRequest(severity=severity, message=message, urn=urn, ephemeral=ephemeral),
                           timeout=10)
        except grpc.RpcError:  # a lost message must never fail a build
            pass


class _ToEngine(logging.Handler):
    """The lifecycle's log lines, attached to the resource whose operation wrote them."""

    SEVERITY = {logging.DEBUG: engine_pb2.DEBUG, logging.INFO: engine_pb2.INFO, logging.WARNING: engine_pb2.WARNING}

    def __init__(self, engine: EngineLog):
        super().__init__(logging.INFO)
        self.engine = engine

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == waiter.log.name and record.levelno < logging.WARNING:
            return  # the live status line says it better
        severity = self.SEVERITY.get(record.levelno, engine_pb2.ERROR)
        self.engine(self.format(record), urn=_urn.get(), severity=severity)


class StatusLine:
    """The live status line of one resource while its image builds or is deleted."""

    def __init__(self, engine: EngineLog, urn: str, image_id: str | None,
                 monotonic: Callable[[], float] = time.monotonic):
        self.engine, self.urn, self.image_id, self._monotonic = engine, urn, image_id, monotonic
        self._shown: tuple | None = None  # (status, stage, when) of the line shown last

    def __call__(self, phase: str, described: dict | None, elapsed: float) -> None:
        status = (described or {}).get("imageBuildStatus")
        stage = (described or {}).get("imagebuilderImageStatus")
        now = self._monotonic()
        if self._shown is not None and self._shown[:2] == (status, stage) and now - self._shown[2] < PROGRESS_SECONDS:
            return
        self._shown = (status, stage, now)
        doing = "building" if phase == "build" else "deleting"
        text = f"{doing} image {self.image_id}: {status or 'not found'}, {duration(elapsed)} elapsed"
        self.engine(text + (f", Image Builder: {stage}" if stage else ""), urn=self.urn, ephemeral=True)


# ---------------------------------------------------------------- the provider

class PcImageProvider(p.Provider):
    def __init__(self, engine_address: str | None = None, state: HostState | None = None):
        self.settings: dict[str, str] = {}  # the provider configuration (camelCase keys)
        self.secret_settings: set[str] = set()  # which of them are secrets: so are the inputs they fill
        self.cancelled = threading.Event()
        self._api_urls: dict[tuple, str] = {}
        # what this process remembers: clients, dry runs, adoptions, declared generations
        self.state = state or HostState()
        self._lock = threading.Lock()
        self.engine = EngineLog(engine_address)
        log.addHandler(_ToEngine(self.engine))  # logging's default format: the message alone
        log.setLevel(logging.INFO)
        workers = hostpool.configured_workers() or hostpool.NO_CEILING  # a thread per operation in flight
        self._long = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pcimage-operation")
        self._quick = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pcimage-check")

    async def _run(self, pool: ThreadPoolExecutor, urn: str, fn: Callable[..., Any], *args: Any) -> Any:
        context = contextvars.copy_context()
        context.run(_urn.set, urn)

        def call() -> Any:
            try:
                return context.run(fn, *args)
            except ProviderError:
                raise
            except PcImageError as exc:  # the lifecycle's advice, with the property names this package uses
                raise ProviderError(camel_text(str(exc))) from None

        return await asyncio.get_running_loop().run_in_executor(pool, call)

    def _core(self, hooks: Hooks | None = None) -> Lifecycle:
        stack_config = {f"{endpoint.NAMESPACE}:{key}": value for key, value in self.settings.items()}
        return Lifecycle(stack_config, hooks, self.state)

    # ------------------------------------------------------------ schema and configuration

    async def get_schema(self, request: p.GetSchemaRequest) -> p.GetSchemaResponse:
        return p.GetSchemaResponse(schema=schema_json())

    async def check_config(self, request: p.CheckRequest) -> p.CheckResponse:
        # No setting's value is quoted: the engine sends CheckConfig every value in plain text, secrets unmarked
        # (a plugin declares that it accepts secrets only in Configure, which comes later), so any value may be one.
        failures = []
        for key, value in request.new_inputs.items():
            if key == "version":  # the engine adds the plugin version
                continue
            if key not in CONFIG_FIELDS:
                failures.append(p.CheckFailure(key, f"unknown setting {key!r} of provider {PACKAGE}; it accepts "
                                                    f"{', '.join(CONFIG_FIELDS)}"))
                continue
            given, field = plain(value), CONFIG_FIELDS[key]
            if isinstance(given, Unknown) or given is None:
                continue
            if not isinstance(given, str):
                failures.append(p.CheckFailure(key, f"{PACKAGE}:{key} must be a string, not a {_kind(given)}"))
                continue
            if field is None:
                continue
            reasons = [camel_text(reason).replace(camel(field), key, 1).replace(f" {given!r}", "")
                       for reason in BY_NAME[field].problems(given)]
            if field == "api_url" and not reasons:
                try:
                    endpoint.normalize_api_url(given, source=key)
                except EndpointNotConfigured as exc:
                    reasons.append(str(exc).replace(f" {given.strip()!r}", ""))
            failures += [p.CheckFailure(key, f"{PACKAGE}:{key}: {reason}") for reason in reasons]
        return p.CheckResponse(inputs=request.new_inputs, failures=failures)

    async def diff_config(self, request: p.DiffRequest) -> p.DiffResponse:
        # By the setting's own name (`apiUrl`, as `pulumi config` spells it), not the resource field's. A change
        # updates the provider in place (the engine configures a new instance), and resources pick it up in Check.
        old = {key: plain(value) for key, value in request.old_state.items()}
        new = {key: plain(value) for key, value in request.new_inputs.items()}
        changed = sorted(k for k in set(old) | set(new) if k != "version" and old.get(k) != new.get(k))
        return p.DiffResponse(changes=bool(changed), diffs=changed, detailed_diff={
            key: p.PropertyDiff(p.PropertyDiffKind.ADD if key not in old else p.PropertyDiffKind.DELETE
                                if key not in new else p.PropertyDiffKind.UPDATE, True) for key in changed})

    async def configure(self, request: p.ConfigureRequest) -> p.ConfigureResponse:
        settings, secret = {}, set()
        for key in CONFIG_FIELDS:
            value = request.args.get(key)
            # Older engines send only `variables`, keyed `<package>:config:<key>` (pulumi/pulumi providers/registry.go)
            given = plain(value) if value is not None else request.variables.get(f"{PACKAGE}:config:{key}")
            if isinstance(given, str) and given:
                settings[key] = given
                if value is not None and value.contains_secret():
                    secret.add(key)
        self.settings, self.secret_settings = settings, secret
        # No preview support: like the dynamic host, Create and Update are never called during preview.
        return p.ConfigureResponse(accept_secrets=True, supports_preview=False, accept_resources=True)

    async def cancel(self) -> None:
        self.cancelled.set()  # every wait ends within one poll; builds go on server-side

    # ------------------------------------------------------------ check, diff

    def _defaults(self, news: dict[str, Any], secret: set[str] | None = None) -> list[p.CheckFailure]:
        """Fill what the dynamic face's program resolves: api_url, region, credentials (from the provider's
        configuration and the environment). A value taken from a secret setting is added to `secret`.

        The stack's `aws:region` is not among them: the engine starts a plugin with its own package's
        configuration only (pulumi/pulumi pkg/host/host.go), so no other package's setting ever reaches it."""
        for name, key in FROM_CONFIG.items():
            if news.get(name) is None and self.settings.get(key):
                news[name] = self.settings[key]
                if key in self.secret_settings and secret is not None:
                    secret.add(name)
        url = news.get("api_url")
        if not isinstance(url, Unknown):
            try:
                news["api_url"] = endpoint.normalize_api_url(url) if url else self._default_api_url()
            except EndpointNotConfigured as exc:
                return [p.CheckFailure("apiUrl", str(exc).replace("pass api_url explicitly", "pass apiUrl"))]
        if news.get("region") is None:  # as the dynamic face's program: once the profile and the endpoint are known
            profile, api_url = news.get("aws_profile"), news.get("api_url")
            news["region"] = Unknown() if isinstance(profile, Unknown) or isinstance(api_url, Unknown) else (
                endpoint.default_region(profile) or endpoint.api_region(api_url or ""))
        return []

    def _default_api_url(self) -> str:
        """The provider's endpoint, resolved once per configuration (a stack's outputs cost an AWS call)."""
        key = tuple(sorted(self.settings.items()))
        with self._lock:
            if key not in self._api_urls:
                self._api_urls[key] = endpoint.resolve_api_url(None, config=self._core().stack_config)
            return self._api_urls[key]

    def _check(self, request: p.CheckRequest) -> p.CheckResponse:
        olds = inputs_of(request.old_inputs)[0]
        news, secret = inputs_of(request.new_inputs)
        # Never the user's: the core derives the generation, and the owner marker and image id from the URN.
        news.pop("generation", None)
        news["owner"] = request.urn
        news["secret_configuration"] = "image_configuration" in secret
        failures = self._defaults(news, secret)
        if failures:
            return p.CheckResponse(inputs=request.new_inputs, failures=failures)
        checked = self._core().check(olds, news, request.random_seed)
        return p.CheckResponse(
            inputs=wire_map(checked.inputs, secret),
            failures=[p.CheckFailure(camel(f.property) if f.property in BY_NAME else f.property,
                                     _package_words(f.reason)) for f in checked.failures])

    async def check(self, request: p.CheckRequest) -> p.CheckResponse:
        return await self._run(self._quick, request.urn, self._check, request)

    def _diff(self, request: p.DiffRequest) -> p.DiffResponse:
        olds = inputs_of(request.old_state)[0]
        news = inputs_of(request.new_inputs)[0]
        plan = self._core().diff(request.resource_id, olds, news)
        detailed: dict[str, p.PropertyDiff] = {}
        kinds = {"add": "ADD", "delete": "DELETE", "update": "UPDATE"}
        for name in (*plan.replaces, *plan.updates):
            replace = "_REPLACE" if name in plan.replaces else ""
            paths = plan.configuration_paths if name == "image_configuration" else {}
            for path, kind in paths.items():
                key = f"{camel(name)}{path}" if path.startswith("[") else f"{camel(name)}.{path}"
                detailed[key] = p.PropertyDiff(p.PropertyDiffKind[kinds[kind] + replace], True)
            if not paths:
                # An output (the refreshed image's state) is no input: inputDiff=False has the engine show its old
                # value from the outputs (with True it looks in the inputs, finds nothing and shows nothing).
                output = BY_NAME[name].output_only
                kind = "update" if output else "add" if olds.get(name) is None \
                    else "delete" if news.get(name) is None else "update"
                detailed[camel(name)] = p.PropertyDiff(p.PropertyDiffKind[kinds[kind] + replace], not output)
        return p.DiffResponse(changes=plan.changes, replaces=[camel(n) for n in plan.replaces],
                              delete_before_replace=plan.delete_before_replace,
                              diffs=[camel(n) for n in (*plan.replaces, *plan.updates)], detailed_diff=detailed)

    async def diff(self, request: p.DiffRequest) -> p.DiffResponse:
        return await self._run(self._quick, request.urn, self._diff, request)

    # ------------------------------------------------------------ create, read, update, delete

    def _hooks(self, urn: str, image_id: str | None, *, create: float | None = None,
               delete: float | None = None) -> Hooks:
        # The engine's timeout 0 means the user set no customTimeouts: the inputs' minutes apply.
        return Hooks(progress=StatusLine(self.engine, urn, image_id, self.state.clock.monotonic), cancel=self.cancelled,
                     create_timeout=create or None, delete_timeout=delete or None)

    @staticmethod
    def _props(values: dict[str, PropertyValue]) -> tuple[dict[str, Any], set[str]]:
        props, secret = inputs_of(values)
        props["secret_configuration"] = bool(props.get("secret_configuration")) or "image_configuration" in secret
        return props, secret

    def _create(self, request: p.CreateRequest) -> p.CreateResponse:
        props, secret = self._props(request.properties)
        start = self.state.clock.monotonic()
        core = self._core(self._hooks(request.urn, props.get("image_id"), create=request.timeout))
        try:
            image_id, outs = core.create(props)
        except BuildFailed as exc:
            raise self._partly(exc, props.get("image_id"), secret) from None
        self.engine(f"image {image_id} ready after {duration(self.state.clock.monotonic() - start)}: "
                    f"{outs.get('ami_id') or 'no AMI id'} ({outs.get('image_build_status')})", urn=request.urn)
        return p.CreateResponse(resource_id=image_id, properties=wire_map(outs, secret))

    async def create(self, request: p.CreateRequest) -> p.CreateResponse:
        return await self._run(self._long, request.urn, self._create, request)

    def _read(self, request: p.ReadRequest) -> p.ReadResponse:
        if not request.inputs and not request.properties:  # `pulumi import` / `get`: only the id is known
            settings: dict[str, Any] = {}
            secret: set[str] = set()
            self._defaults(settings, secret)
            id_, inputs, outs = self._core().read_existing(request.resource_id, settings, request.urn)
            # The inputs a program would write for it (what `pulumi import` generates code from): the configuration
            # and the id; the region only where the provider would not resolve the same one. The rest (endpoint,
            # credentials, defaults) is the provider's, filled in by the next Check as for any resource. The
            # identity is kept (no input property of the schema: no code is generated for it).
            written = {key: inputs.get(key) for key in ("image_configuration", "owner", "generation")}
            written["image_id"] = id_
            if id_ and inputs.get("region") != settings.get("region"):
                written["region"] = inputs.get("region")
            return p.ReadResponse(resource_id=id_, properties=wire_map(outs, secret) if id_ else {},
                                  inputs=wire_map(written, set()) if id_ else {})
        props, secret = self._props(request.properties)
        id_, outs = self._core().read(request.resource_id, props)
        return p.ReadResponse(resource_id=id_, properties=wire_map(outs, secret) if id_ else {},
                              inputs=request.inputs if id_ else {})

    async def read(self, request: p.ReadRequest) -> p.ReadResponse:
        return await self._run(self._long, request.urn, self._read, request)

    def _update(self, request: p.UpdateRequest) -> p.UpdateResponse:
        olds, old_secret = self._props(request.olds)
        news, secret = self._props(request.news)
        core = self._core(self._hooks(request.urn, request.resource_id, create=request.timeout))
        try:
            outs = core.update(request.resource_id, olds, news)
        except BuildFailed as exc:  # resuming a partly created image's build
            raise self._partly(exc, request.resource_id, secret | old_secret) from None
        return p.UpdateResponse(properties=wire_map(outs, secret | old_secret))

    @staticmethod
    def _partly(exc: BuildFailed, image_id: str | None, secret: set[str]) -> ProviderError:
        """The error a failed create or update answers: a partial failure while the image exists."""
        message = camel_text(str(exc))
        if exc.outputs is None or not image_id:
            return ProviderError(message)
        return PartiallyCreated(message, image_id, wire_map(exc.outputs, secret))

    async def update(self, request: p.UpdateRequest) -> p.UpdateResponse:
        return await self._run(self._long, request.urn, self._update, request)

    def _delete(self, request: p.DeleteRequest) -> None:
        props, _ = self._props(request.properties)
        self._core(self._hooks(request.urn, request.resource_id, delete=request.timeout)).delete(
            request.resource_id, props)

    async def delete(self, request: p.DeleteRequest) -> None:
        await self._run(self._long, request.urn, self._delete, request)

    # ------------------------------------------------------------ functions

    def _invoke(self, request: p.InvokeRequest) -> p.InvokeResponse:
        invoke = INVOKES.get(request.tok)
        if invoke is None:
            return p.InvokeResponse(failures=[p.CheckFailure("", f"unknown function {request.tok!r}")])
        args = {key: plain(value) for key, value in request.args.items()}
        settings: dict[str, Any] = {}
        failures = self._defaults(settings)
        if failures:
            return p.InvokeResponse(failures=failures)
        # Wire values of any type (None when absent): the query checks each and names the one it refuses.
        values = {**invoke.arguments(args), "region": args.get("region") or settings.get("region")}
        try:
            invoke.query.check(values)
            # Signed as the program-side functions sign: for the default region, where the host name does not tell
            # the API's. The endpoint and the identity are the provider's, checked by CheckConfig.
            client = self.state.client(settings["api_url"], endpoint.default_region(), settings.get("aws_profile"),
                                       settings.get("role_arn"))
            answer = invoke.query.run(client, values)
        except ArgumentError as exc:  # the function and its argument as the schema names them
            return p.InvokeResponse(failures=[p.CheckFailure("", exc.said_as(invoke.name, invoke.names))])
        except (ValueError, PcImageError) as exc:  # the API's refusal, with the field names this package uses
            return p.InvokeResponse(failures=[p.CheckFailure("", camel_text(str(exc)))])
        if not invoke.query.many:
            return p.InvokeResponse(return_value=_result(answer))
        return p.InvokeResponse(return_value={"images": PropertyValue([PropertyValue(_result(i)) for i in answer])})

    async def invoke(self, request: p.InvokeRequest) -> p.InvokeResponse:
        return await self._run(self._quick, "", self._invoke, request)


def _kind(value: Any) -> str:
    return {bool: "boolean", float: "number", int: "number", list: "list", dict: "mapping"}.get(type(value), "value")


def _package_words(reason: str) -> str:
    """A lifecycle message as this package's users act on it: its property names, and its provider settings
    where the dynamic face's program reads the stack's (`aws:region` never reaches a plugin)."""
    return camel_text(reason).replace("`pulumi config set aws:region <region>`",
                                      f"`pulumi config set {PACKAGE}:region <region>`")


# ---------------------------------------------------------------- the gRPC server

class Servicer(sdk_server.ProviderServicer):
    """The SDK's experimental provider server (pulumi 3.272), where it loses what the engine reads:

    - Errors: any exception ends the call as "Unexpected <class 'Exception'>: <message>:" and a traceback; our own
      errors already say what happened and what to do. (Upstream: abort with the message of a known error type.)
    - DiffConfig: the SDK passes the Python bool as the `changes` enum, where True is DIFF_NONE (1): a changed
      setting would never reach a new provider instance. (Upstream: map it as `Diff` does.)
    - Create/Update: a partial failure needs an `ErrorResourceInitFailed` detail with the id and properties, or
      the image that exists is left out of the state. (Upstream: an exception type the server turns into it.)
    - Read: the SDK always sends `properties`; import treats only absent ones as "does not exist"
      (pkg/resource/deploy/step.go `ImportStep.Apply`), so a missing image would be imported as an empty one.
      (Upstream: leave them out when the provider returns no id.)"""

    _provider: PcImageProvider

    async def _answer(self, context: grpc.aio.ServicerContext, call: Any) -> Any:
        try:
            return await call
        except PartiallyCreated as exc:
            await _abort_partially(context, exc)
        except Exception as exc:  # noqa: BLE001 - every error ends the call with its message
            # The SDK's wrapper appends ":\n" and the traceback, empty for our own errors (ProviderError).
            text = str(exc)
            await context.abort(grpc.StatusCode.UNKNOWN, text[:-2] if text.endswith(":\n") else text)

    async def CheckConfig(self, request, context):  # noqa: N802 (gRPC method names)
        return await self._answer(context, super().CheckConfig(request, context))

    async def Configure(self, request, context):  # noqa: N802
        return await self._answer(context, super().Configure(request, context))

    async def Check(self, request, context):  # noqa: N802
        return await self._answer(context, super().Check(request, context))

    async def Diff(self, request, context):  # noqa: N802
        return await self._answer(context, super().Diff(request, context))

    async def Delete(self, request, context):  # noqa: N802
        return await self._answer(context, super().Delete(request, context))

    async def Invoke(self, request, context):  # noqa: N802
        return await self._answer(context, super().Invoke(request, context))

    async def DiffConfig(self, request, context):  # noqa: N802
        response = await self._answer(context, self._provider.diff_config(p.DiffRequest(
            request.urn, request.id, PropertyValue.unmarshal_map(request.olds),
            PropertyValue.unmarshal_map(request.news), list(request.ignoreChanges))))
        return proto.DiffResponse(
            changes=proto.DiffResponse.DIFF_SOME if response.changes else proto.DiffResponse.DIFF_NONE,
            diffs=response.diffs, hasDetailedDiff=True, detailedDiff={
                key: proto.PropertyDiff(kind=proto.PropertyDiff.Kind.Value(diff.kind.name), inputDiff=diff.input_diff)
                for key, diff in response.detailed_diff.items()})

    async def Create(self, request, context):  # noqa: N802
        response = await self._answer(context, self._provider.create(p.CreateRequest(
            request.urn, PropertyValue.unmarshal_map(request.properties), request.timeout, request.preview)))
        return proto.CreateResponse(id=response.resource_id, properties=PropertyValue.marshal_map(response.properties))

    async def Update(self, request, context):  # noqa: N802
        response = await self._answer(context, self._provider.update(p.UpdateRequest(
            request.urn, request.id, PropertyValue.unmarshal_map(request.olds),
            PropertyValue.unmarshal_map(request.news), timeout=request.timeout,
            ignore_changes=list(request.ignoreChanges), preview=request.preview)))
        return proto.UpdateResponse(properties=PropertyValue.marshal_map(response.properties))

    async def Read(self, request, context):  # noqa: N802
        response = await self._answer(context, super().Read(request, context))
        return response if response.id else proto.ReadResponse()


async def _abort_partially(context: grpc.aio.ServicerContext, exc: PartiallyCreated) -> NoReturn:
    """End the call as a partial failure (pulumi/pulumi provider_plugin.go `parseError`)."""
    detail = any_pb2.Any()
    detail.Pack(proto.ErrorResourceInitFailed(id=exc.image_id, properties=PropertyValue.marshal_map(exc.properties),
                                              reasons=[str(exc)]))
    status = status_pb2.Status(code=grpc.StatusCode.UNKNOWN.value[0], message=str(exc), details=[detail])
    await context.abort(grpc.StatusCode.UNKNOWN, str(exc),
                        trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),))
    raise AssertionError("abort raises")


def serve(args: list[str], provider: PcImageProvider) -> None:
    """Serve `provider` on a port of 127.0.0.1 and print the port, as the engine expects of a plugin."""
    engine = next((a for a in args if not a.startswith("-")), "")

    async def run() -> None:
        server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)  # the SDK's message size limits
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(
            Servicer(args, VERSION, provider, engine_address=engine), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        try:
            await server.wait_for_termination()
        finally:  # on SIGINT too: stopped in its loop, or grpc complains on stderr as the process ends
            await server.stop(None)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:  # the engine ends a plugin with SIGINT, then SIGKILL
        pass


def _result(item: Any) -> dict[str, PropertyValue]:
    return {camel(f.name): wire(getattr(item, f.name)) for f in dataclasses.fields(item)
            if getattr(item, f.name) is not None}


def main() -> None:
    """The plugin's entry point: `pulumi-resource-pcimage <engine-address>`, as the engine starts plugins."""
    args = sys.argv[1:]
    engine = next((a for a in args if not a.startswith("-")), None)
    serve(args, PcImageProvider(engine))

if __name__ == "__main__":
    main()
