"""The façade: `Lifecycle`, every operation of a CustomImage (check and diff from `checking`, create, read,
update and delete here, over `building` and `deleting`)."""

from __future__ import annotations

from typing import Any

from .. import config, identity
from ..errors import (ApiError, BuildFailed, EndpointNotConfigured, NotFoundError,
                      PcImageError, TransportError)
from ..fields import OUTPUTS_ONLY
from .values import Settings, log, GOING, UNFINISHED, settings, outputs, build_doc, unusable
from .messages import REPLACED, UNDECLARED
from .building import Building
from .checking import Checking


class Lifecycle(Checking, Building):
    """Every operation of a CustomImage. `stack_config`: the stack's config, the endpoint's last fallback (the
    program resolves api_url itself, so it is rarely needed)."""

    def create(self, props: dict[str, Any], *, resume: bool = False) -> tuple[str, dict[str, Any]]:
        """Build the image and wait for it. `resume`: this resource's own build was started by an earlier create
        that stopped waiting (kept as partly created): adopt it whatever its generation, or build it again."""
        s = settings(props)
        image_id = s.image_id
        if self.hooks.cancel is not None and self.hooks.cancel.is_set():
            raise BuildFailed(f"image {image_id!r}: not built: the operation was cancelled before the build was "
                              "requested")
        client = self._client(s)
        doc = build_doc(s)
        described = self._build(client, s, doc, started_here=resume)
        if described is None:
            described = self._await_build(client, s)
        return image_id, outputs(s.as_dict(), described)

    def read(self, id_: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(id, outputs), or ("", {}) once the image is gone (or going): the engine drops it from the state."""
        s = settings(props)
        try:
            described = self._client(s).describe_image(id_, region=s.region)
        except NotFoundError:
            log.info("image %s no longer exists; removing it from the state", id_)
            return "", {}
        status = described.get("imageBuildStatus")
        if status in GOING:  # someone is deleting it: keeping it would plan nothing while it disappears
            log.info("image %s is being deleted (%s); removing it from the state", id_, status)
            return "", {}
        result = outputs({**s.as_dict(), "image_id": id_}, described)
        if unusable(result):  # kept, with what is wrong: the next preview plans its rebuild (see diff)
            log.warning("image %s is %s%s: the next `pulumi up` deletes and rebuilds it", id_, status,
                        "" if result.get("ami_id") else " with no AMI")
        return id_, result

    def read_existing(self, id_: str, props: dict[str, Any], urn: str) -> tuple[str, dict, dict]:
        """Import (`pulumi import`, `get`): (id, inputs, outputs) of an existing image, with the inputs the program
        would declare for it (its configuration without our tags, its region), so the next preview is a no-op.
        `props`: settings (api_url, region, credentials) to find it with. ("", {}, {}) when there is none."""
        s = settings(props)
        try:
            described = self._client(s).describe_image(id_, region=s.region)
        except NotFoundError:
            return "", {}, {}
        if described.get("imageBuildStatus") in GOING:
            return "", {}, {}
        doc = self._fetch_configuration(described)
        if doc is None:
            raise PcImageError(f"image {id_!r} cannot be imported: its configuration could not be read from "
                               "describe_image's imageConfiguration.url (see the warning above)")
        inputs = {name: value for name, value in s.as_dict().items() if value is not None}
        inputs.update(image_configuration=config.dump(config.without_owner(doc)), image_id=id_,
                      region=described.get("region") or s.region,
                      owner=config.owner_of(doc) or identity.owner_marker(urn),
                      generation=config.tag_of(doc, config.GENERATION_TAG) or "")
        return id_, inputs, outputs(inputs, described)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        # A partly created resource (its create stopped waiting): resume that build, now under the new options.
        if olds.get("image_build_status") == UNFINISHED:
            return self.create({**news, "image_id": id_}, resume=True)[1]
        # Only options change in place, and they matter only to later operations. But the image must still be
        # reachable through a new endpoint or identity: else refresh would drop it and destroy would leave it.
        s = settings(news)
        moved = [name for name in ("api_url", "aws_profile", "role_arn") if olds.get(name) != getattr(s, name)]
        if moved:
            self._verify_reachable(id_, s, moved)
        kept = {f.name: olds[f.name] for f in OUTPUTS_ONLY if olds.get(f.name) is not None}
        return {**outputs(s.as_dict(), None), **kept}

    def _verify_reachable(self, image_id: str, s: Settings, moved: list[str]) -> None:
        changed = ", ".join(moved)
        try:
            self._client(s).describe_image(image_id, region=s.region)
        except NotFoundError:
            raise PcImageError(
                f"image {image_id!r} cannot be found through the new {changed} (describe_image in {s.region} "
                "answered 404); nothing was changed. Point the settings at the API and identity that manage this "
                "image, or replace the image on purpose by also changing its configuration or image_id.") from None
        except (ApiError, TransportError, EndpointNotConfigured) as exc:
            raise PcImageError(f"image {image_id!r} could not be checked through the new {changed}: {exc}; "
                               "nothing was changed") from None

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        s = settings(props)
        adopter = self.state.adopter(s.region, id_)
        if adopter is not None and adopter != (s.generation or ""):  # a replacement took the image over
            log.warning(
                "image %s: not deleted: its replacement has the same configuration and image id and took it over, "
                "so it is still in use by the stack. To build it anew under the same id, set "
                "delete_before_replace=True on the resource and replace it again (`pulumi up --replace <urn>`).", id_)
            return
        case = REPLACED if self.state.replaced(s.owner, s.generation) else UNDECLARED
        self._delete_and_wait(self._client(s), s, id_,
                              timeout=self.hooks.delete_timeout or s.delete_timeout_minutes * 60, case=case)
