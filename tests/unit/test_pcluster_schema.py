"""The image configuration schema: generated from the released ParallelCluster, and held to it.

The checked-in data must be what the generator writes today, and the checker must find a problem exactly where
ParallelCluster's own marshmallow schema does. Both need the generator's inputs (aws-parallelcluster 3.16.1 and
marshmallow); outside CI they are skipped when those are missing, under CI=true they must run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pulumi_pcimage import pcluster_schema

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "scripts" / "generate_config_schema.py"
DATA = ROOT / "pulumi_pcimage" / "pcluster_schema.json"


def _missing_inputs() -> str | None:
    try:
        installed = version("aws-parallelcluster")
    except PackageNotFoundError:
        return "aws-parallelcluster is not installed: pip install --no-deps aws-parallelcluster==3.16.1"
    if installed != pcluster_schema.VERSION:
        return f"aws-parallelcluster {installed} is installed, the schema comes from {pcluster_schema.VERSION}"
    if find_spec("marshmallow") is None:
        return "marshmallow is not installed: pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def generator_inputs() -> None:
    missing = _missing_inputs()
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"CI must check the generated schema, but {missing}")
    if missing:
        pytest.skip(f"the generator's inputs are absent: {missing}")


def test_the_checked_in_schema_is_what_the_generator_writes(generator_inputs):
    run = subprocess.run([sys.executable, str(GENERATOR), "--stdout"], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout == DATA.read_text(encoding="utf-8"), (
        "pulumi_pcimage/pcluster_schema.json is stale: run python scripts/generate_config_schema.py")


def test_the_schema_knows_every_level_of_the_format():
    # What a user of ParallelCluster 3.16.1 can write, from its documentation's image configuration reference.
    assert pcluster_schema.problems({
        "Build": {
            "InstanceType": "c6i.xlarge", "ParentImage": "ami-0123456789abcdef0",
            "SubnetId": "subnet-0123456789abcdef0", "SecurityGroupIds": ["sg-0123456789abcdef0"],
            "Iam": {"InstanceRole": "arn:aws:iam::123456789012:role/builder",
                    "CleanupLambdaRole": "arn:aws:iam::123456789012:role/cleanup",
                    "PermissionsBoundary": "arn:aws:iam::123456789012:policy/boundary"},
            "Components": [{"Type": "script", "Value": "s3://bucket/install.sh"}],
            "Tags": [{"Key": "team", "Value": "hpc"}],
            "UpdateOsPackages": {"Enabled": True},
            "Imds": {"ImdsSupport": "v2.0"},
            "Installation": {"NvidiaSoftware": {"Enabled": False}, "LustreClient": {"Enabled": True}},
        },
        "Image": {"Name": "hpc-base", "Tags": [{"Key": "a", "Value": "b"}],
                  "RootVolume": {"Size": 60, "Encrypted": True, "KmsKeyId": "key"}},
        "DevSettings": {"DisablePclusterComponent": False, "TerminateInstanceOnFailure": True,
                        "DisableValidateAndTest": True, "DisableKernelUpdate": False, "NodePackage": "s3://b/n.tgz",
                        "Cookbook": {"ChefCookbook": "https://example.com/c.tgz", "ExtraChefAttributes": "{}"},
                        "DistributionConfiguration": {"Regions": "us-east-1,eu-west-1", "LaunchPermission": "{}"},
                        "CliAttributeOverrides": "{}"},
        "DeploymentSettings": {"LambdaFunctionsVpcConfig": {"SecurityGroupIds": ["sg-01234567"],
                                                            "SubnetIds": ["subnet-01234567"]}},
        "CustomS3Bucket": "my-bucket",
        "Region": "us-east-1",
    }) == []


@pytest.mark.parametrize("doc, expected", [
    # unknown keys at every level, with the key meant
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1", "UpdateOsPackage": {"Enabled": True}}},
     [("Build.UpdateOsPackage", "unknown key; did you mean UpdateOsPackages?")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1"}, "Imagee": {}},
     [("Imagee", "unknown key; did you mean Image?")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1"}, "Image": {"RootVolume": {"size": 60}}},
     [("Image.RootVolume.size", "unknown key; did you mean Size?")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1", "Tags": [{"Key": "a", "Valeu": "b"}]}},
     [("Build.Tags[0].Valeu", "unknown key; did you mean Value?"), ("Build.Tags[0].Value", "is required")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1"}, "Extras": 1},
     [("Extras", "unknown key; allowed keys are Build, CustomS3Bucket, DeploymentSettings, DevSettings, Image, "
                 "Region")]),
    # types, named
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1", "UpdateOsPackages": True}},
     [("Build.UpdateOsPackages", "must be a mapping (with Enabled), got true or false")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1", "SecurityGroupIds": "sg-01234567"}},
     [("Build.SecurityGroupIds", "must be a list, got a string")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1"}, "Image": {"RootVolume": {"Size": "big"}}},
     [("Image.RootVolume.Size", "must be an integer, got a string")]),
    ({"Build": {"InstanceType": 5, "ParentImage": "ami-1", "UpdateOsPackages": {"Enabled": "maybe"}}},
     [("Build.InstanceType", "must be a string, got an integer"),
      ("Build.UpdateOsPackages.Enabled", "must be true or false, got a string")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1"}, "Image": {"Name": None}},
     [("Image.Name", "is empty: give it a string or remove the key")]),
    # required keys, enums, patterns, lengths
    ({"Image": {"Name": "x"}}, [("Build", "is required")]),
    ({"Build": {"ParentImage": "ami-1", "InstanceType": None}}, [("Build.InstanceType", "is required")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1", "Imds": {"ImdsSupport": "v3"}}},
     [("Build.Imds.ImdsSupport", "'v3' is not one of v1.0, v2.0")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1", "SubnetId": "subnet-1"}},
     [("Build.SubnetId", "'subnet-1' does not match ^subnet-[0-9a-z]{8}$|^subnet-[0-9a-z]{17}$")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1"}, "Image": {"Name": "n" * 100}},
     [("Image.Name", "must have at most 99 characters, got 100")]),
    ({"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1"},
      "DeploymentSettings": {"LambdaFunctionsVpcConfig": {"SecurityGroupIds": [], "SubnetIds": ["subnet-01234567"]}}},
     [("DeploymentSettings.LambdaFunctionsVpcConfig.SecurityGroupIds", "must have at least 1 items, got 0")]),
])
def test_problems_name_the_path_and_the_rule(doc, expected):
    assert pcluster_schema.problems(doc) == expected


@pytest.mark.parametrize("value", [60, "60", 60.0, " 60 "])
def test_sizes_are_taken_as_parallelcluster_takes_them(value):
    doc = {"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1"}, "Image": {"RootVolume": {"Size": value}}}
    assert pcluster_schema.problems(doc) == []


def test_a_configuration_that_is_not_a_mapping():
    assert pcluster_schema.problems(["Build"]) == [
        ("", "must be a mapping (with Build, CustomS3Bucket, DeploymentSettings, DevSettings, Image, Region), "
             "got a list")]


def test_suggestions_ignore_case_first():
    assert pcluster_schema.closest("instancetype", ["InstanceType", "Instance"]) == "InstanceType"
    assert pcluster_schema.closest("Zzz", ["InstanceType"]) is None


# ---------------------------------------------------------------- agreement with ParallelCluster's own schema

SAMPLES = {  # valid strings for keys whose rules live in code the checker leaves to the API
    "ParentImage": "ami-0123456789abcdef0", "SubnetId": "subnet-01234567", "InstanceRole": "arn:aws:iam::1:role/r",
    "CleanupLambdaRole": "arn:aws:iam::1:role/c", "PermissionsBoundary": "arn:aws:iam::1:policy/p",
    "ImdsSupport": "v2.0", "Regions": "us-east-1", "LaunchPermission": "{}", "ExtraChefAttributes": "{}",
    "SecurityGroupIds": "sg-01234567", "SubnetIds": "subnet-01234567", "Key": "team",
}
# Left out: rules ParallelCluster checks in code across keys (Components' Type/Value, Iam's exclusive keys).
SKIPPED = {"Components", "InstanceProfile", "AdditionalIamPolicies"}
WRONG = [None, 42, 10.5, True, "text", [], {}, ["x"]]


@st.composite
def document(draw, schema: str = pcluster_schema.ROOT, depth: int = 0) -> dict:
    doc: dict[str, Any] = {}
    for key, field in pcluster_schema.SCHEMAS[schema].items():
        wanted = draw(st.integers(0, 9)) > 0 if field.get("required") else draw(st.booleans())
        if key in SKIPPED or not wanted:
            continue
        doc[key] = draw(value(key, field, depth))
    if draw(st.integers(0, 4)) == 0:  # a typo of a key, or a key of no schema
        typo = draw(st.sampled_from([*pcluster_schema.SCHEMAS[schema], "Extra"]))
        doc[typo[:-1] if draw(st.booleans()) else typo.lower()] = draw(st.sampled_from(WRONG))
    return doc


@st.composite
def value(draw, key: str, field: dict, depth: int) -> Any:
    kind = field["type"]
    code_checked = kind == "string" and "pattern" not in field and "enum" not in field and key in SAMPLES
    if draw(st.integers(0, 5)) == 0:  # a wrong value; for code-checked keys, only of a wrong type
        inner = field["items"] if kind == "list" else field
        checked = key in SAMPLES and "pattern" not in inner and "enum" not in inner
        return draw(st.sampled_from([w for w in WRONG if not (checked and isinstance(w, (str, list)) and w)]))
    if kind == "object":
        return draw(document(field["schema"], depth + 1))
    if kind == "list":
        return [draw(value(key, field["items"], depth)) for _ in range(draw(st.integers(0, 2)))]
    if code_checked:
        return SAMPLES[key]  # its rule is code the checker leaves to the API
    return draw(st.sampled_from({
        "string": [SAMPLES.get(key, "text"), "ami-1", "x" * 120, "v1.0"],
        "integer": [60, "60", "sixty", 6.5, -1],
        "boolean": [True, False, "yes", "Off", 1, 2, "maybe"],
    }[kind]))


def _marshmallow_paths(errors: Any, path: str = "") -> set[str]:
    if not isinstance(errors, dict):
        return {path}
    found: set[str] = set()
    for key, sub in errors.items():
        where = path if key == "_schema" else f"{path}[{key}]" if isinstance(key, int) else \
            f"{path}.{key}" if path else str(key)
        found |= _marshmallow_paths(sub, where)
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=document())
def test_problems_are_found_exactly_where_parallelcluster_finds_them(generator_inputs, doc):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from marshmallow import ValidationError
        from pcluster.schemas.imagebuilder_schema import ImageBuilderSchema
    ours = pcluster_schema.problems(doc)
    try:
        ImageBuilderSchema().load(doc)
        theirs: set[str] = set()
    except ValidationError as exc:
        theirs = _marshmallow_paths(exc.messages)
    except TypeError:  # a key the schema let through but its resource class needs: AWS fails the request
        assert any(message == pcluster_schema.REQUIRED for _, message in ours)
        return
    extra = {path for path, _ in ours} - theirs
    # marshmallow builds the classes only once everything is valid: until then it does not miss their keys.
    assert {path for path in extra if _field(path).get("required_by") != "constructor"} == set()
    assert theirs - {path for path, _ in ours} == set()


def _field(path: str) -> dict:
    schema, field = pcluster_schema.ROOT, {}
    for key in re.sub(r"\[\d+\]", "", path).split("."):
        field = pcluster_schema.SCHEMAS[schema].get(key, {})
        schema = field.get("items", field).get("schema", "")
    return field
