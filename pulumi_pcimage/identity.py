"""Who an image is: its id, its owner and its generation, decided in Check the way Pulumi autonames resources.

Plain functions over plain values (no Pulumi, no HTTP), so both the provider and its tests can reason about
identity without a host.

- The **owner** names the resource that builds the image: `project/stack/name` for people, plus a digest of the
  resource's full URN (project, stack, parent type chain, type, name), so two resources with the same name under
  different parents never share images. It is recorded in `Image.Tags` and fits AWS's 256-character tag values.
- The **generation** is a random marker, created whenever Check derives a new identity (no old inputs: a new
  resource or a replacement's second Check) and kept otherwise. A targeted replacement (`pulumi up --replace`)
  reuses the old inputs, so its Create carries the live generation's marker: that is how the provider knows the
  image holding the id is the one being replaced, and never adopts it.
- The **image id**, when the user gives none, is derived from the URN, the configuration (canonical JSON of the
  parsed document: stable across library and PyYAML versions) and the region; Check keeps the old id while the
  configuration and region are unchanged, so renames (aliases), stack and project renames and `ignore_changes`
  rebuild nothing.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from . import config
from .fields import IMAGE_ID_PATTERN

HASH_CHARS = 10
MAX_IMAGE_ID = 128
MAX_TAG_VALUE = 256  # AWS's limit on a tag value
URN_DIGEST_CHARS = 16
URN_PREFIX = "urn:pulumi:"


def parse_urn(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, qualified type, name) of `urn:pulumi:<stack>::<project>::<type chain>::<name>`."""
    if not urn.startswith(URN_PREFIX):
        raise ValueError(f"{urn!r} is not a Pulumi URN (urn:pulumi:<stack>::<project>::<type>::<name>)")
    stack, project, qualified_type, name = (urn[len(URN_PREFIX):].split("::", 3) + ["", "", ""])[:4]
    if not (stack and project and qualified_type and name):
        raise ValueError(f"{urn!r} is not a Pulumi URN (urn:pulumi:<stack>::<project>::<type>::<name>)")
    return stack, project, qualified_type, name


def owner_marker(urn: str) -> str:
    """`project/stack/name@<digest of the full URN>`, cut to fit a tag value. Idempotent on a marker."""
    if not urn.startswith(URN_PREFIX):
        return urn  # already a marker (or an owner written by an earlier release)
    stack, project, _, name = parse_urn(urn)
    digest = hashlib.sha256(urn.encode()).hexdigest()[:URN_DIGEST_CHARS]
    readable = f"{project}/{stack}/{name}"[:MAX_TAG_VALUE - URN_DIGEST_CHARS - 1]
    return f"{readable}@{digest}"


def new_generation(seed: bytes = b"") -> str:
    """A new generation marker: from the engine's random seed when there is one (a preview saved with
    `--save-plan` and the `up --plan` that follows it get the same seed, and must check to the same inputs)."""
    return hashlib.sha256(seed).hexdigest()[:16] if seed else secrets.token_hex(8)


def derive_image_id(urn: str, configuration: str | dict, region: str) -> str:
    """`<resource name, sanitised>-<10 hex>` from the full URN, the parsed configuration and the region."""
    _, _, _, name = parse_urn(urn)
    digest = hashlib.sha256(json.dumps([urn, config.canonical_json(configuration), region]).encode()).hexdigest()
    stem = re.sub(r"[^a-zA-Z0-9]+", "-", name).strip("-")
    if not stem[:1].isalpha():
        stem = f"img-{stem}".rstrip("-")
    stem = stem[:MAX_IMAGE_ID - HASH_CHARS - 1].rstrip("-")
    image_id = f"{stem}-{digest[:HASH_CHARS]}"
    assert re.match(IMAGE_ID_PATTERN, image_id), image_id
    return image_id


def dryrun_image_id() -> str:
    """A throwaway id for a dry run whose real id is taken (a dry run creates nothing)."""
    return f"pcimage-dryrun-{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Existing:
    """What the tags of the image holding an id say, compared with what this resource would build."""

    same_configuration: bool | None  # None: the configuration could not be read
    owner: str | None
    generation: str | None


class Verdict(enum.Enum):
    """What to do with an image that already holds the id (a 409 from build_image, or a lost answer)."""

    ADOPT = enum.auto()  # an earlier attempt of this same resource, or a permitted takeover: wait for it / take it
    REPLACED_GENERATION = enum.auto()  # the live image this replacement is replacing
    PREVIOUS_CONFIGURATION = enum.auto()  # this resource's image, built from another configuration
    FOREIGN = enum.auto()  # someone else's image (or one whose configuration cannot be read)


ADOPT, REPLACED_GENERATION, PREVIOUS_CONFIGURATION, FOREIGN = Verdict


def adoption(existing: Existing, *, owner: str | None, generation: str | None, adopt_existing: bool,
             started_here: bool = False) -> Verdict:
    """Decide, from the image's tags alone, whether the image holding the id may be adopted.

    `started_here`: this very Create sent a build request whose answer was lost, so an image of this generation
    may be its own doing.
    """
    ours = bool(owner) and existing.owner == owner
    if existing.same_configuration is not True:
        return PREVIOUS_CONFIGURATION if ours and existing.same_configuration is False else FOREIGN
    if ours:
        # An image of the resource's live generation is the one being replaced, unless this Create built it.
        if (existing.generation or "") == (generation or "") and not started_here:
            return REPLACED_GENERATION
        return ADOPT
    return ADOPT if adopt_existing else FOREIGN
