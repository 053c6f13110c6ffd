"""Every error pulumi_pcimage raises, under one base: `PcImageError`.

- What the ParallelCluster API can answer: one class per HTTP status, so callers branch on the type, never on
  numbers. Every error keeps the status, the API's message and the decoded body (or the raw text when it was not
  JSON).
- What the provider itself concludes: a configuration it cannot read, a wait that ended without an answer, a build
  or a delete that failed, an image id taken by another, and what a face shows the engine.

The emulator keeps its own (it imports nothing from the provider side), and so does the test harness
(`pulumi_pcimage.testing`), whose errors are about the engine model, not about images.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_pcimage.durations import duration
from pulumi_pcimage.redact import redact_value


class PcImageError(Exception):
    """Base of every error raised by pulumi_pcimage."""


class ConfigError(PcImageError, ValueError):
    """The configuration is not YAML describing a mapping. `public` says the same without quoting the text.

    Also a ValueError, as it always was: code that catches ValueError around `config.load` still catches it."""

    def __init__(self, message: str, public: str | None = None):
        super().__init__(message)
        self.public = public or message


class ArgumentError(PcImageError, ValueError):
    """A function's argument that breaks its rule (`queries.Argument`), refused before anything is sent. The parts
    are kept apart so that each face names the function and the argument as its users spell them; `str()` is the
    Python spelling. Also a ValueError, as it always was."""

    def __init__(self, query: str, argument: str, problem: str):
        super().__init__(query, argument, problem)
        self.query, self.argument, self.problem = query, argument, problem

    def said_as(self, query: str, names: Mapping[str, str]) -> str:
        """The message with the function called `query` and the argument by its name in `names` (else as it is)."""
        return f"{query}: {names.get(self.argument, self.argument)} {self.problem}"

    def __str__(self) -> str:
        return self.said_as(self.query, {})


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


# ---------------------------------------------------------------- waiting

class WaitTimeout(PcImageError):
    def __init__(self, what: str, seconds: float, last_status: str | None):
        self.what, self.seconds, self.last_status = what, seconds, last_status
        super().__init__(f"gave up waiting for {what} after {duration(seconds)} "
                         f"(last status: {last_status or 'unknown'})")


class Cancelled(PcImageError):
    """The engine asked the provider to stop (Ctrl-C): the wait ended early; the operation goes on server-side."""

    def __init__(self, what: str, elapsed: float, last_status: str | None):
        self.what, self.elapsed, self.last_status = what, elapsed, last_status
        super().__init__(f"stopped waiting for {what} after {duration(elapsed)} (cancelled; last status: "
                         f"{last_status or 'unknown'})")


# ---------------------------------------------------------------- the lifecycle's conclusions

class ImageClash(PcImageError):
    """The image id is taken by an image this resource may not adopt."""


class BuildFailed(PcImageError):
    """The build ended in BUILD_FAILED, vanished, timed out or was cancelled.

    `outputs`: the resource's outputs when the image still exists at the API (a build still running after a
    timeout or a cancel, a failed build kept or not deletable), else None. A face that can keep a partly created
    resource in the state (a package provider's partial failure) keeps them, so that `pulumi destroy` deletes the
    image and the next `pulumi up` resumes the build instead of starting another."""

    def __init__(self, message: str, outputs: dict[str, Any] | None = None):
        super().__init__(message)
        self.outputs = outputs


class DeleteFailed(PcImageError):
    """The image could not be deleted."""


class DeleteRefused(DeleteFailed):
    """The API refused the delete (an AMI in use or shared, mostly); the message says what to do next."""


# ---------------------------------------------------------------- what a face shows the engine

class ProviderError(PcImageError):
    """A lifecycle error as `pulumi up` shows it: the message, which says what happened and what to do.

    The SDK's server appends the Python traceback of any exception to the message the user reads; it finds it
    through `__traceback__`, which this class reports as None (the interpreter keeps the real one for itself)."""

    __traceback__ = property(lambda self: None, lambda self, value: None)


class PartiallyCreated(ProviderError):
    """A create (or the update resuming it) failed after the image came to exist at the API: the engine keeps the
    resource in the state with these outputs and the message as its initialization error (a partial failure).
    `properties` are the package face's wire values (`pulumi.provider.experimental.property_value.PropertyValue`)."""

    def __init__(self, message: str, image_id: str, properties: dict[str, Any]):
        super().__init__(message)
        self.image_id, self.properties = image_id, properties
