"""The CustomImage lifecycle over plain values: check / diff / create / read / update / delete.

One core for every face: the Python dynamic provider (`provider.py`) adapts it to `pulumi.dynamic`, and a package
provider can adapt it to its own protocol. It knows no face: inputs and outputs are plain dicts (unknown values
are `pulumi.output.Unknown`), results are small dataclasses, errors are `PcImageError`s. It keeps nothing at
module level: what a provider process remembers between calls (clients, dry runs, adoptions, declared
generations) is a `HostState` the face owns and passes in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from pulumi.output import Unknown

from . import config, endpoint, identity, waiter
from .durations import duration
from .errors import (ApiError, AuthError, BadRequestError, BuildFailed, ConflictError, DeleteFailed, DeleteRefused,
                     DryrunSucceeded, EndpointNotConfigured, ImageClash, InternalServiceError, NotFoundError,
                     PcImageError, TransportError, UnknownOutcomeError)
from .fields import BY_NAME, INPUTS, OUTPUTS_ONLY, Field
from .walk import leaves

log = logging.getLogger("pulumi_pcimage")
PROVIDER_KEY = "__provider"  # the dynamic provider's own property: not an input of CustomImage
# Statuses of an image on its way out: refresh drops it, and the next `pulumi up` builds it again.
GOING = ("DELETE_IN_PROGRESS", "DELETE_COMPLETE")
# The status a partly created resource is kept with (a create that timed out or was cancelled): the next update
# resumes waiting for that build.
UNFINISHED = "BUILD_IN_PROGRESS"
LOG_TAIL_LINES = 20
# gRPC drops an error whose text passes 16 KB (the host answers RESOURCE_EXHAUSTED and the reason is lost).
LOG_LINE_CHARS = 300


@dataclass(frozen=True)
class Failure:
    """A check failure: the property it is about and why."""

    property: str
    reason: str


@dataclass
class Checked:
    inputs: dict[str, Any]
    failures: list[Failure] = field(default_factory=list)


@dataclass
class Plan:
    """What a change of inputs means: nothing, an update in place, or a replacement (and in which order)."""

    changes: bool
    replaces: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    # Where inside the image configuration it changed: "Build.InstanceType" -> "add" | "delete" | "update"
    # (filled when the configuration forces the replacement and both sides are mappings: a path never points into
    # YAML text, which changes as a whole).
    configuration_paths: dict[str, str] = field(default_factory=dict)


@dataclass
class Hooks:
    """What a face that can offer more than the dynamic host passes in (all optional; the defaults change nothing).

    - `progress(phase, described, elapsed)`: every describe answer while waiting (phase "build" or "delete").
    - `cancel`: once set, waits end within seconds (the engine's Cancel); the operation goes on server-side.
    - `create_timeout` / `delete_timeout`: seconds (the engine's customTimeouts), instead of the inputs' minutes.
    """

    progress: Callable[[str, dict | None, float], None] | None = None
    cancel: threading.Event | None = None
    create_timeout: float | None = None
    delete_timeout: float | None = None


# ---------------------------------------------------------------- settings, clients, outputs

def is_unknown(value: Any) -> bool:
    """Unknown during preview, wholly or anywhere inside (a list or mapping holding an unknown).

    Iterative: a hostile mapping nested thousands deep must reach config.load's clear refusal, not a RecursionError.
    """
    return any(isinstance(item, Unknown) for item in leaves(value))


def settings(props: dict) -> dict[str, Any]:
    """Every input field of `props`, defaults filled in and numbers normalised."""
    result = {}
    for f in INPUTS:
        value = props.get(f.name)
        result[f.name] = f.normalise(f.default if value is None else value)
    return result


def outputs(inputs: dict[str, Any], described: dict | None) -> dict[str, Any]:
    """The resource's outputs: its inputs (diff receives old outputs) plus what describe_image says.

    The single describe→outputs mapping, used by create, adoption, read and update alike.
    """
    outs = {f.name: v for f in INPUTS if (v := inputs.get(f.name)) is not None}
    if isinstance(described, dict) and described.get("region"):  # where the image really is, as the API says
        outs["region"] = described["region"]
    for f in OUTPUTS_ONLY:
        value: Any = described
        for key in f.source:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            outs[f.name] = value
    return outs


# A transient answer (429, 5xx, a dropped connection) must not fail an hour-long up or destroy: the provider's
# single calls (read, delete, reconcile) get twice the client's default attempts (~2 minutes of backoff).
HOST_MAX_ATTEMPTS = 16
# A preview's dry run is only advice: an unreachable API becomes a warning after a few seconds, not minutes.
DRYRUN_MAX_ATTEMPTS = 4


def make_client(api_url: str, *, region: str | None, profile: str | None, role_arn: str | None,
                max_attempts: int = HOST_MAX_ATTEMPTS) -> Any:
    from .client import ParallelClusterClient, RetryPolicy  # imported late: only the host talks to the API

    return ParallelClusterClient(api_url, region=region, profile=profile, role_arn=role_arn,
                                 retry=RetryPolicy(max_attempts=max_attempts))


# Inputs derived from others by check: never a reason for a change by themselves.
DERIVED = ("owner", "generation")


def _canonical_or_none(value: Any) -> str | None:
    if value is None or is_unknown(value):
        return None
    try:
        return config.canonical(value)
    except config.ConfigError:
        return None


def _same(f: Field, old: Any, new: Any) -> bool:
    if f.name == "image_configuration":
        old_c, new_c = _canonical_or_none(old), _canonical_or_none(new)
        return old == new if old_c is None or new_c is None else old_c == new_c
    return f.normalise(old) == f.normalise(new)


def _build_doc(s: dict, *, dryrun: bool = False) -> dict:
    """The configuration as sent to build_image: the user's, with this resource's owner and generation tags.

    A dry run carries a placeholder of the same length for the generation, so its answer can be cached."""
    doc = config.load(s["image_configuration"])
    generation = "0" * len(s["generation"] or "") if dryrun else s["generation"]
    return config.with_owner(doc, s["owner"], generation) if s["owner"] else doc


def _same_build(old: dict, new: dict) -> bool:
    """Would `old` (inputs in the state) and `new` (checked inputs) build the same image?"""
    if _canonical_or_none(old.get("image_configuration")) is None:
        return False
    old_region = old.get("region")
    # State written before regions were pinned holds None ("whatever the host resolved"): not a reason to rebuild.
    return _same(BY_NAME["image_configuration"], old.get("image_configuration"), new.get("image_configuration")) \
        and (old_region is None or old_region == new.get("region"))


class Redactor:
    """Keeps the values of a secret configuration out of messages: every string leaf of it becomes `***`."""

    MIN_CHARS = 3  # shorter values are no secret, and masking them would garble every sentence

    def __init__(self, s: dict):
        self.values: list[str] = []
        if s.get("secret_configuration") and isinstance(s.get("image_configuration"), (str, dict)):
            try:
                doc = config.load(s["image_configuration"])
            except config.ConfigError:
                doc = None
            found = leaves(doc) if doc is not None else ()
            words = [str(v) for v in found if v is not None and not isinstance(v, bool)]
            self.values = sorted({v for v in words if len(v) >= self.MIN_CHARS}, key=len, reverse=True)
            self.opaque = doc is None  # unparseable secret text: nothing of it may be quoted
        else:
            self.opaque = False

    @property
    def active(self) -> bool:
        return bool(self.values) or self.opaque

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, "***")
        return text


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
    `make_client`, the real one).
    """

    def __init__(self, make_client: Callable[..., Any] | None = None) -> None:
        self._make_client = make_client
        self._lock = threading.Lock()
        self._clients: dict[tuple, Any] = {}
        self._dryruns: dict[str, list[str]] = {}
        self._adopted: dict[tuple[str | None, str], str] = {}
        self._generations: dict[str, str] = {}

    def client(self, api_url: str, region: str | None, profile: str | None, role_arn: str | None,
               max_attempts: int = HOST_MAX_ATTEMPTS) -> Any:
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


class Lifecycle:
    """Every operation of a CustomImage. `stack_config`: the stack's config, the endpoint's last fallback (the
    program resolves api_url itself, so it is rarely needed)."""

    def __init__(self, stack_config: Any = None, hooks: Hooks | None = None, state: HostState | None = None):
        self.stack_config = stack_config
        self.hooks = hooks or Hooks()
        self.state = state if state is not None else HostState()

    # ------------------------------------------------------------ check

    def check(self, olds: dict[str, Any], news: dict[str, Any], seed: bytes = b"") -> Checked:
        """`seed`: the engine's random seed for this Check (the same for a preview and the `up --plan` that
        follows it); a new generation is derived from it, when given, so the plan holds."""
        failures: list[Failure] = []
        inputs: dict[str, Any] = {}
        for key in news:
            if key != PROVIDER_KEY and key not in BY_NAME:
                failures.append(Failure(key, f"unknown property {key!r}; CustomImage accepts "
                                                  f"{', '.join(f.name for f in INPUTS)}"))
        for f in INPUTS:
            value = news.get(f.name)
            if is_unknown(value):
                inputs[f.name] = value
                continue
            if value is None:
                if f.required:
                    failures.append(Failure(f.name, f"{f.name} is required: {f.description}"))
                if f.default is not None:
                    inputs[f.name] = f.normalise(f.default)
                continue
            value = f.normalise(value)
            failures += [Failure(f.name, reason) for reason in f.problems(value)]
            inputs[f.name] = value
        api_url = inputs.get("api_url")
        if isinstance(api_url, str):  # https only (loopback excepted), no credentials in it: state would keep them
            try:
                inputs["api_url"] = endpoint.normalize_api_url(api_url)
            except EndpointNotConfigured as exc:
                failures.append(Failure("api_url", str(exc)))
        if inputs.get("region") is None:
            failures.append(Failure("region", "the image's region could not be determined: pass region=..., "
                                                   "or set `pulumi config set aws:region <region>`, AWS_REGION or "
                                                   "AWS_DEFAULT_REGION"))
        failures += self._check_configuration(inputs)
        if not failures:
            failures += self._identity(olds, news, inputs, seed)
        if not failures and self._wants_dryrun(olds, inputs):
            failures += self._dryrun(settings(inputs))
        if not failures:
            self.state.note(inputs.get("owner"), inputs.get("generation"))
        return Checked(inputs, failures)

    @staticmethod
    def _identity(olds: dict, news: dict, inputs: dict, seed: bytes = b"") -> list[Failure]:
        """Owner, generation and (unless the user fixed it) image id: kept from the old inputs while the image
        would be built the same; derived afresh otherwise (the Pulumi autonaming way)."""
        if olds and olds.get("owner") and _same_build(olds, inputs):
            inputs["owner"], inputs["generation"] = olds["owner"], olds.get("generation") or ""
            if news.get("image_id") is None:
                inputs["image_id"] = olds.get("image_id")
            return []
        urn = news.get("owner")
        if is_unknown(urn):  # the owner stays unknown as check kept it, and so does the id derived from it
            inputs["image_id"] = urn
            return []
        if not isinstance(urn, str) or not urn.startswith(identity.URN_PREFIX):
            return [Failure("owner", "owner must be the resource's URN (CustomImage sets it)")]
        inputs["owner"] = identity.owner_marker(urn)
        # "Keeps otherwise": a replacement's own identity comes from its second Check, which has no old inputs.
        inputs["generation"] = (olds.get("generation") or "") if olds else identity.new_generation(seed)
        if news.get("image_id") is None:
            configuration, region = inputs.get("image_configuration"), inputs.get("region")
            if is_unknown(configuration) or is_unknown(region):
                inputs["image_id"] = Unknown()  # derived from both: unknown as a whole (a string, once known)
            else:
                assert configuration is not None and region is not None  # both required: check failed otherwise
                inputs["image_id"] = identity.derive_image_id(urn, configuration, region)
        return []

    def _check_configuration(self, inputs: dict) -> list[Failure]:
        value = inputs.get("image_configuration")
        if value is None or is_unknown(value):
            return []
        redact = Redactor(inputs)
        try:
            doc = config.load(value)
        except config.ConfigError as exc:
            reason = f"image_configuration {exc.public if redact.active else exc}"
            return [Failure("image_configuration", reason)]
        # Kept in the form given: text stays text, a mapping stays a mapping (a copy, our ownership tags never in
        # it). A face that reports paths into the configuration needs the mapping in the state: the engine walks
        # those paths through the inputs as objects, to show old and new values and to apply ignoreChanges.
        inputs["image_configuration"] = doc if isinstance(value, dict) else value
        region = inputs.get("region")
        # The property is the failure's own: the engine (and the harness) print it before the reason.
        return [Failure("image_configuration", redact(str(problem)))
                for problem in config.validate(doc, None if is_unknown(region) else region)]

    @staticmethod
    def _wants_dryrun(olds: dict, inputs: dict) -> bool:
        if not inputs.get("validate_on_preview") or any(is_unknown(v) for v in inputs.values()):
            return False
        return _canonical_or_none(olds.get("image_configuration")) != config.canonical(
            inputs["image_configuration"])

    def _dryrun(self, s: dict) -> list[Failure]:
        """Ask the API whether the build would be accepted; unreachable is a warning, not a failure."""
        try:
            api_url = self._api_url(s)
            doc_text = config.dump(_build_doc(s, dryrun=True))
        except EndpointNotConfigured as exc:
            log.warning("image %s: configuration not validated against the API: %s", s["image_id"], exc)
            return []
        key = hashlib.sha256(json.dumps(
            [api_url, s["region"], doc_text, s["suppress_validators"], s["validation_failure_level"]]
        ).encode()).hexdigest()
        cached = self.state.dryrun_answer(key)
        if cached is not None:
            return [Failure("image_configuration", reason) for reason in cached]
        client = self.state.client(api_url, None, s["aws_profile"], s["role_arn"], DRYRUN_MAX_ATTEMPTS)
        redact = Redactor(s)

        def dryrun(image_id: str) -> None:
            client.build_image(image_id, doc_text, suppress_validators=s["suppress_validators"] or None,
                               validation_failure_level=s["validation_failure_level"], dryrun=True,
                               rollback_on_failure=s["rollback_on_failure"], region=s["region"])

        try:
            try:
                dryrun(s["image_id"])
            except ConflictError:
                # AWS checks that the id is free before it validates anything: the 409 says nothing about the
                # configuration. A dry run creates nothing, so validate it under a throwaway id.
                dryrun(identity.dryrun_image_id())
            reasons: list[str] = []  # 202 to a dry run is odd but means "accepted"
        except DryrunSucceeded as exc:
            reasons = []
            _log_validation_messages(s["image_id"], exc.body, redact)
        except BadRequestError as exc:
            # The API lists every finding: those below validation_failure_level are notes, not why it failed.
            failing = [e for e in exc.validation_errors if _at_least(e.get("level"), s["validation_failure_level"])]
            notes = [e for e in exc.validation_errors if e not in failing]
            _log_validation_messages(s["image_id"], {"validationMessages": notes}, redact)
            reasons = [redact(f"{e.get('type', 'validation')} ({e.get('level', 'ERROR')}): {e.get('message')}")
                       for e in failing] or [redact(f"the API rejected the configuration: {exc.message}")]
        except AuthError as exc:  # no credentials, a wrong stage, the wrong signing region: `up` would fail too
            return [Failure("api_url", redact(f"the API refused the dry run of image {s['image_id']}: {exc}"))]
        except (ApiError, TransportError) as exc:  # unreachable, throttled, 5xx: uncertain, and not the config's fault
            log.warning("image %s: could not validate the configuration against the API (%s); "
                        "`pulumi up` will report any problem when it builds", s["image_id"], redact(str(exc)))
            return []
        self.state.remember_dryrun(key, reasons)
        return [Failure("image_configuration", reason) for reason in reasons]

    # ------------------------------------------------------------ diff

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> Plan:
        replaces: list[str] = []
        changed: list[str] = []
        for f in INPUTS:
            if f.name in DERIVED:
                continue
            old, new = olds.get(f.name), news.get(f.name)
            old = f.default if old is None else old
            new = f.default if new is None else new
            if not is_unknown(new) and _same(f, old, new):
                continue
            if f.name == "region" and old is None:  # state from before regions were pinned: pin it in place
                changed.append(f.name)
                continue
            (replaces if f.replaces else changed).append(f.name)
        # A refresh found the image unusable (failed, deletion failed, AMI gone): only a rebuild helps. A build
        # a create stopped waiting for is resumed in place (see update).
        replaces += [name for name in _unusable(olds) if name not in replaces]
        if olds.get("image_build_status") == UNFINISHED and not replaces:
            changed.append("image_build_status")
        # A derived id changes whenever the configuration or region does; an unchanged id cannot exist twice,
        # so the old image must go first.
        old_id, new_id = olds.get("image_id"), news.get("image_id")
        delete_first = bool(replaces) and not is_unknown(new_id) and old_id == new_id
        old_doc, new_doc = olds.get("image_configuration"), news.get("image_configuration")
        paths = configuration_changes(old_doc, new_doc) \
            if "image_configuration" in replaces and isinstance(old_doc, dict) and isinstance(new_doc, dict) else {}
        return Plan(bool(replaces or changed), replaces, changed, delete_first, paths)

    # ------------------------------------------------------------ create

    def create(self, props: dict[str, Any], *, resume: bool = False) -> tuple[str, dict[str, Any]]:
        """Build the image and wait for it. `resume`: this resource's own build was started by an earlier create
        that stopped waiting (kept as partly created): adopt it whatever its generation, or build it again."""
        s = settings(props)
        image_id = s["image_id"]
        if self.hooks.cancel is not None and self.hooks.cancel.is_set():
            raise BuildFailed(f"image {image_id!r}: not built: the operation was cancelled before the build was "
                              "requested")
        client = self._client(s)
        doc = _build_doc(s)
        described = self._build(client, s, doc, started_here=resume)
        if described is None:
            described = self._await_build(client, s)
        return image_id, outputs(s, described)

    def _build(self, client: Any, s: dict, doc: dict, *, attempts: int = 4,
               started_here: bool = False) -> dict | None:
        """Start the build; returns a final describe answer when an existing image was adopted as complete."""
        image_id = s["image_id"]
        try:
            answer = client.build_image(
                image_id, config.dump(doc), suppress_validators=s["suppress_validators"] or None,
                validation_failure_level=s["validation_failure_level"],
                rollback_on_failure=s["rollback_on_failure"], region=s["region"])
        # A 5xx (API Gateway's 502/504 included) may come after the Lambda started the build: outcome unknown too.
        except (ConflictError, UnknownOutcomeError, InternalServiceError) as exc:
            unknown = not isinstance(exc, ConflictError)
            log.info("image %s: %s; reconciling with what exists", image_id,
                     "the build request's outcome is unknown" if unknown else "the id exists")
            return self._reconcile(client, s, doc, exc, attempts, started_here or unknown)
        _log_validation_messages(image_id, answer, Redactor(s))
        log.info("image %s: build started", image_id)
        return None

    def _reconcile(self, client: Any, s: dict, doc: dict, cause: Exception, attempts: int,
                   started_here: bool) -> dict | None:
        """Adopt the image already holding the id, or explain why not (409, or a POST with unknown outcome)."""
        image_id = s["image_id"]
        try:
            current = client.describe_image(image_id, region=s["region"])
        except NotFoundError:
            if attempts <= 1:
                raise cause from None
            return self._build(client, s, doc, attempts=attempts - 1, started_here=started_here)
        existing = self._fetch_configuration(current, self._api_url(s))
        found = identity.Existing(
            same_configuration=None if existing is None else config.canonical(config.without_owner(existing))
            == config.canonical(config.without_owner(doc)),
            owner=config.owner_of(existing) if existing is not None else None,
            generation=config.tag_of(existing, config.GENERATION_TAG) if existing is not None else None)
        status = current.get("imageBuildStatus")
        verdict = identity.adoption(found, owner=s["owner"], generation=s["generation"],
                                    adopt_existing=s["adopt_existing"], started_here=started_here)
        if verdict != identity.ADOPT:
            raise ImageClash(_refusal(verdict, image_id, status, found))
        own_build = started_here and (found.generation or "") == (s["generation"] or "")
        log.info("image %s: adopting the existing image (%s)%s", image_id, status,
                 "" if own_build else ", built by an earlier run of this resource" if found.owner == s["owner"]
                 else " (adopt_existing=true)")
        if status == "BUILD_COMPLETE":
            if not own_build:
                self.state.adopted(s["region"], image_id, s["generation"] or "")
            return current
        if status == "BUILD_IN_PROGRESS":
            return None  # the caller waits for it
        if status in ("BUILD_FAILED", "DELETE_IN_PROGRESS") and attempts > 1:
            log.info("image %s: removing the %s image before building again", image_id, status)
            self._delete_and_wait(client, s, image_id, timeout=s["delete_timeout_minutes"] * 60, case=CLEANUP)
            return self._build(client, s, doc, attempts=attempts - 1, started_here=started_here)
        raise ImageClash(f"image {image_id!r} exists in state {status} ({_reasons_of(current) or 'no reason given'}) "
                         f"and cannot be adopted; delete it (pcluster delete-image --image-id {image_id}) and "
                         "run `pulumi up` again")

    @staticmethod
    def _fetch_configuration(current: dict, api_url: str | None = None) -> dict | None:
        """The configuration an existing image was built from (its presigned URL), or None if unavailable."""
        from .client import fetch_presigned_configuration  # https S3, the API's host or loopback; capped

        text = fetch_presigned_configuration((current.get("imageConfiguration") or {}).get("url"), api_url=api_url)
        if text is None:  # refused, unreachable, too large or too slow: fetch_presigned_configuration warned
            return None
        try:
            return config.load(text)
        except config.ConfigError as exc:
            log.warning("could not read the existing image's configuration: %s", exc)
            return None

    def _observed(self, phase: str, poll: Callable[[], dict]) -> Callable[[], dict]:
        """`poll`, with each answer shown to the progress hook (if any)."""
        progress = self.hooks.progress
        if progress is None:
            return poll
        start = time.monotonic()

        def observed() -> dict:
            answer = poll()
            progress(phase, answer, time.monotonic() - start)
            return answer

        return observed

    def _await_build(self, client: Any, s: dict) -> dict:
        image_id = s["image_id"]
        timeout = self.hooks.create_timeout or s["build_timeout_minutes"] * 60
        limit = (f"the create timeout ({duration(timeout)}, customTimeouts)" if self.hooks.create_timeout
                 else f"build_timeout_minutes={s['build_timeout_minutes']:g}")
        later = (" The build continues server-side; the next `pulumi up` finds it, adopts it (it carries this "
                 "resource's ownership tag) and waits for it. To stop it instead: "
                 f"pcluster delete-image --image-id {image_id}")
        try:
            outcome = waiter.wait(self._observed("build", lambda: client.describe_image(image_id, region=s["region"])),
                                  waiter.BUILD, timeout=timeout, what=f"image {image_id} build",
                                  cancel=self.hooks.cancel)
        except waiter.WaitTimeout as exc:
            raise BuildFailed(f"image {image_id!r} was still {exc.last_status or 'building'} after {limit}.{later}",
                              outputs(s, {"imageBuildStatus": exc.last_status or UNFINISHED})) from None
        except waiter.Cancelled as exc:
            raise BuildFailed(f"image {image_id!r}: stopped waiting after {duration(exc.elapsed)} "
                              f"(cancelled; it was {exc.last_status or 'building'}).{later}",
                              outputs(s, {"imageBuildStatus": exc.last_status or UNFINISHED})) from None
        if outcome.state == "success":
            assert outcome.response is not None  # BUILD succeeds only on a describe answer (BUILD_COMPLETE)
            return outcome.response
        report, kept = self._failure_report(client, s, outcome)
        raise BuildFailed(report, outputs(s, outcome.response) if kept else None)

    def _failure_report(self, client: Any, s: dict, outcome: waiter.Outcome) -> tuple[str, bool]:
        """Why the build failed and what was cleaned up; and whether the image still exists."""
        image_id = s["image_id"]
        if outcome.response is None:
            return (f"image {image_id!r} disappeared while building (deleted out of band?); "
                    "the next `pulumi up` builds it again"), False
        reasons = self._why_failed(client, s, outcome.response)
        kept = True
        if outcome.status != "BUILD_FAILED":
            cleanup = f"the image is now {outcome.status}; nothing was cleaned up"
        elif s["keep_failed_image"]:
            cleanup = ("the failed image was kept for inspection (keep_failed_image=true); the next `pulumi up` "
                       f"deletes it and builds again, or delete it yourself: pcluster delete-image --image-id "
                       f"{image_id}")
        else:
            try:
                self._delete_and_wait(client, s, image_id, timeout=s["delete_timeout_minutes"] * 60,
                                      case=CLEANUP)
                cleanup, kept = "the failed image was deleted, so the next `pulumi up` builds it again", False
            except DeleteRefused as exc:  # says what to do
                cleanup = f"deleting the failed image also failed: {exc}"
            except PcImageError as exc:  # ApiError included
                cleanup = f"deleting the failed image also failed ({exc}); delete it before the next `pulumi up`"
        details = "\n".join(f"  - {r}" for r in reasons) or "  - (the API gave no reason)"
        return f"image {image_id!r} build failed ({outcome.status}):\n{details}\n{cleanup}", kept

    def _why_failed(self, client: Any, s: dict, described: dict) -> list[str]:
        """Everything that says why a build failed; each source is best-effort."""
        image_id, region = s["image_id"], s["region"]
        reasons = [_reasons_of(described)] if _reasons_of(described) else []
        try:
            events = client.get_image_stack_events(image_id, region=region).get("events") or []
            reasons += [f"{e.get('logicalResourceId')} {e.get('resourceStatus')}: {e.get('resourceStatusReason')}"
                        for e in events if str(e.get("resourceStatus", "")).endswith("_FAILED")
                        and e.get("resourceStatusReason")][:5]
        except (ApiError, TransportError) as exc:
            log.debug("no stack events for %s: %s", image_id, exc)
        try:
            streams = client.list_image_log_streams(image_id, region=region).get("logStreams") or []
            if streams:
                newest = max(streams, key=lambda st: str(st.get("lastEventTimestamp") or ""))
                events = client.get_image_log_events(image_id, newest["logStreamName"], region=region,
                                                     limit=LOG_TAIL_LINES)
                lines = [_shorten(str(e.get("message", "")).rstrip(), LOG_LINE_CHARS)
                         for e in events.get("events") or []]
                if lines:
                    reasons.append(f"build log {newest['logStreamName']} (last lines):\n      "
                                   + "\n      ".join(lines[-LOG_TAIL_LINES:]))
        except (ApiError, TransportError, KeyError) as exc:
            log.debug("no build log for %s: %s", image_id, exc)
        return reasons

    # ------------------------------------------------------------ read, update

    def read(self, id_: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(id, outputs), or ("", {}) once the image is gone (or going): the engine drops it from the state."""
        s = settings(props)
        try:
            described = self._client(s).describe_image(id_, region=s["region"])
        except NotFoundError:
            log.info("image %s no longer exists; removing it from the state", id_)
            return "", {}
        status = described.get("imageBuildStatus")
        if status in GOING:  # someone is deleting it: keeping it would plan nothing while it disappears
            log.info("image %s is being deleted (%s); removing it from the state", id_, status)
            return "", {}
        result = outputs({**s, "image_id": id_}, described)
        if _unusable(result):  # kept, with what is wrong: the next preview plans its rebuild (see diff)
            log.warning("image %s is %s%s: the next `pulumi up` deletes and rebuilds it", id_, status,
                        "" if result.get("ami_id") else " with no AMI")
        return id_, result

    def read_existing(self, id_: str, props: dict[str, Any], urn: str) -> tuple[str, dict, dict]:
        """Import (`pulumi import`, `get`): (id, inputs, outputs) of an existing image, with the inputs the program
        would declare for it (its configuration without our tags, its region), so the next preview is a no-op.
        `props`: settings (api_url, region, credentials) to find it with. ("", {}, {}) when there is none."""
        s = settings(props)
        try:
            described = self._client(s).describe_image(id_, region=s["region"])
        except NotFoundError:
            return "", {}, {}
        if described.get("imageBuildStatus") in GOING:
            return "", {}, {}
        doc = self._fetch_configuration(described)
        if doc is None:
            raise PcImageError(f"image {id_!r} cannot be imported: its configuration could not be read from "
                               "describe_image's imageConfiguration.url (see the warning above)")
        inputs = {name: value for name, value in s.items() if value is not None}
        inputs.update(image_configuration=config.dump(config.without_owner(doc)), image_id=id_,
                      region=described.get("region") or s["region"],
                      owner=config.owner_of(doc) or identity.owner_marker(urn),
                      generation=config.tag_of(doc, config.GENERATION_TAG) or "")
        return id_, inputs, outputs(inputs, described)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        # A partly created resource (its create stopped waiting): resume that build, now under the new options.
        if olds.get("image_build_status") == UNFINISHED:
            return self.create({**news, "image_id": id_}, resume=True)[1]
        # Only options change in place, and they matter only to later operations. But the image must still be
        # reachable through a new endpoint or identity: else refresh would drop it and destroy would leave it.
        s = settings(news)
        moved = [name for name in ("api_url", "aws_profile", "role_arn") if olds.get(name) != s[name]]
        if moved:
            self._verify_reachable(id_, s, moved)
        kept = {f.name: olds[f.name] for f in OUTPUTS_ONLY if olds.get(f.name) is not None}
        return {**outputs(s, None), **kept}

    def _verify_reachable(self, image_id: str, s: dict, moved: list[str]) -> None:
        changed = ", ".join(moved)
        try:
            self._client(s).describe_image(image_id, region=s["region"])
        except NotFoundError:
            raise PcImageError(
                f"image {image_id!r} cannot be found through the new {changed} (describe_image in {s['region']} "
                "answered 404); nothing was changed. Point the settings at the API and identity that manage this "
                "image, or replace the image on purpose by also changing its configuration or image_id.") from None
        except (ApiError, TransportError, EndpointNotConfigured) as exc:
            raise PcImageError(f"image {image_id!r} could not be checked through the new {changed}: {exc}; "
                               "nothing was changed") from None

    # ------------------------------------------------------------ delete

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        s = settings(props)
        adopter = self.state.adopter(s["region"], id_)
        if adopter is not None and adopter != (s["generation"] or ""):  # a replacement took the image over
            log.warning(
                "image %s: not deleted: its replacement has the same configuration and image id and took it over, "
                "so it is still in use by the stack. To build it anew under the same id, set "
                "delete_before_replace=True on the resource and replace it again (`pulumi up --replace <urn>`).", id_)
            return
        case = REPLACED if self.state.replaced(s["owner"], s["generation"]) else UNDECLARED
        self._delete_and_wait(self._client(s), s, id_,
                              timeout=self.hooks.delete_timeout or s["delete_timeout_minutes"] * 60, case=case)

    def _delete_and_wait(self, client: Any, s: dict, image_id: str, *, timeout: float, case: str) -> None:
        """Delete the image and wait until it is gone. `case`: whose delete it is (REPLACED, UNDECLARED, CLEANUP),
        which decides what a refusal advises."""
        region, start = s["region"], time.monotonic()
        again = "`pulumi destroy`" if case == UNDECLARED else "`pulumi up`"
        limit = (f"the delete timeout ({duration(timeout)}, customTimeouts)" if self.hooks.delete_timeout
                 else f"delete_timeout_minutes={s['delete_timeout_minutes']:g}")

        def left() -> float:
            return max(0.0, timeout - (time.monotonic() - start))

        def settle() -> None:
            try:
                waiter.wait(self._observed("build", lambda: client.describe_image(image_id, region=region)),
                            waiter.SETTLED, timeout=left(), what=f"image {image_id} build (before deleting it)",
                            cancel=self.hooks.cancel)
            except waiter.Cancelled:
                raise DeleteFailed(f"image {image_id!r}: stopped waiting for its build to end (cancelled); "
                                   f"nothing was deleted. Run {again} again later.") from None
            except waiter.WaitTimeout as exc:
                raise DeleteFailed(f"image {image_id!r} is still building after {limit}; a build cannot be "
                                   "deleted while it runs. "
                                   f"Run {again} again later.") from exc

        try:
            if client.describe_image(image_id, region=region).get("imageBuildStatus") == "BUILD_IN_PROGRESS":
                settle()
        except NotFoundError:
            return
        for attempt in (1, 2):
            try:
                client.delete_image(image_id, region=region, force=s["force_delete"])
                break
            except NotFoundError:
                return
            except BadRequestError as exc:
                try:
                    building = client.describe_image(image_id, region=region).get(
                        "imageBuildStatus") == "BUILD_IN_PROGRESS"
                except NotFoundError:
                    return
                if building and attempt == 1:
                    settle()
                    continue
                raise DeleteRefused(_refused_delete(image_id, region, exc.message.rstrip(". "), s["force_delete"],
                                                    case)) from exc
        try:
            outcome = waiter.wait(self._observed("delete", lambda: client.describe_image(image_id, region=region)),
                                  waiter.DELETE, timeout=left(), what=f"image {image_id} deletion",
                                  cancel=self.hooks.cancel)
        except waiter.Cancelled:
            raise DeleteFailed(f"image {image_id!r}: stopped waiting (cancelled) after its deletion was accepted; "
                               "it goes on server-side: the next `pulumi refresh` or `pulumi destroy` "
                               "sees it gone") from None
        except waiter.WaitTimeout as exc:
            raise DeleteFailed(f"image {image_id!r} was still {exc.last_status} after {limit}; run the delete "
                               "again later") from exc
        if outcome.state == "failure":
            raise DeleteFailed(f"deleting image {image_id!r} failed ({outcome.status}): "
                               f"{_reasons_of(outcome.response) or 'no reason given'}")

    # ------------------------------------------------------------ helpers

    def _api_url(self, s: dict) -> str:
        return endpoint.resolve_api_url(s["api_url"], config=self.stack_config)

    def _client(self, s: dict) -> Any:
        # Signed for the API's own region (host name, else the session's): the image region is a query
        # parameter on every call, and may differ from where the API is deployed.
        return self.state.client(self._api_url(s), None, s["aws_profile"], s["role_arn"])


LEVELS = ("INFO", "WARNING", "ERROR")


def _at_least(level: Any, threshold: str) -> bool:
    """A finding of `level` fails a build whose validation_failure_level is `threshold` (unknown levels do)."""
    return level not in LEVELS or LEVELS.index(level) >= LEVELS.index(threshold)


def _log_validation_messages(image_id: str, body: Any, redact: Redactor) -> None:
    """Validator findings below validation_failure_level: worth a warning, not a failure."""
    messages = body.get("validationMessages") if isinstance(body, dict) else None
    for message in messages or []:
        log.warning("image %s: %s (%s): %s", image_id, message.get("type"), message.get("level"),
                    redact(str(message.get("message"))))


def configuration_changes(old: Any, new: Any) -> dict[str, str]:
    """Where two image configurations differ (our ownership tags aside), as property paths ("Build.InstanceType",
    "Build.Components[0]") -> "add" | "delete" | "update"; {} when either side is unknown or does not parse."""
    if _canonical_or_none(old) is None or _canonical_or_none(new) is None:
        return {}
    found: dict[str, str] = {}

    def walk(path: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                child = f"{path}.{key}" if path and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)) \
                    else f"{path}[{json.dumps(str(key))}]" if path else str(key)
                walk(child, a.get(key, _MISSING), b.get(key, _MISSING))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(f"{path}[{index}]", x, y)
        elif a is _MISSING:
            found[path] = "add"
        elif b is _MISSING:
            found[path] = "delete"
        elif a != b:
            found[path] = "update"

    walk("", config.without_owner(config.load(old)), config.without_owner(config.load(new)))
    return found


_MISSING = object()


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _reasons_of(described: dict | None) -> str:
    described = described or {}
    parts = [described.get("cloudformationStackStatusReason"), described.get("imagebuilderImageStatusReason")]
    return "; ".join(str(p) for p in parts if p)


def _refusal(verdict: str, image_id: str, status: str | None, found: identity.Existing) -> str:
    """Why the image holding the id is not adopted, and what to do."""
    if verdict == identity.REPLACED_GENERATION:
        return (f"image id {image_id!r} is held by the image this replacement would replace (status {status}); "
                "adopting it would let the engine delete it right after. To build it anew under the same id, set "
                "delete_before_replace=True on the resource (the old image is deleted first); or give the "
                "resource a new image_id.")
    if verdict == identity.PREVIOUS_CONFIGURATION:
        return (f"image id {image_id!r} holds this resource's image built from its previous configuration (status "
                f"{status}), and an id cannot exist twice: a configuration change of a fixed image_id must delete "
                "the old image before building the new one. Remove delete_before_replace=False (the provider asks "
                "for delete-before-replace), or choose a new image_id, or omit image_id to derive one.")
    if found.same_configuration is None:
        what = "its configuration could not be read"
    elif not found.same_configuration:
        what = "it was built from a different configuration"
    else:
        what = f"it was built by {found.owner!r}" if found.owner else "it was not built by this resource"
    adopt = ("set adopt_existing=True to take it over as it is; " if found.same_configuration else
             "adopt_existing=True only takes over an image built from the same configuration; ")
    return (f"image id {image_id!r} is already taken (status {status}) and {what}. Choices: {adopt}choose another "
            "image_id (or omit image_id to derive a unique one); or delete the existing image (pcluster delete-image "
            f"--image-id {image_id}) and run `pulumi up` again.")


# Whose delete the API refused: what the advice can promise to work.
REPLACED = "replaced"  # the engine's Delete of an image a replacement left behind (now, or retried by a later run)
UNDECLARED = "undeclared"  # the engine's Delete of a resource this run does not declare: destroy, or left the program
CLEANUP = "cleanup"  # the provider's own, inside a Create: a failed or half-deleted image in the way of the build


def _refused_delete(image_id: str, region: str | None, reason: str, forced: bool, case: str) -> str:
    """What to do when the API refuses a delete (an AMI in use or shared, mostly). The engine deletes a replaced
    image with the inputs it was built with, also on every retry, so only a resource's current image can be
    helped by setting force_delete; `pulumi state delete <urn>` is refused while a pending delete shares the URN."""
    head = f"the API refused to delete image {image_id!r}: {reason}."
    free = "Stop what uses the AMI (instances, launch templates, shares)"
    yourself = f"`pcluster delete-image --image-id {image_id}{f' --region {region}' if region else ''} --force true`"
    if case == REPLACED:
        head += " It is the image this resource had before a replacement"
        if forced:
            return f"{head}. {free} and run `pulumi up` again: the engine retries its delete."
        return (f"{head}, which the engine deletes with the inputs it was built with, also when a later `pulumi up` "
                f"retries: setting force_delete on the resource does not reach it. {free} and run `pulumi up` "
                f"again; or delete it whatever uses it, {yourself}, and run `pulumi up` again, which finds it "
                "gone.")
    if case == CLEANUP:
        if forced:
            return f"{head} {free} and run `pulumi up` again."
        return (f"{head} {free}, or set force_delete=True, or delete it whatever uses it ({yourself}); then run "
                "`pulumi up` again.")
    if forced:
        return f"{head} {free} and run `pulumi destroy` or `pulumi up` again."
    return (f"{head} {free} and run `pulumi destroy` or `pulumi up` again; or delete it whatever uses it, "
            f"{yourself}, and run the command again, which finds it gone. If the resource is still in your "
            "program, setting force_delete=True and running `pulumi up` lets the next `pulumi destroy` delete it "
            "anyway; not so an image it had before a replacement (the CLI shows its step as `deleting original`), "
            "which is deleted with the inputs it was built with.")


def _unusable(olds: dict) -> list[str]:
    """The outputs that say a refreshed image can no longer be used (empty when it can, or nobody looked)."""
    status = olds.get("image_build_status")
    if status is None or status == UNFINISHED:
        return []
    if status != "BUILD_COMPLETE":
        return ["image_build_status"]
    return [] if olds.get("ami_id") else ["ami_id"]
