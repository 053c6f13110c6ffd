"""What must never appear in state, outputs, logs or messages: credentials, signatures, presigned URLs."""

from __future__ import annotations

import base64
import re
from typing import Any

from pulumi_pcimage.lifecycle import PROVIDER_KEY

from .conftest import ACCESS_KEY, SECRET_KEY, SESSION_TOKEN

# Literal secrets this suite signs with, and the shapes of signing material and presigned S3 URLs.
SECRETS = {"access key": ACCESS_KEY, "secret key": SECRET_KEY, "session token": SESSION_TOKEN}
PATTERNS = {
    "Authorization value": re.compile(r"AWS4-HMAC-SHA256|Authorization", re.IGNORECASE),
    "signature": re.compile(r"X-Amz-(Signature|Credential|Security-Token)|[?&]Signature=", re.IGNORECASE),
    "presigned configuration URL": re.compile(r"/_emulator/configs/|image-config\.yaml"),
}


def _texts(value: Any) -> list[str]:
    """Every string in a value; `__provider` is decoded too (it is base64 of the pickled provider)."""
    if isinstance(value, dict):
        texts = []
        for key, item in value.items():
            texts.append(str(key))
            texts += _texts(item)
            if key == PROVIDER_KEY and isinstance(item, str):
                texts.append(base64.b64decode(item).decode("latin-1"))
        return texts
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _texts(item)]
    return [str(value)]


def leaks(value: Any) -> list[str]:
    """What secret-looking material `value` holds, as readable findings (empty: nothing leaked)."""
    found = []
    for text in _texts(value):
        found += [f"{what} in {text[:80]!r}" for what, secret in SECRETS.items() if secret in text]
        found += [f"{what} in {text[:80]!r}" for what, pattern in PATTERNS.items() if pattern.search(text)]
    return found
