"""Redaction of signatures and credentials from text and from third-party DEBUG logs.

urllib3 logs every URL it fetches (a presigned URL carries a signature, and for S3 the credential and session
token of the API's role); botocore's DEBUG output holds request headers (the session token), signed URLs and
STS answers (an assumed role's secret key and session token). A log record factory rewrites the records of those
libraries before any handler sees them, whatever handlers the user configured: filters on the top loggers would
miss their children's records (``botocore.endpoint``, ``urllib3.connectionpool``), which propagate past them.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from .walk import rebuild

REDACTED = "REDACTED"

# name=value, name: value, 'name': b'value', "name": "value" — query strings, headers, canonical requests,
# dict reprs and JSON. Access key ids are not secret, but X-Amz-Credential is redacted with the rest of a URL.
_NAMED = re.compile(
    r"""((?:x-amz-(?:signature|credential|security-token)|security[-_]?token|session[-_]?token|"""
    r"""secret[-_]?access[-_]?key|signature|awsaccesskeyid)"""
    r"""["']?\s*[:=]\s*(?:b?["'])?)([^"'&\s,;<>}\]\\]+)""",  # the b of b'...' only before its quote
    re.IGNORECASE)
# STS and the instance metadata service answer in XML or JSON with these element names.
_XML = re.compile(r"(<(SecretAccessKey|SessionToken|Token)>)[^<]*(</\2>)", re.IGNORECASE)

LOGGERS = ("urllib3", "botocore", "boto3", "requests", "requests_aws4auth", "s3transfer")


def redact(text: str) -> str:
    """`text` with every signature, session token and secret key replaced by REDACTED."""
    return _XML.sub(rf"\1{REDACTED}\3", _NAMED.sub(rf"\1{REDACTED}", text))


def redact_value(value: Any) -> Any:
    """A decoded JSON value (or text) with secrets redacted in every string; the value itself when none was found."""
    return rebuild(value, _redact_leaf, containers=(dict, list), keep_unchanged=True)


def _redact_leaf(value: Any) -> Any:
    if isinstance(value, str):
        redacted = redact(value)
        return value if redacted == value else redacted
    return value


def _from_library(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in LOGGERS)


_lock = threading.Lock()
_installed = False


def install() -> None:
    """Redact the records of LOGGERS from now on, in this process (idempotent; other records are untouched).

    A record is made only when its level is enabled, so this costs nothing unless DEBUG logging is on.
    """
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _from_library(record.name):
                try:
                    message = record.getMessage()
                except Exception:  # a malformed record: let logging report it as usual
                    return record
                record.msg, record.args = redact(message), ()
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
