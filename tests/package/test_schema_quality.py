"""The schema as every language's generated SDK and docs show it: a description on everything, in no language's
words; the image configuration typed from ParallelCluster's own schema; enumerations where the API has them;
required and optional as the API has them; the package's metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from pulumi_pcimage import fields, functions, pcluster_schema
from pulumi_pcimage.package import schema as generator

SCHEMA = generator.schema()
TYPES = SCHEMA["types"]
IMAGE = SCHEMA["resources"][generator.RESOURCE]
# Words of one language: snake_case names, Python's types and values, this package's Python modules.
PYTHONIC = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)+\b|\bdict\b|\bNone\b|\bTrue\b|\bFalse\b|pulumi_pcimage"
                      r"|\bPython\b|\bkwargs?\b|\b\w*Error\b")


def described() -> Iterator[tuple[str, str | None]]:
    """(where, description) of every property, type, argument, result and function of the schema."""
    for group in ("config",):
        for name, spec in SCHEMA[group]["variables"].items():
            yield f"config {name}", spec.get("description")
    yield "provider", SCHEMA["provider"].get("description")
    for token, resource in SCHEMA["resources"].items():
        yield token, resource.get("description")
        for kind in ("inputProperties", "properties"):
            for name, spec in resource[kind].items():
                yield f"{token} {kind} {name}", spec.get("description")
    for token, spec in TYPES.items():
        yield token, spec.get("description")
        for name, prop in spec.get("properties", {}).items():
            yield f"{token}.{name}", prop.get("description")
    for token, function in SCHEMA["functions"].items():
        yield token, function.get("description")
        for side in ("inputs", "outputs"):
            for name, spec in function[side]["properties"].items():
                yield f"{token} {side} {name}", spec.get("description")


@pytest.mark.parametrize("where, text", list(described()), ids=lambda v: v if isinstance(v, str) and " " not in v
                         and "." not in v else None)
def test_everything_is_described_in_no_languages_words(where, text):
    assert text and text.strip(), f"{where} has no description"
    found = [m.group(0) for m in PYTHONIC.finditer(text) if m.group(0) != "x86_64"]
    assert not found, f"{where}: {found} in {text!r}"


def test_field_names_are_spelled_as_the_package_spells_them():
    text = IMAGE["inputProperties"]["keepFailedImage"]["description"] + IMAGE["properties"]["imageBuildStatus"][
        "description"] + IMAGE["properties"]["secretConfiguration"]["description"]
    assert "`keepFailedImage`" in IMAGE["properties"]["imageBuildStatus"]["description"]
    assert "`imageConfiguration`" in text and "image_configuration" not in text
    assert "`region`" in IMAGE["inputProperties"]["region"]["description"]  # the provider's setting, not aws:region
    assert "aws:region" not in str(SCHEMA)


def test_the_image_configuration_is_typed_from_parallelclusters_schema():
    assert IMAGE["inputProperties"]["imageConfiguration"]["oneOf"] == [
        {"type": "string"}, {"$ref": "#/types/pcimage:index:ImageConfiguration"}]
    assert IMAGE["properties"]["imageConfiguration"]["oneOf"] == IMAGE["inputProperties"]["imageConfiguration"][
        "oneOf"]
    kinds = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}

    def check(spec: dict, prop: dict, where: str) -> None:
        if spec["type"] == "object":
            assert prop["$ref"] == f"#/types/pcimage:index:{generator._config_type_name(spec['schema'])}", where
        elif spec["type"] == "list":
            assert prop["type"] == "array", where
            check(spec["items"], prop["items"], where + "[]")
        elif "enum" in spec:
            enum = TYPES[prop["$ref"].removeprefix("#/types/")]
            assert [v["value"] for v in enum["enum"]] == spec["enum"], where
        else:
            assert prop["type"] == kinds[spec["type"]], where

    for name, keys in pcluster_schema.SCHEMAS.items():
        typed = TYPES[f"pcimage:index:{generator._config_type_name(name)}"]
        assert list(typed["properties"]) == list(keys), name  # every key ParallelCluster accepts, no other
        assert typed.get("required", []) == [k for k, spec in keys.items() if spec.get("required")], name
        for key, spec in keys.items():
            check(spec, typed["properties"][key], f"{name}.{key}")
    root = TYPES["pcimage:index:ImageConfiguration"]
    assert root["required"] == ["Build"] and TYPES["pcimage:index:ImageConfigurationBuild"]["required"] == [
        "InstanceType", "ParentImage"]
    assert "Must match `^ami|arn`." in TYPES["pcimage:index:ImageConfigurationBuild"]["properties"][
        "ParentImage"]["description"]


def test_values_the_api_enumerates_are_enumerations():
    def values(ref: dict) -> list[str]:
        return [v["value"] for v in TYPES[ref["$ref"].removeprefix("#/types/")]["enum"]]

    args = SCHEMA["functions"]["pcimage:index:getOfficialImages"]["inputs"]["properties"]
    assert values(args["os"]) == list(functions.SUPPORTED_OSES)
    assert values(args["architecture"]) == ["x86_64", "arm64"]
    status = SCHEMA["functions"]["pcimage:index:listImages"]["inputs"]["properties"]["imageStatus"]
    assert values(status) == ["AVAILABLE", "PENDING", "FAILED"]
    assert values(IMAGE["properties"]["imageBuildStatus"]) == list(fields.IMAGE_BUILD_STATUSES)
    assert values(IMAGE["properties"]["architecture"]) == ["x86_64", "arm64"]
    assert values(IMAGE["inputProperties"]["validationFailureLevel"]) == ["INFO", "WARNING", "ERROR"]
    summary = TYPES["pcimage:index:ImageSummary"]["properties"]
    assert values(summary["imageBuildStatus"]) == list(fields.IMAGE_BUILD_STATUSES)
    # Every field with a fixed set of values is typed with an enumeration.
    for f in fields.FIELDS:
        if f.choices and not f.internal:
            assert "$ref" in generator._property(f), f.name
    # Member names every language accepts (`v1.0` is no identifier).
    for token, spec in TYPES.items():
        for member in spec.get("enum", []):
            assert re.fullmatch(r"[A-Z][A-Za-z0-9_]*", member["name"]), (token, member)


def test_required_as_the_api_has_it():
    official = TYPES["pcimage:index:OfficialImage"]
    assert official["required"] == ["amiId", "name", "os", "architecture", "version"]  # openapi AmiInfo
    assert TYPES["pcimage:index:ImageSummary"]["required"] == ["imageId", "imageBuildStatus", "region", "version"]
    image = SCHEMA["functions"]["pcimage:index:getImage"]["outputs"]
    assert image["required"][:4] == ["imageId", "imageBuildStatus", "region", "version"]
    assert "amiId" not in image["required"]  # only once the build is complete
    assert SCHEMA["functions"]["pcimage:index:listImages"]["inputs"]["required"] == ["imageStatus"]
    assert SCHEMA["functions"]["pcimage:index:getOfficialImages"]["inputs"]["required"] == []
    assert "amiId" not in IMAGE["required"]  # a failed build kept for inspection has none


def test_no_property_is_secret_by_itself():
    # None holds a credential (those come from the AWS credential chain); the provider keeps whatever the program
    # marks secret secret (tests/cli/test_package_face.py), so no property is declared always-secret.
    assert '"secret"' not in generator.schema_json()


def test_the_package_metadata():
    assert SCHEMA["license"] == "Apache-2.0"
    assert SCHEMA["repository"] == SCHEMA["homepage"] == generator.REPOSITORY
    assert SCHEMA["publisher"] == generator.PUBLISHER
    assert SCHEMA["meta"]["supportPack"] is True
    assert SCHEMA["language"]["go"]["importBasePath"] == generator.GO_IMPORT_PATH
    assert SCHEMA["language"]["nodejs"]["packageName"] == generator.NPM_PACKAGE
    assert SCHEMA["language"]["python"]["packageName"] == generator.PYTHON_PACKAGE
