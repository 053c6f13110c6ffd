"""The CustomImage fields, each declared once.

Every field's type, default, validation, whether a change replaces the image and whether it is an
output only lives here; the provider's check/diff/outputs, the resource's arguments and properties and
the reference table of docs/reference.md all read this table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from . import regions

# The released spec's `imageId` is ^[a-zA-Z][a-zA-Z0-9-]+$ (two characters at least) and the service caps it at 128.
IMAGE_ID_PATTERN = r"^[a-zA-Z][a-zA-Z0-9-]{1,127}$"
# The same rule in plain words, for messages (a test holds them equal to the pattern).
IMAGE_ID_RULES = (
    (r"(?s).{2,}", "must be at least 2 characters long"),
    (r"(?s).{0,128}", "must be at most 128 characters long"),
    (r"(?s)[a-zA-Z].*", "must start with a letter"),
    (r"[^_]*", "underscores are not allowed"),
    (r"[a-zA-Z0-9_-]*", "may contain only letters a-z and A-Z, digits and hyphens"),
)
# Values the API gives (aws-parallelcluster 3.16.1 openapi.yaml: ImageBuildStatus; the architectures ParallelCluster
# builds for, pcluster/constants.py): outputs of these values are enumerations in the package schema.
IMAGE_BUILD_STATUSES = ("BUILD_IN_PROGRESS", "BUILD_FAILED", "BUILD_COMPLETE", "DELETE_IN_PROGRESS",
                        "DELETE_FAILED", "DELETE_COMPLETE")
ARCHITECTURES = ("x86_64", "arm64")

# What a description says differently for each face: `{default_region}` and the like in a description are these
# words. Field names in descriptions are written in backticks as declared here (snake_case); the package schema
# spells them as its properties (camelCase). Descriptions name no language's types or option spellings.
FACE_WORDS: dict[str, dict[str, str]] = {
    "dynamic": {"default_region": "the stack's `aws:region`", "create_timeout": "", "delete_timeout": ""},
    "package": {"default_region": "the provider's `region` (stack config `pcimage:region`)",
                "create_timeout": " A `create` custom timeout on the resource takes precedence.",
                "delete_timeout": " A `delete` custom timeout on the resource takes precedence."},
}


@dataclass(frozen=True)
class Field:
    name: str  # snake_case: the keyword argument, the resource property and the key on the wire
    type: type  # str, bool, float (any number) or list (of str)
    description: str
    default: Any = None  # filled in by check when the input is omitted; None = stays unset
    required: bool = False
    replaces: bool = False  # changing it builds a new image
    output_only: bool = False  # computed by the provider from the API
    internal: bool = False  # set by CustomImage itself, not by users
    choices: tuple[str, ...] = ()
    pattern: str | None = None  # for str, or for each item of a list
    pattern_rules: tuple[tuple[str, str], ...] = ()  # (full-match regex, plain words): `pattern` told in words
    minimum: float | None = None  # exclusive lower bound for numbers
    maximum: float | None = None  # inclusive upper bound for numbers
    doc_type: str | None = None  # type as shown in docs/reference.md when it is not the plain one
    source: tuple[str, ...] = ()  # for outputs: the key path in describe_image's answer

    @property
    def is_input(self) -> bool:
        return not self.output_only

    def describe(self, face: str = "dynamic") -> str:
        """The description as `face` ("dynamic" or "package") tells it (see FACE_WORDS)."""
        return self.description.format(**FACE_WORDS[face])

    def normalise(self, value: Any) -> Any:
        """The wire gives floats for every number; integral ones go back to int so state stays stable."""
        if self.type is float and isinstance(value, float) and value.is_integer():
            return int(value)
        if self.type is list and isinstance(value, tuple):
            return list(value)
        return value

    def problems(self, value: Any) -> list[str]:
        """Why `value` (not None, not unknown) is not acceptable, as messages that say how to fix it."""
        expected = {str: "a string", bool: "true or false", float: "a number", list: "a list of strings"}
        accepted: dict[type, type | tuple[type, ...]] = {str: str, bool: bool, float: (int, float), list: list}
        ok_type = accepted[self.type]
        wrong_type = not isinstance(value, ok_type) or (self.type is float and isinstance(value, bool))
        if wrong_type:
            if self.doc_type:  # custom types are checked by their owner (e.g. the image configuration)
                return []
            return [f"{self.name} must be {expected[self.type]}, got {value!r}"]
        if self.choices and value not in self.choices:
            return [f"{self.name} is {value!r} but must be one of {', '.join(self.choices)}"]
        if self.pattern and self.type is str and not re.match(self.pattern, value):
            words = [words for rule, words in self.pattern_rules if not re.fullmatch(rule, value)]
            return [f"{self.name} {value!r} is not valid: {'; '.join(words)}" if words
                    else f"{self.name} {value!r} must match {self.pattern}"]
        if self.type is list:
            bad = [item for item in value if not isinstance(item, str)
                   or (self.pattern and not re.match(self.pattern, item))]
            if bad:
                return [f"{self.name} items {bad!r} must be strings matching {self.pattern}"]
        if self.type is float:
            if math.isnan(value) or (self.minimum is not None and value <= self.minimum) or (
                    self.maximum is not None and value > self.maximum):
                return [f"{self.name} is {value!r} but must be greater than {self.minimum:g} "
                        f"and at most {self.maximum:g}"]
        return []


FIELDS: tuple[Field, ...] = (
    # --- what is built: changing any of these builds a new image
    Field("image_configuration", str, required=True, replaces=True, doc_type="string (YAML) or mapping",
          description="The ParallelCluster image configuration (`Build`, `Image`, `DevSettings`, ...), as YAML "
                      "text or as an object with the same keys. Compared in canonical form: comments, key order, "
                      "quoting and whitespace do not count."),
    Field("image_id", str, replaces=True, pattern=IMAGE_ID_PATTERN, pattern_rules=IMAGE_ID_RULES,
          description="The ParallelCluster image id. Omitted: derived by the provider from the resource's URN, "
                      "configuration and region, and kept while the configuration and region stay the same "
                      "(aliases, stack renames and ignored changes keep it); a changed configuration gets a new "
                      "id, and the new image is built before the old one is deleted. A fixed id makes a "
                      "replacement delete the old image first."),
    Field("region", str, replaces=True, pattern=regions.PATTERN,
          description="AWS region of the image. Omitted: {default_region}, else AWS_REGION / AWS_DEFAULT_REGION, "
                      "else the region configured for the AWS profile, else the API's own region (from its host "
                      "name). The resolved region is kept in the state: refresh and destroy always use it."),
    # --- how to reach the API: changed in place
    Field("api_url", str, pattern=r"^https?://",
          description="ParallelCluster API invoke URL. Omitted: stack config `pcimage:apiUrl`, else "
                      "PCLUSTER_API_URL, else the outputs of the ParallelCluster API CloudFormation stack."),
    Field("aws_profile", str, description="AWS profile (shared config/credentials files) used to sign requests."),
    Field("role_arn", str, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
          description="IAM role assumed to sign requests."),
    # --- build and delete options: changed in place, no API call
    Field("suppress_validators", list, default=[], pattern=r"^(ALL|type:[A-Za-z0-9]+)$",
          description="Configuration validators to suppress: `ALL` or `type:<ValidatorName>`."),
    Field("validation_failure_level", str, default="ERROR", choices=("INFO", "WARNING", "ERROR"),
          description="Lowest validation level that fails the build."),
    Field("rollback_on_failure", bool, default=True,
          description="Roll back the build stack on failure (always sent: the API's own default is false)."),
    Field("force_delete", bool, default=False,
          description="Delete the image even when instances use it or it is shared."),
    Field("build_timeout_minutes", float, default=180, minimum=0, maximum=10080,
          description="How long `pulumi up` waits for a build. On timeout the build continues server-side and "
                      "the next `pulumi up` adopts it.{create_timeout}"),
    Field("delete_timeout_minutes", float, default=60, minimum=0, maximum=10080,
          description="How long a delete waits (including for a still-running build to end).{delete_timeout}"),
    Field("validate_on_preview", bool, default=True,
          description="Dry-run changed configurations against the API during preview and report validator "
                      "messages as check failures."),
    Field("keep_failed_image", bool, default=False,
          description="Keep a failed build for inspection instead of deleting it."),
    Field("adopt_existing", bool, default=False,
          description="Take over an existing image with the same id (built elsewhere or by another stack) "
                      "instead of failing."),
    Field("owner", str, internal=True,
          description="Who built the image: `project/stack/resource` and a digest of the resource's full URN, "
                      "recorded in the image's `Image.Tags` (`pulumi-pcimage:owner`) so an interrupted `pulumi up` "
                      "recognises its own build."),
    Field("generation", str, internal=True,
          description="Marker of this build of the resource, recorded in `Image.Tags` "
                      "(`pulumi-pcimage:generation`) and renewed whenever the provider derives a new identity: a "
                      "replacement never adopts the image it replaces."),
    Field("secret_configuration", bool, default=False, internal=True,
          description="`true` when `image_configuration` is a Pulumi secret: messages then name paths and "
                      "validators, never configuration values."),
    # --- outputs from the API
    Field("ami_id", str, output_only=True, source=("ec2AmiInfo", "amiId"),
          description="The AMI id of the built image."),
    Field("ami_name", str, output_only=True, source=("ec2AmiInfo", "amiName"),
          description="The AMI name."),
    Field("image_build_status", str, output_only=True, source=("imageBuildStatus",), choices=IMAGE_BUILD_STATUSES,
          description="The image build status: `BUILD_COMPLETE` once built, another while a build is unfinished "
                      "(a timeout or an interruption the next `pulumi up` resumes) or failed (`keep_failed_image`)."),
    Field("version", str, output_only=True, source=("version",),
          description="ParallelCluster version that built the image."),
    Field("creation_time", str, output_only=True, source=("creationTime",),
          description="When the AMI was created (ISO 8601)."),
    Field("architecture", str, output_only=True, source=("ec2AmiInfo", "architecture"), choices=ARCHITECTURES,
          description="The AMI architecture."),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
INPUTS: tuple[Field, ...] = tuple(f for f in FIELDS if f.is_input)
OUTPUTS_ONLY: tuple[Field, ...] = tuple(f for f in FIELDS if f.output_only)
USER_INPUTS: tuple[Field, ...] = tuple(f for f in INPUTS if not f.internal)


def _doc_type(f: Field) -> str:
    if f.doc_type:
        return f.doc_type
    if f.choices:
        return " \\| ".join(f"`{c}`" for c in f.choices)
    return {str: "string", bool: "bool", float: "number", list: "list of strings"}[f.type]


def _doc_default(f: Field) -> str:
    if f.required:
        return "required"
    if f.default is None:
        return "—"
    if isinstance(f.default, bool):
        return f"`{str(f.default).lower()}`"
    return f"`{f.default}`"


def reference_table_markdown() -> str:
    """docs/reference.md's reference of CustomImage inputs and outputs, rendered from FIELDS."""
    rows = ["| Input | Type | Default | Change replaces the image | Description |",
            "|---|---|---|---|---|"]
    for f in USER_INPUTS:
        rows.append(f"| `{f.name}` | {_doc_type(f)} | {_doc_default(f)} | {'yes' if f.replaces else 'no'} | "
                    f"{f.describe()} |")
    rows += ["", "Every input is also an output. Outputs from the API (never the presigned configuration URL, "
                 "never credentials):", "", "| Output | Type | Description |", "|---|---|---|"]
    internal = [f for f in INPUTS if f.internal]
    for f in (*OUTPUTS_ONLY, *internal):
        rows.append(f"| `{f.name}` | {_doc_type(f)} | {f.describe()} |")
    return "\n".join(rows) + "\n"
