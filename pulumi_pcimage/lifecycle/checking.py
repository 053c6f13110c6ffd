"""Check and diff: identity (owner, generation, image id), the configuration (the full ParallelCluster key and
type check), and the dry run against the API; what a change of inputs means."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pulumi.output import Unknown

from .. import config, endpoint, identity
from ..errors import (ApiError, AuthError, BadRequestError, ConflictError, DryrunSucceeded, EndpointNotConfigured,
                      TransportError)
from ..fields import BY_NAME, INPUTS
from .values import (Settings, log, PROVIDER_KEY, UNFINISHED, Failure, Checked, Plan, is_unknown, settings, DERIVED,
                     canonical_or_none, same_value, build_doc, same_build, unusable)
from .state import DRYRUN_MAX_ATTEMPTS
from .messages import Redactor, at_least, log_validation_messages
from .base import Base


class Checking(Base):
    """Check and diff, as the engine calls them on every preview and up."""

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
        if olds and olds.get("owner") and same_build(olds, inputs):
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
        redact = Redactor(inputs.get("secret_configuration"), value)
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
        return canonical_or_none(olds.get("image_configuration")) != config.canonical(
            inputs["image_configuration"])

    def _dryrun(self, s: Settings) -> list[Failure]:
        """Ask the API whether the build would be accepted; unreachable is a warning, not a failure."""
        try:
            api_url = self._api_url(s)
            doc_text = config.dump(build_doc(s, dryrun=True))
        except EndpointNotConfigured as exc:
            log.warning("image %s: configuration not validated against the API: %s", s.image_id, exc)
            return []
        key = hashlib.sha256(json.dumps(
            [api_url, s.region, doc_text, s.suppress_validators, s.validation_failure_level]
        ).encode()).hexdigest()
        cached = self.state.dryrun_answer(key)
        if cached is not None:
            return [Failure("image_configuration", reason) for reason in cached]
        client = self.state.client(api_url, None, s.aws_profile, s.role_arn, DRYRUN_MAX_ATTEMPTS)
        redact = Redactor(s.secret_configuration, s.image_configuration)

        def dryrun(image_id: str) -> None:
            client.build_image(image_id, doc_text, suppress_validators=s.suppress_validators or None,
                               validation_failure_level=s.validation_failure_level, dryrun=True,
                               rollback_on_failure=s.rollback_on_failure, region=s.region)

        try:
            try:
                dryrun(s.image_id)
            except ConflictError:
                # AWS checks that the id is free before it validates anything: the 409 says nothing about the
                # configuration. A dry run creates nothing, so validate it under a throwaway id.
                dryrun(identity.dryrun_image_id())
            reasons: list[str] = []  # 202 to a dry run is odd but means "accepted"
        except DryrunSucceeded as exc:
            reasons = []
            log_validation_messages(s.image_id, exc.body, redact)
        except BadRequestError as exc:
            # The API lists every finding: those below validation_failure_level are notes, not why it failed.
            failing = [e for e in exc.validation_errors if at_least(e.get("level"), s.validation_failure_level)]
            notes = [e for e in exc.validation_errors if e not in failing]
            log_validation_messages(s.image_id, {"validationMessages": notes}, redact)
            reasons = [redact(f"{e.get('type', 'validation')} ({e.get('level', 'ERROR')}): {e.get('message')}")
                       for e in failing] or [redact(f"the API rejected the configuration: {exc.message}")]
        except AuthError as exc:  # no credentials, a wrong stage, the wrong signing region: `up` would fail too
            return [Failure("api_url", redact(f"the API refused the dry run of image {s.image_id}: {exc}"))]
        except (ApiError, TransportError) as exc:  # unreachable, throttled, 5xx: uncertain, and not the config's fault
            log.warning("image %s: could not validate the configuration against the API (%s); "
                        "`pulumi up` will report any problem when it builds", s.image_id, redact(str(exc)))
            return []
        self.state.remember_dryrun(key, reasons)
        return [Failure("image_configuration", reason) for reason in reasons]

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> Plan:
        replaces: list[str] = []
        changed: list[str] = []
        for f in INPUTS:
            if f.name in DERIVED:
                continue
            old, new = olds.get(f.name), news.get(f.name)
            old = f.default if old is None else old
            new = f.default if new is None else new
            if not is_unknown(new) and same_value(f, old, new):
                continue
            if f.name == "region" and old is None:  # state from before regions were pinned: pin it in place
                changed.append(f.name)
                continue
            (replaces if f.replaces else changed).append(f.name)
        # A refresh found the image unusable (failed, deletion failed, AMI gone): only a rebuild helps. A build
        # a create stopped waiting for is resumed in place (see update).
        replaces += [name for name in unusable(olds) if name not in replaces]
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


def configuration_changes(old: Any, new: Any) -> dict[str, str]:
    """Where two image configurations differ (our ownership tags aside), as property paths ("Build.InstanceType",
    "Build.Components[0]") -> "add" | "delete" | "update"; {} when either side is unknown or does not parse."""
    if canonical_or_none(old) is None or canonical_or_none(new) is None:
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
