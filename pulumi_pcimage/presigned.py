"""The configuration behind describe_image's presigned URL: fetched without the client's signing, from https S3
hosts, the API's own host or loopback only, never following a redirect, capped in size and time. Apart from the
client: it sends no credential and shares nothing with the signed calls."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import requests

from pulumi_pcimage import errors
from pulumi_pcimage.endpoint import host_of, is_loopback

log = logging.getLogger("pulumi_pcimage.client")  # the client's logger, as before the fetch had its own module

MAX_CONFIGURATION_BYTES = 2 * 1024 * 1024  # image configurations are a few KiB; this is far beyond any of them
CONFIGURATION_FETCH_SECONDS = 30.0  # the whole fetch, however slowly the answer trickles in
# Where AWS puts it: S3, in any of its host name forms (virtual-hosted, path-style, regional, dualstack, China).
_S3_HOST = re.compile(r"^(?:[a-z0-9.-]+\.)?s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An explicit auth that adds nothing: requests then never reads ~/.netrc for the URL's host."""
    return request


def presigned_url_refusal(url: str, api_url: str | None = None) -> str | None:
    """Why `url` must not be fetched, or None: https S3 hosts, the API's own host and loopback only."""
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "it is not a valid URL"
    if parts.username is not None or parts.password is not None:
        return "it carries user:password@"
    if is_loopback(host):  # the local emulator
        return None if parts.scheme in ("http", "https") else f"its scheme {parts.scheme!r} is not http(s)"
    if parts.scheme != "https":
        return f"it is not https ({parts.scheme or 'no scheme'}://{host})"
    if _S3_HOST.match(host):
        return None
    if api_url:
        api = urlsplit(api_url)
        if (api.scheme, (api.hostname or "").lower(), api.port) == (parts.scheme, host, port):
            return None
    return f"its host {host} is neither an S3 host nor the API's own"


def fetch_presigned_configuration(url: str | None, *, api_url: str | None = None,
                                  max_bytes: int = MAX_CONFIGURATION_BYTES,
                                  timeout: tuple[float, float] = (5.0, 15.0),
                                  deadline_seconds: float = CONFIGURATION_FETCH_SECONDS) -> str | None:
    """The text behind describe_image's ``imageConfiguration.url``, or None when it cannot be read safely.

    Only https S3 hosts, the API's own host and loopback (the emulator) are fetched; no redirect is followed, no
    ~/.netrc credential is sent, the answer is capped at `max_bytes` and the whole fetch at `deadline_seconds`.
    Every failure is "configuration unknown" (None, with a warning naming the host, never the signed URL).
    """
    if not isinstance(url, str) or not url:
        return None
    refusal = presigned_url_refusal(url, api_url)
    host = host_of(url)
    if refusal:
        log.warning("could not read the existing image's configuration: its URL was refused because %s", refusal)
        return None
    outcome: dict[str, Any] = {}
    done = threading.Event()
    session = requests.Session()

    def fetch() -> None:
        try:
            outcome["text"] = _read_capped(session, url, max_bytes, timeout, outcome)
        except Exception as exc:  # noqa: BLE001 - reported below without its text: that quotes the signed URL
            outcome["error"] = exc
        finally:
            done.set()

    # A thread bounds the whole fetch: timeouts only bound each socket read, and a server can trickle bytes.
    threading.Thread(target=fetch, name="pcimage-presigned-fetch", daemon=True).start()
    if not done.wait(deadline_seconds):
        response = outcome.get("response")
        if response is not None:  # wakes the reader blocked in recv; it then ends with an error nobody reads
            getattr(response.raw, "shutdown", response.close)()
        session.close()
        log.warning("could not read the existing image's configuration: %s did not answer within %gs", host,
                    deadline_seconds)
        return None
    session.close()
    error = outcome.get("error")
    if error is not None:
        log.warning("could not read the existing image's configuration from %s: %s", host,
                    error if isinstance(error, _FetchRefused) else type(error).__name__)
        return None
    return outcome["text"]


class _FetchRefused(errors.PcImageError):
    """The answer is not one to use; the message says why (never the URL)."""


def _read_capped(session: requests.Session, url: str, max_bytes: int, timeout: tuple[float, float],
                 outcome: dict[str, Any]) -> str:
    with session.get(url, timeout=timeout, allow_redirects=False, stream=True, auth=_no_auth,
                     headers={"Accept-Encoding": "identity"}) as response:
        outcome["response"] = response
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location")
            raise _FetchRefused(f"HTTP {response.status_code} redirect to "
                                f"{host_of(location, base=url) if location else 'nowhere'} "
                                "(redirects are not followed)")
        if response.status_code != 200:
            raise _FetchRefused(f"HTTP {response.status_code}")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):  # a compressed answer could expand past any cap while decoding
            raise _FetchRefused(f"Content-Encoding {encoding!r} was not asked for")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _FetchRefused(f"the answer declares {int(declared):,} bytes, more than the {max_bytes:,} allowed")
        data = bytearray()
        for chunk in response.iter_content(chunk_size=64 * 1024):
            data += chunk
            if len(data) > max_bytes:
                raise _FetchRefused(f"the answer is larger than the {max_bytes:,} bytes allowed")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _FetchRefused("the answer is not UTF-8 text") from None
