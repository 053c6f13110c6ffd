"""The `pcimage` Pulumi package schema, generated from the field table (`fields.py`) and the function results
(`functions.py`): one declaration per field still drives everything. `python -m pulumi_pcimage.package.schema`
prints it; the shipped `schema.json` is this output (a test keeps them equal)."""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from typing import Any

from .. import endpoint, functions
from ..fields import BY_NAME, INPUTS, OUTPUTS_ONLY, USER_INPUTS, Field

PACKAGE = "pcimage"
RESOURCE = f"{PACKAGE}:index:CustomImage"
VERSION = "0.1.0"


def camel(name: str) -> str:
    """snake_case -> camelCase, as Pulumi schemas spell properties."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# Provider configuration: (name, description, the field whose rule it follows)
CONFIG: tuple[tuple[str, str, str | None], ...] = (
    (endpoint.CONFIG_API_URL, "ParallelCluster API invoke URL (the API stack's output "
                              f"{endpoint.STACK_OUTPUT}); else {endpoint.ENV_API_URL}, else `apiStackName`.",
     "api_url"),
    (endpoint.CONFIG_STACK_NAME, "CloudFormation stack that deployed the ParallelCluster API: its "
                                 f"{endpoint.STACK_OUTPUT} output is the endpoint when `apiUrl` is not set.", None),
    (endpoint.CONFIG_STACK_REGION, "Region of that stack (default: the session's region).", "region"),
    ("region", "Default region of images and functions: else AWS_REGION / AWS_DEFAULT_REGION, else the profile's "
               "region, else the API's own region (from its host name).", "region"),
    ("profile", "AWS profile used to sign requests (default for every image).", "aws_profile"),
    ("roleArn", "IAM role assumed to sign requests (default for every image).", "role_arn"),
)
CONFIG_FIELDS = {name: field for name, _, field in CONFIG}
# The resource's fields whose default comes from the provider configuration.
FROM_CONFIG = {"api_url": endpoint.CONFIG_API_URL, "region": "region", "aws_profile": "profile", "role_arn": "roleArn"}

FUNCTIONS: dict[str, tuple[str | None, type, str]] = {
    # token -> (docstring, result type, how many: "list" or "one")
    f"{PACKAGE}:index:getOfficialImages": (functions.get_official_images.__doc__, functions.OfficialImage, "list"),
    f"{PACKAGE}:index:listImages": (functions.list_images.__doc__, functions.ImageSummary, "list"),
    f"{PACKAGE}:index:getImage": (functions.get_image.__doc__, functions.ImageInfo, "one"),
}
FUNCTION_ARGS: dict[str, dict[str, tuple[str, tuple[str, ...], bool]]] = {
    # token -> argument -> (description, allowed values, required)
    f"{PACKAGE}:index:getOfficialImages": {
        "os": ("Only this operating system.", functions.SUPPORTED_OSES, False),
        "architecture": ("Only this architecture.", functions.SUPPORTED_ARCHITECTURES, False),
        "region": ("Region (default: the provider's).", (), False)},
    f"{PACKAGE}:index:listImages": {
        "imageStatus": ("AVAILABLE, PENDING or FAILED.", functions.IMAGE_STATUSES, True),
        "region": ("Region (default: the provider's).", (), False)},
    f"{PACKAGE}:index:getImage": {
        "imageId": ("The image id.", (), True),
        "region": ("Region (default: the provider's).", (), False)},
}


def _type(f: Field) -> dict[str, Any]:
    if f.name == "image_configuration":  # YAML text, or an object in languages that write one
        return {"$ref": "pulumi.json#/Any"}
    if f.type is list:
        return {"type": "array", "items": {"type": "string"}}
    return {"type": {str: "string", bool: "boolean", float: "number"}[f.type]}


def _property(f: Field, *, output: bool = False) -> dict[str, Any]:
    spec = {**_type(f), "description": f.description}
    if f.default is not None and not isinstance(f.default, list) and not output:
        spec["default"] = f.default
    if f.replaces and not output:
        spec["willReplaceOnChanges"] = True
    return spec


def _result_type(cls: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties = {}
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        spec: dict[str, Any] = ({"type": "object", "additionalProperties": {"type": "string"}}
                                if typing.get_origin(kind) is dict else {"type": "string"})
        properties[camel(f.name)] = spec
    return {"type": "object", "description": (cls.__doc__ or "").strip(), "properties": properties}


def schema() -> dict[str, Any]:
    config_props = {}
    for name, description, _ in CONFIG:
        config_props[name] = {"type": "string", "description": description}
    inputs = {camel(f.name): _property(f) for f in USER_INPUTS}
    internal = [f for f in INPUTS if f.internal]
    properties = {camel(f.name): _property(f, output=True) for f in (*USER_INPUTS, *OUTPUTS_ONLY, *internal)}
    types = {f"{PACKAGE}:index:{cls.__name__}": _result_type(cls)
             for _, cls, many in FUNCTIONS.values() if many == "list"}
    funcs = {}
    for token, (doc, cls, many) in FUNCTIONS.items():
        args = {name: {"type": "string", "description": text + (f" One of: {', '.join(allowed)}." if allowed else "")}
                for name, (text, allowed, _) in FUNCTION_ARGS[token].items()}
        required = [name for name, (_, _, needed) in FUNCTION_ARGS[token].items() if needed]
        if many == "list":
            outputs = {"type": "object", "properties": {"images": {"type": "array", "items": {
                "$ref": f"#/types/{PACKAGE}:index:{cls.__name__}"}}}, "required": ["images"]}
        else:
            outputs = {k: v for k, v in _result_type(cls).items() if k != "description"}
        funcs[token] = {"description": re.sub(r"\s+", " ", (doc or "").strip()),
                        "inputs": {"type": "object", "properties": args, "required": required},
                        "outputs": outputs}
    return {
        "name": PACKAGE,
        "displayName": "ParallelCluster custom images",
        "version": VERSION,
        "description": "AWS ParallelCluster custom images (AMIs) built through the ParallelCluster API.",
        "license": "Apache-2.0",
        "keywords": ["aws", "parallelcluster", "hpc", "ami", "kind/native"],
        "meta": {"moduleFormat": "(.*)"},
        "config": {"variables": config_props},
        "provider": {"description": "The pcimage provider: where the ParallelCluster API is and how to sign for it.",
                     "inputProperties": config_props},
        "types": types,
        "resources": {RESOURCE: {
            "description": "A ParallelCluster custom image: built on create, replaced when its configuration or "
                           "region changes.",
            "inputProperties": inputs,
            "requiredInputs": [camel(f.name) for f in USER_INPUTS if f.required],
            "properties": properties,
            "required": [camel(f.name) for f in (*USER_INPUTS, *OUTPUTS_ONLY)
                         if f.required or f.name in ("image_id", "region")],
        }},
        "functions": funcs,
        "language": {
            "nodejs": {"packageName": "@pulumi-pcimage/pcimage"},
            "go": {"importBasePath": "github.com/pulumi-pcimage/pcimage/sdk/go/pcimage"},
            "python": {"packageName": "pulumi_pcimage_sdk"},
            "csharp": {"rootNamespace": "PcImage"},
        },
    }


def schema_json() -> str:
    return json.dumps(schema(), indent=2, sort_keys=False) + "\n"


def to_field(property_name: str) -> Field | None:
    """The field a schema property name stands for."""
    return _BY_CAMEL.get(property_name)


_BY_CAMEL = {camel(f.name): f for f in BY_NAME.values()}

if __name__ == "__main__":
    print(schema_json(), end="")
