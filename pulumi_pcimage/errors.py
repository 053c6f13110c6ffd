"""One exception hierarchy for everything the ParallelCluster API can answer.

Each class is keyed by HTTP status so callers branch on the type, never on numbers. Every error
keeps the status, the API's message and the decoded body (or the raw text when it was not JSON).
"""

from __future__ import annotations

from typing import Any

from pulumi_pcimage.redact import redact_value


class PcImageError(Exception):
    """Base of every error raised by pulumi_pcimage."""


class EndpointNotConfigured(PcImageError):
    """No way of finding the ParallelCluster API was configured."""


class ApiError(PcImageError):
    """An HTTP answer from the API (or API Gateway in front of it) that is not a success."""

    status: int | None = None

    def __init__(self, message: str, *, status: int | None = None, body: Any = None,
                 operation: str | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.body = redact_value(body)  # kept for callers and printed in tracebacks: no signature or token
        self.operation = operation

    def __str__(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        code = f"HTTP {self.status}: " if self.status is not None else ""
        return f"{where}{code}{self.message}"


class BadRequestError(ApiError):
    """400. For build_image, `validation_errors` holds the API's `configurationValidationErrors`."""

    status = 400

    @property
    def validation_errors(self) -> list[dict[str, Any]]:
        body = self.body if isinstance(self.body, dict) else {}
        return list(body.get("configurationValidationErrors") or [])


class AuthError(ApiError):
    """401/403: the request was not signed, signed wrongly, or the identity may not invoke the API."""

    status: int | None = 403  # a subclass (missing credentials) has none

    def __init__(self, message: str, *, hint: str = "", **kwargs: Any):
        super().__init__(message, **kwargs)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} ({self.hint})" if self.hint else text


class MissingCredentialsError(AuthError):
    """No usable AWS credentials to sign with; raised before anything is sent, hence no HTTP status."""

    status = None


class NotFoundError(ApiError):
    status = 404


class ConflictError(ApiError):
    """409: the image id is taken (by an AMI or by a build stack)."""

    status = 409


class DryrunSucceeded(ApiError):
    """412 DryrunOperationException: the request would have succeeded."""

    status = 412


class ThrottledError(ApiError):
    """429 LimitExceededException, after the client's own retries were used up."""

    status = 429


class InternalServiceError(ApiError):
    """5xx from the API after the client's own retries were used up."""

    status = 500


class UnexpectedResponseError(ApiError):
    """Any other status, or a success whose body is not what the API documents."""


class RedirectRefused(UnexpectedResponseError):
    """A 3xx answer. The client never follows one: the session token and the request body would go along to
    whatever host it names, and that host's answer would be taken as the API's. `location_host` names it."""

    def __init__(self, message: str, *, location_host: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.location_host = location_host


class TransportError(PcImageError):
    """The API could not be reached (connection refused, reset or timed out) after retries."""


class UnknownOutcomeError(TransportError):
    """A non-idempotent request (build_image) may have reached the server but no answer came back.

    It is never repeated blindly: the caller reconciles with describe_image.
    """


STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    412: DryrunSucceeded,
    429: ThrottledError,
}


def error_class_for(status: int) -> type[ApiError]:
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    if status >= 500:
        return InternalServiceError
    return UnexpectedResponseError
