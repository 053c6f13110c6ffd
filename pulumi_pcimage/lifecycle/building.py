"""Build: start it, reconcile with what the API already holds (adopt, resume, clean up, refuse), wait for it, and
report a failure with the reasons the API and the build's logs give."""

from __future__ import annotations


from .. import config, identity, waiter
from ..durations import duration
from ..errors import (ApiError, BuildFailed, ConflictError, DeleteRefused,
                      ImageClash, InternalServiceError, NotFoundError,
                      PcImageError, TransportError, UnknownOutcomeError)
from .state import ApiClient
from .values import Settings, log, UNFINISHED, LOG_TAIL_LINES, LOG_LINE_CHARS, outputs
from .messages import Redactor, log_validation_messages, shorten, reasons_of, refusal, CLEANUP
from .deleting import Deleting


class Building(Deleting):
    """Create's parts: build (or adopt, or resume), wait, report a failure (a failed image is deleted with
    `Deleting`'s rules)."""

    def _build(self, client: ApiClient, s: Settings, doc: dict, *, started_here: bool,
               attempts: int = 4) -> dict | None:
        """Start the build; returns a final describe answer when an existing image was adopted as complete."""
        image_id = s.image_id
        try:
            answer = client.build_image(
                image_id, config.dump(doc), suppress_validators=s.suppress_validators or None,
                validation_failure_level=s.validation_failure_level,
                rollback_on_failure=s.rollback_on_failure, region=s.region)
        # A 5xx (API Gateway's 502/504 included) may come after the Lambda started the build: outcome unknown too.
        except (ConflictError, UnknownOutcomeError, InternalServiceError) as exc:
            unknown = not isinstance(exc, ConflictError)
            log.info("image %s: %s; reconciling with what exists", image_id,
                     "the build request's outcome is unknown" if unknown else "the id exists")
            return self._reconcile(client, s, doc, exc, attempts, started_here or unknown)
        log_validation_messages(image_id, answer, Redactor(s.secret_configuration, s.image_configuration))
        log.info("image %s: build started", image_id)
        return None

    def _reconcile(self, client: ApiClient, s: Settings, doc: dict, cause: Exception, attempts: int,
                   started_here: bool) -> dict | None:
        """Adopt the image already holding the id, or explain why not (409, or a POST with unknown outcome)."""
        image_id = s.image_id
        try:
            current = client.describe_image(image_id, region=s.region)
        except NotFoundError:
            if attempts <= 1:
                raise cause from None
            return self._build(client, s, doc, attempts=attempts - 1, started_here=started_here)
        existing = self._fetch_configuration(current, self._api_url(s))
        found = identity.Existing(
            same_configuration=None if existing is None else config.canonical(config.without_owner(existing))
            == config.canonical(config.without_owner(doc)),
            owner=config.owner_of(existing) if existing is not None else None,
            generation=config.tag_of(existing, config.GENERATION_TAG) if existing is not None else None)
        status = current.get("imageBuildStatus")
        verdict = identity.adoption(found, owner=s.owner, generation=s.generation,
                                    adopt_existing=s.adopt_existing, started_here=started_here)
        if verdict != identity.ADOPT:
            raise ImageClash(refusal(verdict, image_id, status, found))
        own_build = started_here and (found.generation or "") == (s.generation or "")
        log.info("image %s: adopting the existing image (%s)%s", image_id, status,
                 "" if own_build else ", built by an earlier run of this resource" if found.owner == s.owner
                 else " (adopt_existing=true)")
        if status == "BUILD_COMPLETE":
            if not own_build:
                self.state.adopted(s.region, image_id, s.generation or "")
            return current
        if status == "BUILD_IN_PROGRESS":
            return None  # the caller waits for it
        if status in ("BUILD_FAILED", "DELETE_IN_PROGRESS") and attempts > 1:
            log.info("image %s: removing the %s image before building again", image_id, status)
            self._delete_and_wait(client, s, image_id, timeout=s.delete_timeout_minutes * 60, case=CLEANUP)
            return self._build(client, s, doc, attempts=attempts - 1, started_here=started_here)
        raise ImageClash(f"image {image_id!r} exists in state {status} ({reasons_of(current) or 'no reason given'}) "
                         f"and cannot be adopted; delete it (pcluster delete-image --image-id {image_id}) and "
                         "run `pulumi up` again")

    @staticmethod
    def _fetch_configuration(current: dict, api_url: str | None = None) -> dict | None:
        """The configuration an existing image was built from (its presigned URL), or None if unavailable."""
        from ..presigned import fetch_presigned_configuration  # https S3, the API's host or loopback; capped

        text = fetch_presigned_configuration((current.get("imageConfiguration") or {}).get("url"), api_url=api_url)
        if text is None:  # refused, unreachable, too large or too slow: fetch_presigned_configuration warned
            return None
        try:
            return config.load(text)
        except config.ConfigError as exc:
            log.warning("could not read the existing image's configuration: %s", exc)
            return None

    def _await_build(self, client: ApiClient, s: Settings) -> dict:
        image_id = s.image_id
        timeout = self.hooks.create_timeout or s.build_timeout_minutes * 60
        limit = (f"the create timeout ({duration(timeout)}, customTimeouts)" if self.hooks.create_timeout
                 else f"build_timeout_minutes={s.build_timeout_minutes:g}")
        later = (" The build continues server-side; the next `pulumi up` finds it, adopts it (it carries this "
                 "resource's ownership tag) and waits for it. To stop it instead: "
                 f"pcluster delete-image --image-id {image_id}")
        try:
            outcome = self._wait(self._observed("build", lambda: client.describe_image(image_id, region=s.region)),
                                 waiter.BUILD, timeout=timeout, what=f"image {image_id} build")
        except waiter.WaitTimeout as exc:
            raise BuildFailed(f"image {image_id!r} was still {exc.last_status or 'building'} after {limit}.{later}",
                              outputs(s.as_dict(), {"imageBuildStatus": exc.last_status or UNFINISHED})) from None
        except waiter.Cancelled as exc:
            raise BuildFailed(f"image {image_id!r}: stopped waiting after {duration(exc.elapsed)} "
                              f"(cancelled; it was {exc.last_status or 'building'}).{later}",
                              outputs(s.as_dict(), {"imageBuildStatus": exc.last_status or UNFINISHED})) from None
        if outcome.state == "success":
            assert outcome.response is not None  # BUILD succeeds only on a describe answer (BUILD_COMPLETE)
            return outcome.response
        report, kept = self._failure_report(client, s, outcome)
        raise BuildFailed(report, outputs(s.as_dict(), outcome.response) if kept else None)

    def _failure_report(self, client: ApiClient, s: Settings, outcome: waiter.Outcome) -> tuple[str, bool]:
        """Why the build failed and what was cleaned up; and whether the image still exists."""
        image_id = s.image_id
        if outcome.response is None:
            return (f"image {image_id!r} disappeared while building (deleted out of band?); "
                    "the next `pulumi up` builds it again"), False
        reasons = self._why_failed(client, s, outcome.response)
        kept = True
        if outcome.status != "BUILD_FAILED":
            cleanup = f"the image is now {outcome.status}; nothing was cleaned up"
        elif s.keep_failed_image:
            cleanup = ("the failed image was kept for inspection (keep_failed_image=true); the next `pulumi up` "
                       f"deletes it and builds again, or delete it yourself: pcluster delete-image --image-id "
                       f"{image_id}")
        else:
            try:
                self._delete_and_wait(client, s, image_id, timeout=s.delete_timeout_minutes * 60,
                                      case=CLEANUP)
                cleanup, kept = "the failed image was deleted, so the next `pulumi up` builds it again", False
            except DeleteRefused as exc:  # says what to do
                cleanup = f"deleting the failed image also failed: {exc}"
            except PcImageError as exc:  # ApiError included
                cleanup = f"deleting the failed image also failed ({exc}); delete it before the next `pulumi up`"
        details = "\n".join(f"  - {r}" for r in reasons) or "  - (the API gave no reason)"
        return f"image {image_id!r} build failed ({outcome.status}):\n{details}\n{cleanup}", kept

    def _why_failed(self, client: ApiClient, s: Settings, described: dict) -> list[str]:
        """Everything that says why a build failed; each source is best-effort."""
        image_id, region = s.image_id, s.region
        reasons = [reasons_of(described)] if reasons_of(described) else []
        try:
            events = client.get_image_stack_events(image_id, region=region).get("events") or []
            reasons += [f"{e.get('logicalResourceId')} {e.get('resourceStatus')}: {e.get('resourceStatusReason')}"
                        for e in events if str(e.get("resourceStatus", "")).endswith("_FAILED")
                        and e.get("resourceStatusReason")][:5]
        except (ApiError, TransportError) as exc:
            log.debug("no stack events for %s: %s", image_id, exc)
        try:
            streams = client.list_image_log_streams(image_id, region=region).get("logStreams") or []
            if streams:
                newest = max(streams, key=lambda st: str(st.get("lastEventTimestamp") or ""))
                events = client.get_image_log_events(image_id, newest["logStreamName"], region=region,
                                                     limit=LOG_TAIL_LINES)
                lines = [shorten(str(e.get("message", "")).rstrip(), LOG_LINE_CHARS)
                         for e in events.get("events") or []]
                if lines:
                    reasons.append(f"build log {newest['logStreamName']} (last lines):\n      "
                                   + "\n      ".join(lines[-LOG_TAIL_LINES:]))
        except (ApiError, TransportError, KeyError) as exc:
            log.debug("no build log for %s: %s", image_id, exc)
        return reasons
