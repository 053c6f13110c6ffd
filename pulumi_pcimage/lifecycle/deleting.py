"""Delete: wait out a running build, ask, retry a refusal a build caused, wait for the image to go, and advise
when the API refuses."""

from __future__ import annotations

from .. import waiter
from ..durations import duration
from ..errors import (BadRequestError, DeleteFailed, DeleteRefused,
                      NotFoundError)
from .state import ApiClient
from .values import Settings
from .messages import Case, reasons_of, UNDECLARED, refused_delete
from .base import Base


class Deleting(Base):
    """Delete's part: one image, within one deadline, whoever asked (the engine, or a create cleaning up)."""

    def _delete_and_wait(self, client: ApiClient, s: Settings, image_id: str, *, timeout: float, case: Case) -> None:
        """Delete the image and wait until it is gone. `case`: whose delete it is (REPLACED, UNDECLARED, CLEANUP),
        which decides what a refusal advises."""
        monotonic = self.state.clock.monotonic  # the deadline's clock: the waits' own
        region, start = s.region, monotonic()
        again = "`pulumi destroy`" if case == UNDECLARED else "`pulumi up`"
        limit = (f"the delete timeout ({duration(timeout)}, customTimeouts)" if self.hooks.delete_timeout
                 else f"delete_timeout_minutes={s.delete_timeout_minutes:g}")

        def left() -> float:
            return max(0.0, timeout - (monotonic() - start))

        def settle() -> None:
            try:
                self._wait(self._observed("build", lambda: client.describe_image(image_id, region=region)),
                           waiter.SETTLED, timeout=left(), what=f"image {image_id} build (before deleting it)")
            except waiter.Cancelled:
                raise DeleteFailed(f"image {image_id!r}: stopped waiting for its build to end (cancelled); "
                                   f"nothing was deleted. Run {again} again later.") from None
            except waiter.WaitTimeout as exc:
                raise DeleteFailed(f"image {image_id!r} is still building after {limit}; a build cannot be "
                                   "deleted while it runs. "
                                   f"Run {again} again later.") from exc

        try:
            if client.describe_image(image_id, region=region).get("imageBuildStatus") == "BUILD_IN_PROGRESS":
                settle()
        except NotFoundError:
            return
        for attempt in (1, 2):
            try:
                client.delete_image(image_id, region=region, force=s.force_delete)
                break
            except NotFoundError:
                return
            except BadRequestError as exc:
                try:
                    building = client.describe_image(image_id, region=region).get(
                        "imageBuildStatus") == "BUILD_IN_PROGRESS"
                except NotFoundError:
                    return
                if building and attempt == 1:
                    settle()
                    continue
                raise DeleteRefused(refused_delete(image_id, region, exc.message.rstrip(". "), s.force_delete,
                                                    case)) from exc
        try:
            outcome = self._wait(self._observed("delete", lambda: client.describe_image(image_id, region=region)),
                                 waiter.DELETE, timeout=left(), what=f"image {image_id} deletion")
        except waiter.Cancelled:
            raise DeleteFailed(f"image {image_id!r}: stopped waiting (cancelled) after its deletion was accepted; "
                               "it goes on server-side: the next `pulumi refresh` or `pulumi destroy` "
                               "sees it gone") from None
        except waiter.WaitTimeout as exc:
            raise DeleteFailed(f"image {image_id!r} was still {exc.last_status} after {limit}; run the delete "
                               "again later") from exc
        if outcome.state == "failure":
            raise DeleteFailed(f"deleting image {image_id!r} failed ({outcome.status}): "
                               f"{reasons_of(outcome.response) or 'no reason given'}")
