"""What the lifecycle tells users: refusals and the advice after them, the API's validation messages, failure
reasons, and keeping a secret configuration out of all of it."""

from __future__ import annotations

import enum
from typing import Any

from .. import config, identity
from ..walk import leaves
from .values import log


class Redactor:
    """Keeps the values of a secret configuration out of messages: every string leaf of it becomes `***`."""

    MIN_CHARS = 3  # shorter values are no secret, and masking them would garble every sentence

    def __init__(self, secret_configuration: Any, image_configuration: Any):
        self.values: list[str] = []
        if secret_configuration and isinstance(image_configuration, (str, dict)):
            try:
                doc = config.load(image_configuration)
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


LEVELS = ("INFO", "WARNING", "ERROR")


def at_least(level: Any, threshold: str) -> bool:
    """A finding of `level` fails a build whose validation_failure_level is `threshold` (unknown levels do)."""
    return level not in LEVELS or LEVELS.index(level) >= LEVELS.index(threshold)


def log_validation_messages(image_id: str, body: Any, redact: Redactor) -> None:
    """Validator findings below validation_failure_level: worth a warning, not a failure."""
    messages = body.get("validationMessages") if isinstance(body, dict) else None
    for message in messages or []:
        log.warning("image %s: %s (%s): %s", image_id, message.get("type"), message.get("level"),
                    redact(str(message.get("message"))))


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def reasons_of(described: dict | None) -> str:
    described = described or {}
    parts = [described.get("cloudformationStackStatusReason"), described.get("imagebuilderImageStatusReason")]
    return "; ".join(str(p) for p in parts if p)


def refusal(verdict: identity.Verdict, image_id: str, status: str | None, found: identity.Existing) -> str:
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


class Case(enum.Enum):
    """Whose delete the API refused: what the advice can promise to work."""

    REPLACED = enum.auto()  # the engine's Delete of an image a replacement left behind (now, or retried by a later run)
    UNDECLARED = enum.auto()  # the engine's Delete of a resource this run does not declare (destroy, or dropped)
    CLEANUP = enum.auto()  # the provider's own, inside a Create: a failed or half-deleted image in the way of the build


REPLACED, UNDECLARED, CLEANUP = Case


def refused_delete(image_id: str, region: str | None, reason: str, forced: bool, case: Case) -> str:
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
