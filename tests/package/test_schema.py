"""What `pulumi package add` and the engine read first: plugin info, the schema, the provider configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pulumi_pcimage import __version__  # the one version: pyproject reads it (tests/test_errors.py)
from pulumi_pcimage.package import schema as generator

from .conftest import PROVIDER_URN

ROOT = Path(__file__).resolve().parents[2]
tomllib = pytest.importorskip("tomllib")  # Python 3.11+
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
TOKEN = re.compile(r"^pcimage:index:[A-Za-z][A-Za-z0-9]*$")


def refs(node, found=None) -> list[str]:
    found = [] if found is None else found
    if isinstance(node, dict):
        found += [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)
    return found


def test_the_plugin_reports_the_package_version(plugin):
    assert plugin.plugin_info() == __version__


def test_the_schema_is_structurally_sound(plugin):
    schema = plugin.schema()
    assert schema["name"] == "pcimage" and schema["version"] == __version__
    tokens = [*schema["resources"], *schema["functions"], *schema["types"]]
    assert sorted(tokens) == sorted(["pcimage:index:CustomImage", "pcimage:index:getOfficialImages",
                                     "pcimage:index:listImages", "pcimage:index:getImage",
                                     "pcimage:index:OfficialImage", "pcimage:index:ImageSummary",
                                     *(f"pcimage:index:{name}" for name in generator.ENUMS),
                                     *(f"pcimage:index:{name}" for name in generator.configuration_types())])
    assert all(TOKEN.match(t) for t in tokens), tokens
    for ref in refs(schema):  # every type reference resolves
        assert ref == "pulumi.json#/Any" or ref.removeprefix("#/types/") in schema["types"], ref
    for spec in [*schema["resources"].values(), *schema["types"].values()]:
        assert set(spec.get("required", [])) <= set(spec.get("properties", {}))
        assert set(spec.get("requiredInputs", [])) <= set(spec.get("inputProperties", {}))
    for function in schema["functions"].values():
        assert set(function["inputs"].get("required", [])) <= set(function["inputs"]["properties"])
        assert set(function["outputs"].get("required", [])) <= set(function["outputs"]["properties"])
    assert schema["config"]["variables"] == schema["provider"]["inputProperties"]


def test_the_schema_declares_what_programs_write(plugin):
    schema = plugin.schema()
    image = schema["resources"]["pcimage:index:CustomImage"]
    assert sorted(image["inputProperties"]) == sorted([
        "imageConfiguration", "imageId", "region", "apiUrl", "awsProfile", "roleArn", "suppressValidators",
        "validationFailureLevel", "rollbackOnFailure", "forceDelete", "buildTimeoutMinutes",
        "deleteTimeoutMinutes", "validateOnPreview", "keepFailedImage", "adoptExisting"])
    assert image["requiredInputs"] == ["imageConfiguration"]
    assert {"amiId", "amiName", "imageBuildStatus", "imageId", "region"} <= set(image["properties"])
    assert [name for name, spec in image["inputProperties"].items() if spec.get("willReplaceOnChanges")] == [
        "imageConfiguration", "imageId", "region"]
    assert sorted(schema["config"]["variables"]) == sorted(
        ["apiUrl", "apiStackName", "apiStackRegion", "region", "profile", "roleArn"])
    assert schema["functions"]["pcimage:index:listImages"]["inputs"]["required"] == ["imageStatus"]
    assert schema["functions"]["pcimage:index:getImage"]["outputs"]["properties"]["amiId"]["type"] == "string"


def test_the_shipped_schema_is_the_generated_one(plugin):
    shipped = (Path(generator.__file__).parent / "plugin" / "schema.json").read_text()
    assert shipped == generator.schema_json(), (
        "pulumi_pcimage/package/plugin/schema.json is stale: python -m pulumi_pcimage.package.schema > it")
    assert plugin.schema() == generator.schema()


def test_pip_installs_the_plugin_and_its_directory():
    assert PYPROJECT["project"]["scripts"]["pulumi-resource-pcimage"] == "pulumi_pcimage.package.server:main"
    assert "package/plugin/*" in PYPROJECT["tool"]["setuptools"]["package-data"]["pulumi_pcimage"]
    plugin_dir = Path(generator.__file__).parent / "plugin"
    assert yaml.safe_load((plugin_dir / "PulumiPlugin.yaml").read_text()) == {"runtime": "python"}
    assert "from pulumi_pcimage.package.server import main" in (plugin_dir / "__main__.py").read_text()
    requirements = [line for line in (plugin_dir / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    assert requirements == ["pulumi-pcimage"]


def test_check_config_names_the_setting_and_the_rule(plugin, emulator):
    result = plugin.check_config(PROVIDER_URN, {}, {"apiUrl": emulator.url, "region": "us-east-1"})
    assert result.failures == []
    result = plugin.check_config(PROVIDER_URN, {}, {"apiUrl": "ftp://x", "region": "Virginia", "roleArn": "me",
                                                    "apiUrll": emulator.url})
    reasons = dict(result.failures)
    assert sorted(reasons) == ["apiUrl", "apiUrll", "region", "roleArn"]
    assert "pcimage:apiUrl" in reasons["apiUrl"] and "^https?://" in reasons["apiUrl"]
    assert reasons["region"].startswith("pcimage:region: region must match") and "Virginia" not in reasons["region"]
    assert "unknown setting 'apiUrll'" in reasons["apiUrll"] and "apiUrl" in reasons["apiUrll"]
