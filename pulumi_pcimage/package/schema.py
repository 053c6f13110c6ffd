"""The `pcimage` Pulumi package schema, generated from the field table (`fields.py`), the queries the functions
serve (`queries.py`) and ParallelCluster's own image configuration schema (`pcluster_schema.json`): one declaration per
field still drives everything. `python -m pulumi_pcimage.package.schema` prints it; the shipped `schema.json` is
this output (a test keeps them equal), and the SDKs in `sdk/` are generated from it (`scripts/generate_sdks.sh`).

Descriptions land in every language's generated SDK and docs: they name properties as the schema spells them
(camelCase) and no language's types."""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from typing import Any

from .. import endpoint, pcluster_schema, queries
from .._version import __version__
from ..fields import BY_NAME, IMAGE_BUILD_STATUSES, INPUTS, OUTPUTS_ONLY, USER_INPUTS, Field

PACKAGE = "pcimage"
RESOURCE = f"{PACKAGE}:index:CustomImage"
VERSION = __version__
# Names reserved for publishing; nothing is published under them yet (docs/installation-configuration.md: install
# routes, what publishing would take).
REPOSITORY = "https://github.com/pulumi-pcimage/pcimage"
PUBLISHER = "pulumi-pcimage"
NPM_PACKAGE = "@pulumi-pcimage/pcimage"
PYTHON_PACKAGE = "pulumi_pcimage_sdk"
GO_IMPORT_PATH = "github.com/pulumi-pcimage/pcimage/sdk/go/pcimage"
# The TypeScript the Node.js SDK compiles itself with when installed (examples/typescript pins the same).
TYPESCRIPT_VERSION = "~5.9.3"
CONFIGURATION_DOCS = "https://docs.aws.amazon.com/parallelcluster/latest/ug/image-builder-configuration-file-v3.html"


def camel(name: str) -> str:
    """snake_case -> camelCase, as Pulumi schemas spell properties."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_SNAKE = re.compile(r"`([a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)+)`")


def neutral(text: str) -> str:
    """A description as the schema tells it: the names in backticks (`image_configuration`, `list_images`) as
    the package spells them (`imageConfiguration`, `listImages`), whitespace folded."""
    return re.sub(r"\s+", " ", _SNAKE.sub(lambda m: f"`{camel(m.group(1))}`", text)).strip()


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/types/{PACKAGE}:index:{name}"}


# ---------------------------------------------------------------- enumerations

# Enumeration name -> (its values, as declared where they are checked or produced; what they are). A field or
# argument whose values are one of these sets is typed with that enumeration.
ENUMS: dict[str, tuple[tuple[str, ...], str]] = {
    "OperatingSystem": (queries.SUPPORTED_OSES,
                        "An operating system of official ParallelCluster images (ParallelCluster 3.16.1)."),
    "Architecture": (queries.SUPPORTED_ARCHITECTURES, "A CPU architecture ParallelCluster builds images for."),
    "ImageStatus": (queries.IMAGE_STATUSES, "Which custom images to list: built (`AVAILABLE`), building "
                                              "(`PENDING`) or failed (`FAILED`)."),
    "ImageBuildStatus": (IMAGE_BUILD_STATUSES, "The build status of a custom image, as the API gives it."),
    "ValidationFailureLevel": (BY_NAME["validation_failure_level"].choices,
                               "A level of ParallelCluster's configuration validators."),
}


def _enum_for(values: tuple[str, ...]) -> str:
    for name, (members, _) in ENUMS.items():
        if tuple(members) == tuple(values):
            return name
    raise ValueError(f"no enumeration of the schema has the values {values}: add one to ENUMS")


def _enum_type(values: typing.Iterable[str], description: str) -> dict[str, Any]:
    return {"type": "string", "description": description,
            "enum": [{"value": v, "name": _enum_member(v)} for v in values]}


def _enum_member(value: str) -> str:
    """A member name every language accepts: `v1.0` -> `V1_0`, `x86_64` -> `X86_64`, `BUILD_FAILED` ->
    `BuildFailed`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", value) if w]
    if "_" in value and value.upper() == value:
        return "".join(w.capitalize() for w in words)
    name = "_".join(words)
    return name[:1].upper() + name[1:]


# ---------------------------------------------------------------- the image configuration, typed

# What the most used keys mean (ParallelCluster's schema gives types and rules, not meanings); every other key is
# described by its path and its rules.
CONFIGURATION_MEANINGS = {
    "Build": "How the image is built: the build instance, the parent image, components.",
    "Build.InstanceType": "The EC2 instance type that builds the image (its architecture must be the parent "
                          "image's).",
    "Build.ParentImage": "The AMI id (or EC2 Image Builder image ARN) the image is built from, e.g. an official "
                         "image's `amiId` from `getOfficialImages`.",
    "Build.SubnetId": "The subnet of the build instance.",
    "Build.SecurityGroupIds": "The security groups of the build instance.",
    "Build.Components": "EC2 Image Builder components (ARNs) or scripts run during the build.",
    "Build.Tags": "Tags of the resources the build creates.",
    "Build.UpdateOsPackages": "Whether the build updates the operating system's packages.",
    "Image": "The image produced: its name, tags and root volume.",
    "Image.Name": "The name of the AMI.",
    "Image.Tags": "Tags of the AMI.",
    "Image.RootVolume": "The AMI's root volume.",
    "Image.RootVolume.Size": "The root volume size, in GiB.",
    "DevSettings": "Settings for ParallelCluster's own development and testing.",
}


def _config_type_name(schema_name: str) -> str:
    if schema_name == pcluster_schema.ROOT:
        return "ImageConfiguration"
    base = schema_name.removesuffix("Schema")
    base = base.removeprefix("Imagebuilder")
    return f"ImageConfiguration{base}"


def _config_paths() -> dict[str, list[str]]:
    """ParallelCluster schema name -> the configuration paths where it is used (`Build`, `Image.Tags[]`)."""
    paths: dict[str, list[str]] = {pcluster_schema.ROOT: [""]}

    def walk(schema: str, path: str) -> None:
        for key, spec in pcluster_schema.SCHEMAS[schema].items():
            where = f"{path}.{key}" if path else key
            item = spec.get("items", {}) if spec["type"] == "list" else spec
            if item.get("type") == "object":
                where += "[]" if spec["type"] == "list" else ""
                if where not in paths.setdefault(item["schema"], []):
                    paths[item["schema"]].append(where)
                    walk(item["schema"], where)

    walk(pcluster_schema.ROOT, "")
    return paths


def _rules(spec: dict[str, Any], unit: str = "characters") -> list[str]:
    said = []
    if spec.get("type") == "integer" and not spec.get("strict"):  # as the checker reads it
        said.append("A whole number (or its text).")
    if "pattern" in spec:
        said.append(f"Must match `{spec['pattern']}`.")
    if "min_length" in spec and "max_length" in spec:
        said.append(f"{spec['min_length']} to {spec['max_length']} {unit}.")
    elif "max_length" in spec:
        said.append(f"At most {spec['max_length']} {unit}.")
    elif "min_length" in spec:
        said.append(f"At least {spec['min_length']} {unit}.")
    if "minimum" in spec:
        said.append(f"At least {spec['minimum']}.")
    if "maximum" in spec:
        said.append(f"At most {spec['maximum']}.")
    return said


def _config_value(spec: dict[str, Any], enum_name: str, enums: dict[str, Any], where: str) -> dict[str, Any]:
    kind = spec["type"]
    if kind == "object":
        return _ref(_config_type_name(spec["schema"]))
    if kind == "list":
        return {"type": "array", "items": _config_value(spec["items"], enum_name, enums, where)}
    if kind == "mapping":
        return {"type": "object", "additionalProperties": {"$ref": "pulumi.json#/Any"}}
    if "enum" in spec:
        enums[enum_name] = _enum_type(spec["enum"], f"The values of `{where}`.")
        return _ref(enum_name)
    return {"type": {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}[kind]}


def configuration_types() -> dict[str, dict[str, Any]]:
    """The image configuration as schema object types, one per ParallelCluster schema (ImageBuilderSchema ->
    ImageConfiguration, BuildSchema -> ImageConfigurationBuild, ...), with their enumerations."""
    paths = _config_paths()
    found: dict[str, dict[str, Any]] = {}
    enums: dict[str, Any] = {}
    for schema, keys in sorted(pcluster_schema.SCHEMAS.items()):
        name = _config_type_name(schema)
        where = [p for p in paths.get(schema, [])]
        if schema == pcluster_schema.ROOT:
            description = (f"A ParallelCluster image configuration, as ParallelCluster {pcluster_schema.VERSION} "
                           f"accepts it (unknown keys are refused): {CONFIGURATION_DOCS}")
        elif len(where) > 1 or where[0].endswith("[]"):  # a list's items, or a type used in several places
            description = f"An item of {' and '.join('`' + p.removesuffix('[]') + '`' for p in where)}."
        else:
            meaning = CONFIGURATION_MEANINGS.get(where[0])
            description = " ".join([*([meaning] if meaning else []),
                                    f"The `{where[0]}` section of the image configuration."])
        properties = {}
        for key, spec in keys.items():
            at = [f"{p}.{key}" if p else key for p in where]
            item = spec.get("items", {}) if spec["type"] == "list" else {}
            rules = _rules(spec, "items" if spec["type"] == "list" else "characters") + [
                f"Each item: {rule[:1].lower()}{rule[1:]}" for rule in _rules(item)]
            if spec.get("required"):
                rules.insert(0, "Required.")
            meaning = CONFIGURATION_MEANINGS.get(at[0]) if len(at) == 1 else None
            said = meaning or f"{' and '.join(f'`{a}`' for a in at)} in the image configuration."
            enum_name = f"ImageConfiguration{key}" if key.startswith(name.removeprefix("ImageConfiguration")) \
                else f"{name}{key}"
            properties[key] = {**_config_value(spec, enum_name, enums, at[0]), "description": " ".join([said, *rules])}
        found[name] = {"type": "object", "description": description, "properties": properties}
        required = [key for key, spec in keys.items() if spec.get("required")]
        if required:
            found[name]["required"] = required
    return {**found, **enums}


# ---------------------------------------------------------------- provider configuration and functions

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

@dataclasses.dataclass(frozen=True)
class Invoke:
    """A function the package serves, declared once: its schema (`FUNCTIONS`, `FUNCTION_ARGS`) and the plugin's
    dispatch (`package/server.py`) both read it. The query (`queries.py`) gives the call, the result type and each
    argument's rule; the declaration adds the token and each argument's schema name and description."""

    token: str
    query: queries.Query[Any]
    # argument as the schema spells it -> its description: the query's own arguments, in order, then `region`
    described: dict[str, str]

    def __post_init__(self) -> None:
        declared = [*self.query.arguments, queries.REGION]
        if list(self.described) != [camel(a.name) for a in declared]:
            raise ValueError(f"{self.token} declares {list(self.described)}; its query takes "
                             f"{[a.name for a in declared]} (as the schema spells them, in order)")

    @property
    def name(self) -> str:
        """The function's name as the schema spells it (`getOfficialImages`)."""
        return self.token.split(":")[-1]

    @property
    def names(self) -> dict[str, str]:
        """Each argument's Python name -> its name in the schema: how messages name it."""
        return {a.name: schema for a, schema in zip((*self.query.arguments, queries.REGION), self.described,
                                                     strict=True)}

    @property
    def args(self) -> dict[str, tuple[str, tuple[str, ...], bool]]:
        """Argument as the schema spells it -> (description, allowed values, required)."""
        return {schema: (self.described[schema], a.choices, a.required)
                for a, schema in zip((*self.query.arguments, queries.REGION), self.described, strict=True)}

    def arguments(self, values: dict[str, Any]) -> dict[str, Any]:
        """The query's values (Python names) from the invoke's (schema names), None where absent."""
        return {name: values.get(schema) for name, schema in self.names.items()}


_REGION_ARG = ("The region whose images are meant. Omitted: the provider's `region`, else AWS_REGION / "
               "AWS_DEFAULT_REGION, else the profile's region, else the API's own region.")
INVOKES: dict[str, Invoke] = {invoke.token: invoke for invoke in (
    Invoke(f"{PACKAGE}:index:getOfficialImages", queries.OFFICIAL_IMAGES, {
        "os": "Only images of this operating system.",
        "architecture": "Only images of this architecture.",
        "region": _REGION_ARG}),
    Invoke(f"{PACKAGE}:index:listImages", queries.IMAGES, {
        "imageStatus": "Which images: built, building or failed.",
        "region": _REGION_ARG}),
    Invoke(f"{PACKAGE}:index:getImage", queries.IMAGE, {
        "imageId": "The image id.",
        "region": _REGION_ARG}),
)}
# The schema's views of the registry: token -> (docstring, result type, "list" or "one"); token -> arguments.
FUNCTIONS: dict[str, tuple[str | None, type, str]] = {
    token: (invoke.query.call.__doc__, invoke.query.result, "list" if invoke.query.many else "one")
    for token, invoke in INVOKES.items()}
FUNCTION_ARGS: dict[str, dict[str, tuple[str, tuple[str, ...], bool]]] = {
    token: invoke.args for token, invoke in INVOKES.items()}
LIST_RESULTS = {queries.OfficialImage: "The official images, in the API's order.",
                queries.ImageSummary: "The images, across all pages of the API's answer."}


# ---------------------------------------------------------------- the resource

# Outputs every image in the state has besides the required inputs and those with defaults: Check resolves them.
ALWAYS_OUTPUT = ("image_id", "region", "api_url")

def _type(f: Field) -> dict[str, Any]:
    if f.name == "image_configuration":  # YAML text, or an object where the language writes one
        return {"oneOf": [{"type": "string"}, _ref("ImageConfiguration")]}
    if f.choices:
        return _ref(_enum_for(f.choices))
    if f.type is list:
        return {"type": "array", "items": {"type": "string"}}
    return {"type": {str: "string", bool: "boolean", float: "number"}[f.type]}


def _property(f: Field, *, output: bool = False) -> dict[str, Any]:
    spec = {**_type(f), "description": neutral(f.describe("package"))}
    if f.default is not None and not isinstance(f.default, list) and not output:
        spec["default"] = f.default
    if f.replaces and not output:
        spec["willReplaceOnChanges"] = True
    return spec


def _result_properties(cls: Any) -> dict[str, Any]:
    """The properties of a function result, from its dataclass: a field typed without None is required."""
    hints = typing.get_type_hints(cls)
    properties, required = {}, []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if f.metadata["choices"]:
            spec: dict[str, Any] = _ref(_enum_for(f.metadata["choices"]))
        elif typing.get_origin(kind) is dict:
            spec = {"type": "object", "additionalProperties": {"type": "string"}}
        else:
            spec = {"type": "string"}
        properties[camel(f.name)] = {**spec, "description": neutral(f.metadata["doc"])}
        if type(None) not in typing.get_args(kind):
            required.append(camel(f.name))
    return {"type": "object", "properties": properties, "required": required}


def _summary(doc: str | None) -> str:
    """A docstring's first paragraph: the rest speaks of the Python functions."""
    return neutral((doc or "").strip().split("\n\n")[0])


def _sdk_readme(language: str, install: str) -> str:
    return (f"The {language} SDK of the `{PACKAGE}` Pulumi package: AWS ParallelCluster custom images (AMIs) built "
            "through the ParallelCluster API. Generated from the package's schema; nothing is published under its "
            f"name yet: install it from a checkout of the project (`{install}`). Programs need the provider plugin "
            "`pulumi-resource-pcimage` on `PATH`, which installing the checkout's Python package puts there "
            "(`pip install <checkout>`).\n")


def schema() -> dict[str, Any]:
    config_props = {}
    for name, description, _ in CONFIG:
        config_props[name] = {"type": "string", "description": description}
    inputs = {camel(f.name): _property(f) for f in USER_INPUTS}
    internal = [f for f in INPUTS if f.internal]
    properties = {camel(f.name): _property(f, output=True) for f in (*USER_INPUTS, *OUTPUTS_ONLY, *internal)}
    object_types = {f"{PACKAGE}:index:{cls.__name__}": {"description": _summary(cls.__doc__),
                                                          **_result_properties(cls)}
                    for _, cls, many in FUNCTIONS.values() if many == "list"}
    enum_types = {f"{PACKAGE}:index:{name}": _enum_type(values, description)
                  for name, (values, description) in ENUMS.items()}
    config_types = {f"{PACKAGE}:index:{name}": spec for name, spec in configuration_types().items()}
    funcs = {}
    for token, (doc, cls, many) in FUNCTIONS.items():
        args = {name: {**(_ref(_enum_for(allowed)) if allowed else {"type": "string"}), "description": text}
                for name, (text, allowed, _) in FUNCTION_ARGS[token].items()}
        required = [name for name, (_, _, needed) in FUNCTION_ARGS[token].items() if needed]
        if many == "list":
            outputs = {"type": "object", "properties": {"images": {
                "type": "array", "items": _ref(cls.__name__), "description": LIST_RESULTS[cls]}},
                "required": ["images"]}
        else:
            outputs = _result_properties(cls)
        funcs[token] = {"description": _summary(doc),
                        "inputs": {"type": "object", "properties": args, "required": required},
                        "outputs": outputs}
    return {
        "name": PACKAGE,
        "displayName": "ParallelCluster custom images",
        "version": VERSION,
        "description": "AWS ParallelCluster custom images (AMIs) built through the ParallelCluster API.",
        "keywords": ["aws", "parallelcluster", "hpc", "ami", "kind/native"],
        "homepage": REPOSITORY,
        "license": "Apache-2.0",
        "repository": REPOSITORY,
        "publisher": PUBLISHER,
        "meta": {"moduleFormat": "(.*)", "supportPack": True},
        "config": {"variables": config_props},
        "types": {**object_types, **enum_types, **config_types},
        "provider": {"description": "The pcimage provider: where the ParallelCluster API is and how to sign for it.",
                     "inputProperties": config_props},
        "resources": {RESOURCE: {
            "description": "A ParallelCluster custom image: built on create, replaced when its configuration or "
                           "region changes.",
            "inputProperties": inputs,
            "requiredInputs": [camel(f.name) for f in USER_INPUTS if f.required],
            "properties": properties,
            "required": [camel(f.name) for f in (*USER_INPUTS, *OUTPUTS_ONLY)
                         if f.required or f.default is not None or f.name in ALWAYS_OUTPUT],
        }},
        "functions": funcs,
        "language": {
            "nodejs": {"packageName": NPM_PACKAGE, "respectSchemaVersion": True,
                       "typescriptVersion": TYPESCRIPT_VERSION,
                       "readme": _sdk_readme("Node.js", "npm install <checkout>/sdk/nodejs")},
            "go": {"importBasePath": GO_IMPORT_PATH, "respectSchemaVersion": True},
            "python": {"packageName": PYTHON_PACKAGE, "respectSchemaVersion": True, "pyproject": {"enabled": True},
                       "readme": _sdk_readme("Python", "pip install <checkout>/sdk/python")},
            "csharp": {"rootNamespace": "PcImage", "respectSchemaVersion": True},
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
