"""Image configurations that cost minutes or gigabytes are refused by check, quickly and readably, never by a crash."""

from __future__ import annotations

import pytest

from pulumi_pcimage import config
from pulumi_pcimage.provider import CustomImageProvider

BUILD = "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n"


def alias_expansion(scalar_kib: int = 100, aliases: int = 1000) -> str:
    """One large scalar referred to by many aliases: ~0.1 MiB of YAML, ~100 MiB once written out."""
    return (BUILD + f"DevSettings:\n  Cookbook: &big {'x' * (scalar_kib * 1024)}\n"
            + "  Copies: [" + ", ".join(["*big"] * aliases) + "]\n")


def nested(levels: int) -> str:
    return BUILD + "Image:\n  Tags: " + "[" * levels + "]" * levels + "\n"


def nested_dict(levels: int) -> dict:
    doc = leaf = {}
    for _ in range(levels):
        leaf["x"] = {}
        leaf = leaf["x"]
    return {"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-0"}, "DevSettings": doc}


def check(configuration) -> dict[str, str]:
    inputs = {"image_configuration": configuration, "image_id": "hpc-base", "region": "us-east-1",
              "api_url": "http://127.0.0.1:1/prod", "validate_on_preview": False,
              "owner": "urn:pulumi:dev::proj::pulumi-python:dynamic/pcimage:CustomImage::hpc-base"}
    return {f.property: f.reason for f in CustomImageProvider().check({}, inputs).failures}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("configuration, rule", [
    (alias_expansion(), "characters once its YAML aliases are written out"),
    (alias_expansion(scalar_kib=180, aliases=1000), "characters once its YAML aliases are written out"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]\n"
                                                    for p, c in zip("abcdefgh", "bcdefghi", strict=True)),
     "written out"),
    (BUILD + "DevSettings:\n  Blob: " + "x" * (20 * 1024 * 1024) + "\n", "characters long"),
    (nested(400), "nested more than"),
    (nested(550), "nested more than"),
    (nested_dict(90), "nested more than"),  # a mapping from the program: gRPC's Struct stops at ~100 levels
], ids=["alias-0.1MiB", "alias-0.18MiB", "billion-laughs", "20MB-text", "nested-400", "nested-550", "dict-90"])
def test_a_costly_configuration_is_a_check_failure(configuration, rule):
    assert rule in check(configuration)["image_configuration"]


def test_a_deep_mapping_is_refused_by_load_without_recursing_into_it():
    with pytest.raises(config.ConfigError, match="nested more than"):
        config.load(nested_dict(5000))


@pytest.mark.parametrize("configuration", [nested(400), nested_dict(90), alias_expansion()],
                         ids=["nested-400", "dict-90", "alias-0.1MiB"])
def test_diff_of_a_costly_configuration_neither_crashes_nor_expands_it(configuration):
    olds = {"image_configuration": BUILD, "image_id": "hpc-base", "region": "us-east-1"}
    news = {**olds, "image_configuration": configuration}
    assert "image_configuration" in CustomImageProvider().diff("hpc-base", olds, news).replaces


def test_the_limits_leave_room_for_real_configurations():
    tags = "".join(f"    - Key: team-{n}\n      Value: {'v' * 200}\n" for n in range(50))
    components = "".join(f"    - Type: arn\n      Value: arn:aws:imagebuilder:us-east-1:aws:component/c{n}/1.0.0/1\n"
                         for n in range(30))  # with the 50 tags: 80 mappings side by side, only 3 levels deep
    text = BUILD + "  Components:\n" + components + "Image:\n  Name: hpc\n  Tags:\n" + tags + \
        "DevSettings:\n  Cookbook:\n    ChefCookbook: " + "https://example.com/" + "c" * 5000 + "\n"
    assert config.load(text)["Image"]["Tags"][49]["Key"] == "team-49"
    assert check(text) == {}
