"""HTTP client for the ParallelCluster API: its operations, the call loop and typed errors. Who signs is
`signing` (SigV4 over boto3 credentials), when to try again is `retry` (one policy).

Methods mirror the API's operations and return its decoded JSON bodies unchanged (camelCase keys, enums as
strings), so a newer server's extra fields or states never break parsing here.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3.exceptions
import yaml
from botocore.exceptions import BotoCoreError, ClientError

from pulumi_pcimage import errors, redact
from pulumi_pcimage.endpoint import host_of, normalize_api_url
# The presigned fetch lives in its own module; its names stay importable from here, where they were first.
from pulumi_pcimage.presigned import (CONFIGURATION_FETCH_SECONDS, MAX_CONFIGURATION_BYTES,  # noqa: F401
                                      fetch_presigned_configuration, presigned_url_refusal)
# The retry decision and the signing live in modules of their own; their names stay importable from here too.
from pulumi_pcimage.retry import Answer, RetryPolicy, TransportFailure
from pulumi_pcimage.signing import (DEFAULT_SIGNING_REGION, ROLE_SESSION_NAME, SERVICE,  # noqa: F401
                                    LockedAuth, Signer, signing_region)

log = logging.getLogger(__name__)
redact.install()  # wherever the client runs, urllib3's and botocore's DEBUG records lose signatures and keys

# (connect, read) seconds. API Gateway ends every integration after 29 s, so an answer that takes longer never comes.
DEFAULT_TIMEOUT = (5.0, 35.0)
# Say that a request is being retried at most this often (seconds): visible, never a flood.
RETRY_NOTICE_SECONDS = 5.0
_SNIPPET = 200

MissingCredentialsError = errors.MissingCredentialsError  # where it was first declared; it lives in errors


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the failure happened while connecting, so the server cannot have seen the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)  # refused, unreachable, name not resolved


_TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def _transport_outcome(exc: requests.RequestException) -> TransportFailure:
    """What the retry policy needs to know about a request that got no answer."""
    return TransportFailure(never_sent=_never_sent(exc), timed_out=isinstance(exc, requests.Timeout),
                            permanent=_certificate_rejected(exc))


def _transport_reason(exc: requests.RequestException) -> str:
    """What went wrong, in words a user can act on."""
    text = str(exc)
    if isinstance(exc, requests.ConnectTimeout):
        return "the connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "the API accepted the connection but did not answer in time"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo failed" in text \
            or "Temporary failure in name resolution" in text:
        return "the host name does not resolve"
    if "Connection refused" in text:
        return "the connection was refused"
    return f"{type(exc).__name__}: {_snippet(text)}"


def _certificate_rejected(exc: requests.RequestException) -> bool:
    """The server's TLS certificate failed verification: permanent, and nothing was sent."""
    return isinstance(exc, requests.exceptions.SSLError) and "certificate verify failed" in str(exc).lower()


def _snippet(text: str) -> str:
    text = re.sub(r"<[^>]*>", " ", text)  # an HTML error page reads better as its text
    text = " ".join(text.split())
    text = redact.redact(text)  # presigned URLs, and the session token a signature mismatch quotes
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def auth_hint(message: str) -> str:
    """What to do about a 401/403, from API Gateway's or IAM's message."""
    low = message.lower()
    if "missing authentication token" in low:
        return ("check api_url: API Gateway gives this answer for a path or stage it does not have; use the "
                "invoke URL with its stage, e.g. https://<id>.execute-api.<region>.amazonaws.com/prod")
    if "signature" in low and "does not match" in low:
        return ("check the secret access key, and the signing region: it must be the API's own region "
                "(the one in its host name), not the images' region")
    if "scoped to a valid region" in low:
        return ("requests were signed for the wrong region: the signing region must be the API's own region, taken "
                "from its execute-api host name, else from the AWS profile or AWS_REGION; use the API's invoke URL "
                "or set AWS_REGION to the region the API is deployed in")
    if "expired" in low:
        return "refresh the AWS credentials (e.g. `aws sso login`), and check the system clock for skew"
    if "security token" in low and "invalid" in low:
        return "the access key or session token is not valid: refresh or replace the AWS credentials"
    if "not authorized" in low or "accessdenied" in low or "explicit deny" in low:
        return "the signing identity needs the IAM permission execute-api:Invoke on this API"
    return "check the AWS credentials used to sign requests and the IAM permission execute-api:Invoke"


def api_error(operation: str, response: requests.Response) -> errors.ApiError:
    """The typed error for a non-success answer, with the API's message (or a readable note on the body)."""
    status = response.status_code
    text = response.content.decode("utf-8", "replace")
    body: Any = text or None
    if not text.strip():
        message = f"{response.reason or 'error'} with an empty body"
    else:
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "unknown content type"
            message = f"{response.reason or 'error'}, non-JSON body ({kind}): {_snippet(text)}"
        else:
            found = (body.get("message") or body.get("Message")) if isinstance(body, dict) else None
            message = redact.redact(str(found)) if found else f"no message in body: {_snippet(text)}"
    cls = errors.error_class_for(status)
    if issubclass(cls, errors.AuthError):
        return cls(message, hint=auth_hint(message), status=status, body=body, operation=operation)
    return cls(message, status=status, body=body, operation=operation)


def redirect_error(operation: str, response: requests.Response) -> errors.RedirectRefused:
    """A 3xx is never followed: it names the target host (not its path or query, which may carry a signature)."""
    location = response.headers.get("Location")
    target = host_of(location, base=response.url) if location else None
    return errors.RedirectRefused(
        f"the API answered with a redirect to {target or 'nowhere (no Location header)'}; redirects are never "
        "followed, because the session token and the request body would go along. Set api_url to the API's own "
        "invoke URL (https://<id>.execute-api.<region>.amazonaws.com/<stage>)",
        status=response.status_code, operation=operation, location_host=target and urlsplit(target).hostname)


class _Redirected(errors.PcImageError):
    """A 3xx answer, raised from the session's response hook: requests parses the Location of a redirect it does
    not follow too, and a malformed one would raise a bare ValueError after the hook."""

    def __init__(self, response: requests.Response):
        super().__init__(response.status_code)
        self.response = response


def _refuse_redirect(response: requests.Response, **_: Any) -> None:
    if 300 <= response.status_code < 400:
        raise _Redirected(response)


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    return str(value)


def _query(**params: Any) -> list[tuple[str, str]]:
    """Query pairs in wire format: None omitted, lists repeated (explode=true), booleans true/false."""
    pairs = []
    for name, value in params.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is not None:
                pairs.append((name, _wire(item)))
    return pairs


def _unique(values: str | list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return list(dict.fromkeys([values] if isinstance(values, str) else values))  # the spec says uniqueItems


def _path(*segments: str) -> str:
    for segment in map(str, segments):
        # URLs drop '.' and '..' segments (requests normalises them away) and an empty one changes the route.
        if segment in ("", ".", ".."):
            raise ValueError(f"{segment!r} cannot be sent as an image id or log stream name: it is not a path "
                             "segment a URL can carry")
    return "/v3/images/" + "/".join(quote(str(s), safe="") for s in segments)


def _configuration_text(configuration: str | Mapping[str, Any]) -> str:
    """The API takes the image configuration as YAML text."""
    if isinstance(configuration, str):
        return configuration
    if isinstance(configuration, Mapping):
        return yaml.safe_dump(dict(configuration), sort_keys=False)
    raise TypeError(f"image_configuration must be YAML text or a mapping, not {type(configuration).__name__}")


class ParallelClusterClient:
    """The ParallelCluster REST API, signed with SigV4 for execute-api.

    Cheap to build (no credentials or connections until the first call) and safe to share between threads.
    """

    def __init__(self, api_url: str, *, region: str | None = None, profile: str | None = None,
                 role_arn: str | None = None, session: Any = None, retry: RetryPolicy | None = None,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        if session is not None and profile is not None:
            raise ValueError("pass either session or profile, not both: a boto3 Session already has its profile")
        if not (isinstance(timeout, tuple) and len(timeout) == 2 and all(t > 0 for t in timeout)):
            raise ValueError(f"timeout must be (connect_seconds, read_seconds), both positive, not {timeout!r}")
        self.api_url = normalize_api_url(api_url)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._region = region  # as given, for the repr; the signer also knows the session's
        self._signer = Signer(self.api_url, region=region, profile=profile, role_arn=role_arn, session=session)
        self._lock = threading.Lock()  # guards the time of the last retry notice
        self._local = threading.local()
        self._last_notice = float("-inf")

    def __repr__(self) -> str:
        return (f"ParallelClusterClient(api_url={self.api_url!r}, region={self._region!r}, "
                f"profile={self.profile!r}, role_arn={self.role_arn!r})")

    def __reduce__(self):
        raise TypeError("ParallelClusterClient holds credentials and connections and is not picklable: "
                        "keep plain settings on the provider and build the client lazily")

    # --- image operations ---------------------------------------------------------------------------

    def build_image(self, image_id: str, image_configuration: str | Mapping[str, Any], *,
                    suppress_validators: str | list[str] | None = None, validation_failure_level: str | None = None,
                    dryrun: bool | None = None, rollback_on_failure: bool | None = None,
                    region: str | None = None) -> dict[str, Any]:
        return self._call("build_image", "POST", _path("custom"), idempotent=False, params=self._query(
            region, suppressValidators=_unique(suppress_validators), validationFailureLevel=validation_failure_level,
            dryrun=dryrun, rollbackOnFailure=rollback_on_failure),
            json={"imageId": image_id, "imageConfiguration": _configuration_text(image_configuration)})

    def describe_image(self, image_id: str, *, region: str | None = None) -> dict[str, Any]:
        return self._call("describe_image", "GET", _path("custom", image_id), params=self._query(region))

    def delete_image(self, image_id: str, *, region: str | None = None, force: bool | None = None) -> dict[str, Any]:
        return self._call("delete_image", "DELETE", _path("custom", image_id),
                          params=self._query(region, force=force))

    def describe_official_images(self, *, region: str | None = None, os: str | None = None,
                                 architecture: str | None = None) -> dict[str, Any]:
        return self._call("describe_official_images", "GET", _path("official"),
                          params=self._query(region, os=os, architecture=architecture))

    def list_images(self, image_status: str, *, region: str | None = None,
                    next_token: str | None = None) -> dict[str, Any]:
        return self._call("list_images", "GET", _path("custom"), params=self._query(
            region, imageStatus=image_status, nextToken=next_token))

    def iter_images(self, image_status: str, *, region: str | None = None) -> Iterator[dict[str, Any]]:
        """Every image summary with this status, following nextToken across all pages."""
        seen: set[str] = set()
        token = None
        while True:
            page = self.list_images(image_status, region=region, next_token=token)
            yield from page.get("images") or []
            token = page.get("nextToken")
            if not token:
                return
            if token in seen:
                raise errors.UnexpectedResponseError(
                    f"nextToken {_snippet(token)!r} came back twice: the API's pagination loops",
                    body=page, operation="list_images")
            seen.add(token)

    # --- diagnostics ----------------------------------------------------------------------------------

    def get_image_stack_events(self, image_id: str, *, region: str | None = None,
                               next_token: str | None = None) -> dict[str, Any]:
        return self._call("get_image_stack_events", "GET", _path("custom", image_id, "stackevents"),
                          params=self._query(region, nextToken=next_token))

    def list_image_log_streams(self, image_id: str, *, region: str | None = None,
                               next_token: str | None = None) -> dict[str, Any]:
        return self._call("list_image_log_streams", "GET", _path("custom", image_id, "logstreams"),
                          params=self._query(region, nextToken=next_token))

    def get_image_log_events(self, image_id: str, log_stream_name: str, *, region: str | None = None,
                             next_token: str | None = None, start_from_head: bool | None = None,
                             limit: int | None = None, start_time: datetime | str | None = None,
                             end_time: datetime | str | None = None) -> dict[str, Any]:
        return self._call("get_image_log_events", "GET", _path("custom", image_id, "logstreams", log_stream_name),
                          params=self._query(region, nextToken=next_token,
                                        startFromHead=start_from_head, limit=limit,
                                        startTime=start_time, endTime=end_time))

    # --- the work -------------------------------------------------------------------------------------

    @property
    def profile(self) -> str | None:
        return self._signer.profile

    @property
    def role_arn(self) -> str | None:
        return self._signer.role_arn

    @property
    def region(self) -> str | None:
        """The default region of images: the one given, else the boto3 session's."""
        return self._signer.region

    @property
    def signing_region(self) -> str:
        return self._signer.signing_region

    def _query(self, region: str | None, **params: Any) -> list[tuple[str, str]]:
        """Wire-format query pairs; ``region`` defaults to the client's and is sent whenever known."""
        return _query(**params, region=region or self.region)

    def _call(self, operation: str, method: str, path: str, *, params: list[tuple[str, str]],
              json: Any = None, idempotent: bool = True) -> dict[str, Any]:
        """Send one operation, retrying per the policy; the decoded JSON body or a typed error."""
        auth, http, policy = self._auth(), self._http(), self.retry
        attempt = unreachable = 0
        while True:  # each pass returns, raises or waits
            attempt += 1
            try:
                response = http.request(method, self.api_url + path, params=params, json=json, auth=auth,
                                        timeout=self.timeout, allow_redirects=False)
            except _Redirected as exc:
                exc.response.close()  # unread: its connection is dropped, not left for the garbage collector
                raise redirect_error(operation, exc.response) from None
            except _TRANSPORT_ERRORS as exc:
                failure = _transport_outcome(exc)
                wait = policy.decide(attempt, failure, idempotent, unreachable=unreachable)
                if wait is None:
                    raise self._transport_error(operation, exc, failure, attempt, idempotent) from exc
                unreachable += failure.unreachable
                self._say_retrying(operation, _transport_reason(exc), attempt, wait)
            except (BotoCoreError, ClientError) as exc:  # refreshing credentials (SSO, STS) fails while signing
                raise self._signer.credentials_error(exc) from exc
            else:
                if response.status_code < 400:  # 3xx never gets here
                    return self._decode(operation, response)
                answer = Answer(response.status_code, response.headers.get("Retry-After"))
                wait = policy.decide(attempt, answer, idempotent, unreachable=unreachable)
                if wait is None:
                    raise api_error(operation, response)
                self._say_retrying(operation, f"HTTP {response.status_code}", attempt, wait)
            policy.sleep(wait)

    def _transport_error(self, operation: str, exc: requests.RequestException, failure: TransportFailure,
                         attempt: int, idempotent: bool) -> errors.TransportError:
        """The error for a request that got no answer and is not tried again (``failure``: as the policy saw it)."""
        if failure.permanent:
            return errors.TransportError(
                f"{operation}: the TLS certificate of {self.api_url} could not be verified ({exc}). If the "
                "API sits behind a private CA, set REQUESTS_CA_BUNDLE to a CA bundle file that includes "
                "it; verification is never turned off")
        if not idempotent and not failure.never_sent:
            return errors.UnknownOutcomeError(
                f"{operation}: the request may have reached the API but no answer came back "
                f"({type(exc).__name__}); it was not repeated: check with describe_image")
        return errors.TransportError(
            f"{operation}: could not reach the ParallelCluster API at {self.api_url} after "
            f"{attempt} attempts ({_transport_reason(exc)}). Check that api_url is the API's invoke "
            "URL, that the API's CloudFormation stack is deployed, and that this machine reaches it "
            "(network, VPN, proxy, or the VPC endpoint of a private API)")

    def _say_retrying(self, operation: str, reason: str, attempt: int, wait: float) -> None:
        """A retry is worth a line for whoever waits, but not more than one every few seconds."""
        now = time.monotonic()
        with self._lock:
            due = now - self._last_notice >= RETRY_NOTICE_SECONDS
            if due:
                self._last_notice = now
        (log.info if due else log.debug)("%s: %s; retrying in %.1f s (attempt %d of at most %d)", operation,
                                         reason, wait, attempt + 1, self.retry.max_attempts)

    @staticmethod
    def _decode(operation: str, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise errors.UnexpectedResponseError(
                f"expected a JSON object, got: {_snippet(response.text) or 'an empty body'}",
                status=response.status_code, body=response.text, operation=operation)
        return body

    def _http(self) -> requests.Session:
        """One requests.Session per thread: sessions share connection pools but not their mutable state."""
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
            http.hooks["response"].append(_refuse_redirect)  # first, before any hook a caller adds
        return http

    def _auth(self) -> LockedAuth:
        return self._signer.auth()
