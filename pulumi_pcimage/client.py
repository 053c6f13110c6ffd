"""HTTP client for the ParallelCluster API: SigV4 over boto3 credentials, one retry policy, typed errors.

Methods mirror the API's operations and return its decoded JSON bodies unchanged (camelCase keys, enums as
strings), so a newer server's extra fields or states never break parsing here.
"""

from __future__ import annotations

import functools
import logging
import random as _random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3.exceptions
import yaml
from botocore.exceptions import BotoCoreError, ClientError
from requests_aws4auth import AWS4Auth

from pulumi_pcimage import errors, redact
from pulumi_pcimage.endpoint import api_region, host_of, normalize_api_url
# The presigned fetch lives in its own module; its names stay importable from here, where they were first.
from pulumi_pcimage.presigned import (CONFIGURATION_FETCH_SECONDS, MAX_CONFIGURATION_BYTES,  # noqa: F401
                                      fetch_presigned_configuration, presigned_url_refusal)

log = logging.getLogger(__name__)
redact.install()  # wherever the client runs, urllib3's and botocore's DEBUG records lose signatures and keys

SERVICE = "execute-api"
DEFAULT_SIGNING_REGION = "us-east-1"
# (connect, read) seconds. API Gateway ends every integration after 29 s, so an answer that takes longer never comes.
DEFAULT_TIMEOUT = (5.0, 35.0)
# Say that a request is being retried at most this often (seconds): visible, never a flood.
RETRY_NOTICE_SECONDS = 5.0
ROLE_SESSION_NAME = "pulumi-pcimage"
_SNIPPET = 200


def signing_region(api_url: str, fallback: str | None = None) -> str:
    """The region requests are signed for: the API's own (from its host name), else fallback, else us-east-1.

    Never the image's ``region`` parameter: an API in us-east-1 can build images in eu-west-1.
    """
    return api_region(api_url) or fallback or DEFAULT_SIGNING_REGION


MissingCredentialsError = errors.MissingCredentialsError  # where it was first declared; it lives in errors


@dataclass
class RetryPolicy:
    """When to try a request again and how long to wait first: capped exponential backoff with full jitter.

    POST build_image is not idempotent: only answers given before the API processed anything (429 throttled,
    503 unavailable) and failures to connect are repeated for it.
    """

    max_attempts: int = 8
    # A refused connection, an unknown host or a silent endpoint rarely heals within seconds: a few quick tries,
    # then a clear error (a build's waiter keeps polling through longer outages on its own). Dropped connections
    # are not counted here: under load they come and go.
    max_transport_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = _random.random

    RETRY_ALWAYS = frozenset({429, 503})
    RETRY_IDEMPOTENT = frozenset({429, 500, 502, 503, 504})

    def retries_status(self, status: int, idempotent: bool) -> bool:
        return status in (self.RETRY_IDEMPOTENT if idempotent else self.RETRY_ALWAYS)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); the server's Retry-After wins."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.max_retry_after)
            except ValueError:
                pass
        return self.random() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the failure happened while connecting, so the server cannot have seen the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)  # refused, unreachable, name not resolved


_TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


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


class _LockedAuth(requests.auth.AuthBase):
    """AWS4Auth keeps the current keys on itself while signing; a lock keeps threads from mixing two key sets."""

    def __init__(self, auth: AWS4Auth):
        self._auth = auth
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            try:
                return self._auth(request)
            except RuntimeError as exc:  # botocore: "the refreshed credentials are still expired"
                raise MissingCredentialsError(
                    f"the AWS credentials have expired and refreshing them gave expired ones again: {exc}",
                    hint="refresh the AWS credentials (e.g. `aws sso login`, or check the credential_process's "
                         "Expiration), and check the system clock") from exc


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
        self.profile = profile
        self.role_arn = role_arn
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._region = region
        self._session = session
        self._signer: _LockedAuth | None = None
        self._lock = threading.RLock()  # _auth holds it while signing_region may build the boto3 session
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
    def region(self) -> str | None:
        """The default region of images: the one given, else the boto3 session's."""
        return self._region or self._boto_session().region_name

    @property
    def signing_region(self) -> str:
        return signing_region(self.api_url, self.region)

    def _query(self, region: str | None, **params: Any) -> list[tuple[str, str]]:
        """Wire-format query pairs; ``region`` defaults to the client's and is sent whenever known."""
        return _query(**params, region=region or self.region)

    def _call(self, operation: str, method: str, path: str, *, params: list[tuple[str, str]],
              json: Any = None, idempotent: bool = True) -> dict[str, Any]:
        """Send one operation, retrying per the policy; the decoded JSON body or a typed error."""
        auth, http, policy = self._auth(), self._http(), self.retry
        attempt = transport_failures = 0
        while True:  # each pass returns, raises or waits; the last attempt returns or raises
            attempt += 1
            last = attempt >= policy.max_attempts
            try:
                response = http.request(method, self.api_url + path, params=params, json=json, auth=auth,
                                        timeout=self.timeout, allow_redirects=False)
            except _Redirected as exc:
                exc.response.close()  # unread: its connection is dropped, not left for the garbage collector
                raise redirect_error(operation, exc.response) from None
            except _TRANSPORT_ERRORS as exc:
                if _certificate_rejected(exc):
                    raise errors.TransportError(
                        f"{operation}: the TLS certificate of {self.api_url} could not be verified ({exc}). If the "
                        "API sits behind a private CA, set REQUESTS_CA_BUNDLE to a CA bundle file that includes "
                        "it; verification is never turned off") from exc
                if not idempotent and not _never_sent(exc):
                    raise errors.UnknownOutcomeError(
                        f"{operation}: the request may have reached the API but no answer came back "
                        f"({type(exc).__name__}); it was not repeated: check with describe_image") from exc
                # Refused, unresolvable, timed out: the endpoint is wrong or down, and quick tries are enough. A
                # connection dropped mid-answer is a passing fault: it gets the policy's full attempts.
                if _never_sent(exc) or isinstance(exc, requests.Timeout):
                    transport_failures += 1
                if last or transport_failures >= policy.max_transport_attempts:
                    raise errors.TransportError(
                        f"{operation}: could not reach the ParallelCluster API at {self.api_url} after "
                        f"{attempt} attempts ({_transport_reason(exc)}). Check that api_url is the API's invoke "
                        "URL, that the API's CloudFormation stack is deployed, and that this machine reaches it "
                        "(network, VPN, proxy, or the VPC endpoint of a private API)") from exc
                wait = policy.delay(attempt)
                self._say_retrying(operation, _transport_reason(exc), attempt, wait)
            except (BotoCoreError, ClientError) as exc:  # refreshing credentials (SSO, STS) fails while signing
                raise self._credentials_error(exc) from exc
            else:
                if response.status_code < 400:  # 3xx never gets here
                    return self._decode(operation, response)
                if last or not policy.retries_status(response.status_code, idempotent):
                    raise api_error(operation, response)
                wait = policy.delay(attempt, response.headers.get("Retry-After"))
                self._say_retrying(operation, f"HTTP {response.status_code}", attempt, wait)
            policy.sleep(wait)

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

    def _boto_session(self):
        with self._lock:
            if self._session is None:
                import boto3
                from botocore.exceptions import ProfileNotFound

                try:
                    self._session = boto3.Session(profile_name=self.profile)
                except ProfileNotFound:
                    raise MissingCredentialsError(
                        f"AWS profile {self.profile!r} is not defined in the AWS config or credentials files",
                        hint="create it (`aws configure --profile NAME` or `aws configure sso`) or set "
                             "another profile") from None
            return self._session

    def _auth(self) -> _LockedAuth:
        session = self._boto_session()
        with self._lock:
            if self._signer is None:
                try:
                    credentials = self._credentials(session)
                except (BotoCoreError, ClientError) as exc:  # e.g. a broken credential_process or SSO cache
                    raise self._credentials_error(exc) from exc
                self._signer = _LockedAuth(AWS4Auth(refreshable_credentials=credentials, service=SERVICE,
                                                    region=self.signing_region))
            return self._signer

    def _credentials(self, session):
        """Credentials that refresh themselves (SSO, instance role, assumed role) so long builds keep signing."""
        from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

        credentials = session.get_credentials()
        if credentials is None:
            raise MissingCredentialsError(
                f"no AWS credentials to sign requests to {self.api_url}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_PROFILE "
                     "or the profile setting (run `aws sso login` for SSO profiles), or run with an instance role")
        if not self.role_arn:
            return credentials
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=functools.partial(session.client, region_name=session.region_name or self.signing_region),
            source_credentials=credentials, role_arn=self.role_arn,
            extra_args={"RoleSessionName": ROLE_SESSION_NAME})
        return DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method="assume-role")

    def _credentials_error(self, exc: Exception) -> MissingCredentialsError:
        what = f"assume role {self.role_arn}" if self.role_arn else "obtain AWS credentials"
        return MissingCredentialsError(
            f"could not {what}: {exc}",
            hint="refresh the source credentials (e.g. `aws sso login`)" + (
                " and check that they may call sts:AssumeRole on the role" if self.role_arn else ""))
