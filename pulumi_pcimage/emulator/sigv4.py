"""SigV4 verification as API Gateway does it for IAM-authorized APIs, by recomputing with botocore's signer.

The request is rebuilt as a botocore `AWSRequest` from what arrived on the wire (method, raw path, decoded query
pairs, the signed headers only, the body) and signed again with the client's own X-Amz-Date; the two signatures
are compared in constant time. Failures carry API Gateway's own messages and error types.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from datetime import datetime, timezone
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from werkzeug.datastructures import Headers

MAX_SKEW_SECONDS = 300
MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method. Consult the service documentation for details.")
_AUTH_FIELD = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]+)")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


class AuthFailure(Exception):
    """A request API Gateway would refuse with 403; `error_type` is its x-amzn-ErrorType."""

    def __init__(self, message: str, error_type: str):
        super().__init__(message)
        self.message, self.error_type = message, error_type


class _ExactHeadersSigner(SigV4Auth):
    """Signs exactly the headers the client listed in SignedHeaders (botocore would pick its own set)."""

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name, value in request.headers.items():
            headers[name.lower()] = value
        return headers


class SigV4Verifier:
    def __init__(self, region: str, credentials: Iterable[tuple[str, str]], service: str = "execute-api",
                 clock: Callable[[], float] = time.time):
        self.region, self.service, self.clock = region, service, clock
        self._lock = threading.Lock()
        self.set_credentials(credentials)

    def set_credentials(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Replace the accepted key pairs (key rotation while running)."""
        keys = {access_key: secret_key for access_key, secret_key in pairs}
        with self._lock:
            self._keys = keys

    def verify(self, method: str, url: str, raw_path: str, query: str, headers: Mapping[str, str] | Headers,
               body: bytes | Callable[[], bytes]) -> str:
        """Return the access key that signed the request, or raise AuthFailure.

        `url` is scheme://host as the client addressed it; `raw_path` and `query` exactly as sent. `body` may be
        a function reading it: it is called only once the Authorization header, key, scope and date passed, so an
        unsigned request's body is never read.
        """
        header = headers.get("Authorization")
        if not header:
            raise AuthFailure("Missing Authentication Token", "MissingAuthenticationTokenException")
        fields = dict(_AUTH_FIELD.findall(header))
        amz_date = headers.get("X-Amz-Date")
        missing = [f"Authorization header requires '{name}' parameter." for name in
                   ("Credential", "Signature", "SignedHeaders") if name not in fields]
        if not amz_date:
            missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        if not header.startswith("AWS4-HMAC-SHA256 ") or missing or not amz_date:
            raise AuthFailure(" ".join(missing or ["Authorization header must start with 'AWS4-HMAC-SHA256'."])
                              + f" Authorization={header}", "IncompleteSignatureException")

        scope = fields["Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise AuthFailure(f"Credential should be scoped with a valid terminator: 'aws4_request', not "
                              f"'{scope[-1]}'. ", "IncompleteSignatureException")
        access_key, date, region, service = scope[:4]
        with self._lock:
            secret_key = self._keys.get(access_key)
        if secret_key is None:
            raise AuthFailure("The security token included in the request is invalid.", "UnrecognizedClientException")
        if region != self.region:
            raise AuthFailure(f"Credential should be scoped to a valid region, not '{region}'. ",
                              "InvalidSignatureException")
        if service != self.service:
            raise AuthFailure(f"Credential should be scoped to correct service: '{self.service}'. ",
                              "InvalidSignatureException")
        self._check_date(amz_date, date)

        signed = fields["SignedHeaders"].split(";")
        if "host" not in signed:  # API Gateway's rule: otherwise a signature could be replayed to any host
            raise AuthFailure(f"'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization. "
                              f"Authorization={header}", "IncompleteSignatureException")
        if callable(body):
            body = body()
        request = AWSRequest(method=method, url=url + raw_path, data=body,
                             # botocore-stubs say Mapping, but botocore urlencodes params with doseq: a list of
                             # pairs keeps repeated keys (suppressValidators) in order
                             params=parse_qsl(query, keep_blank_values=True))  # type: ignore[arg-type]
        for name in signed:
            value = headers.get(name)
            if value is None:
                raise AuthFailure(MISMATCH, "InvalidSignatureException")
            request.headers[name] = value
        if "x-amz-content-sha256" in signed:  # botocore would trust this header; the body must match it
            del request.headers["x-amz-content-sha256"]  # HTTPHeaders appends on assignment
            request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        request.context["timestamp"] = amz_date
        signer = _ExactHeadersSigner(Credentials(access_key, secret_key), self.service, self.region)
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        if not hmac.compare_digest(signer.signature(string_to_sign, request), fields["Signature"]):
            raise AuthFailure(f"{MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'"
                              f"\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n",
                              "InvalidSignatureException")
        return access_key

    def _check_date(self, amz_date: str, scope_date: str) -> None:
        try:
            signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            raise AuthFailure(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See "
                              "http://en.wikipedia.org/wiki/ISO_8601", "IncompleteSignatureException") from None
        if scope_date != amz_date[:8]:
            raise AuthFailure(f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                              f"HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.",
                              "InvalidSignatureException")
        now = self.clock()

        def stamp(epoch: float) -> str:
            return datetime.fromtimestamp(epoch, timezone.utc).strftime(_AMZ_DATE)

        if signed_at < now - MAX_SKEW_SECONDS:
            raise AuthFailure(f"Signature expired: {amz_date} is now earlier than {stamp(now - MAX_SKEW_SECONDS)} "
                              f"({stamp(now)} - 5 min.)", "InvalidSignatureException")
        if signed_at > now + MAX_SKEW_SECONDS:
            raise AuthFailure(f"Signature not yet current: {amz_date} is still later than "
                              f"{stamp(now + MAX_SKEW_SECONDS)} ({stamp(now)} + 5 min.)", "InvalidSignatureException")
