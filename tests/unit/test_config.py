"""The image configuration: canonical form, local validation, ownership tag."""

import pytest
from hypothesis import given, strategies as st

from pulumi_pcimage import config

BASE = """\
# an HPC base image
Build:
  InstanceType: c6i.xlarge
  ParentImage: ami-0123456789abcdef0
Image:
  Name: hpc base
"""


def test_comments_key_order_quoting_and_whitespace_do_not_count():
    edited = """\
Image: {Name: 'hpc base'}   # renamed nothing, just flow style
Build:
    ParentImage: "ami-0123456789abcdef0"
    InstanceType:    c6i.xlarge
"""
    assert config.canonical(edited) == config.canonical(BASE)


def test_dict_and_yaml_text_have_the_same_canonical_form():
    doc = {"Image": {"Name": "hpc base"},
           "Build": {"ParentImage": "ami-0123456789abcdef0", "InstanceType": "c6i.xlarge"}}
    assert config.canonical(doc) == config.canonical(BASE)


def test_a_real_change_changes_the_canonical_form():
    assert config.canonical(BASE.replace("c6i.xlarge", "c6i.2xlarge")) != config.canonical(BASE)


def test_anchors_are_expanded():
    text = "Build: &b {InstanceType: t3.large, ParentImage: ami-1}\nDevSettings: {Extra: *b}\n"
    assert "&" not in config.canonical(text) and "*" not in config.canonical(text)


def test_load_copies_dicts():
    doc = {"Build": {"InstanceType": "t3.large"}}
    loaded = config.load(doc)
    loaded["Build"]["InstanceType"] = "changed"
    assert doc["Build"]["InstanceType"] == "t3.large"


@pytest.mark.parametrize("text, hint", [("", "empty"), ("- a\n- b\n", "list"), ("Build: [unclosed", "YAML")])
def test_load_rejects_what_is_not_a_mapping(text, hint):
    with pytest.raises(config.ConfigError, match=hint):
        config.load(text)


# Printable text: PyYAML does not round-trip control characters such as NEL in keys; configs never have them.
_text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=8)


@given(st.dictionaries(st.sampled_from(["Build", "Image", "DevSettings"]),
                       st.dictionaries(_text.filter(bool), st.one_of(_text, st.integers(), st.booleans()),
                                       max_size=4)))
def test_canonical_is_idempotent_and_order_free(doc):
    once = config.canonical(doc)
    assert config.canonical(once) == once
    assert config.canonical(dict(reversed(list(doc.items())))) == once


def test_valid_configuration_has_no_problems():
    assert config.validate(config.load(BASE), "us-east-1") == []


def test_problems_name_the_path_and_the_fix():
    doc = {"Build": {"ParentImage": "centos7"}, "Imagee": {}, "Region": "eu-west-1"}
    problems = {p.path: p.message for p in config.validate(doc, "us-east-1")}
    assert set(problems) == {"Imagee", "Build.InstanceType", "Build.ParentImage", "Region"}
    assert "allowed keys are Build, CustomS3Bucket, DeploymentSettings, DevSettings, Image, Region" \
        in problems["Imagee"]
    assert "c6i.xlarge" in problems["Build.InstanceType"]
    assert "ami-" in problems["Build.ParentImage"]
    assert "'eu-west-1'" in problems["Region"] and "'us-east-1'" in problems["Region"]


def test_missing_build_section():
    assert [p.path for p in config.validate({"Image": {"Name": "x"}})] == ["Build"]


def test_region_in_config_is_fine_when_equal_or_resource_region_unset():
    doc = config.load(BASE + "Region: us-east-1\n")
    assert config.validate(doc, "us-east-1") == [] and config.validate(doc, None) == []


def test_ownership_tag_round_trip_keeps_user_tags():
    doc = config.load(BASE + "  Tags:\n    - {Key: team, Value: hpc}\n")
    owned = config.with_owner(doc, "proj/dev/base")
    assert config.owner_of(owned) == "proj/dev/base"
    assert {"Key": "team", "Value": "hpc"} in owned["Image"]["Tags"]
    assert config.owner_of(doc) is None  # the input was not modified
    assert config.canonical(config.without_owner(owned)) == config.canonical(doc)
    # re-owning replaces the marker instead of adding a second one
    assert [t["Key"] for t in config.with_owner(owned, "other")["Image"]["Tags"]].count(config.OWNER_TAG) == 1


def test_ownership_tag_on_a_config_without_image_section():
    doc = {"Build": {"InstanceType": "t3.large", "ParentImage": "ami-1"}}
    owned = config.with_owner(doc, "p/s/r")
    assert owned["Image"]["Tags"] == [{"Key": config.OWNER_TAG, "Value": "p/s/r"}]
    assert config.without_owner(owned) == doc
    assert not config.OWNER_TAG.startswith("parallelcluster:")  # ParallelCluster reserves that prefix


BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10) if i else ', '.join(['x'] * 10)}]\n" for i in range(6))


@pytest.mark.parametrize("text, reason", [
    (BOMB + "Build: {InstanceType: c5.xlarge, ParentImage: ami-1}\n", "expands to more than 100,000 values"),
    ("Build: &b {InstanceType: c5.xlarge, ParentImage: ami-1, Again: *b}\n", "refers to itself"),
])
def test_alias_bombs_and_self_references_are_refused_before_they_are_written_out(text, reason):
    with pytest.raises(config.ConfigError, match=reason):
        config.canonical(text)


def test_aliases_of_ordinary_size_are_written_out():
    text = "Image: {Tags: &t [{Key: team, Value: hpc}]}\nBuild: {InstanceType: c5.xlarge, ParentImage: ami-1, Tags: *t}\n"
    assert config.load(text)["Build"]["Tags"] == [{"Key": "team", "Value": "hpc"}]
    assert "&" not in config.canonical(text) and "*" not in config.canonical(text)


def test_configuration_changes_name_the_paths_that_differ():
    from pulumi_pcimage.lifecycle import configuration_changes

    old = "Build: {InstanceType: c6i.xlarge, ParentImage: ami-1, Components: [{Type: script, Value: a}]}\n"
    new = ("# reordered and commented\nBuild:\n  ParentImage: ami-1\n  InstanceType: c7i.xlarge\n"
           "  Components: [{Type: script, Value: b}]\n  UpdateOsPackages: {Enabled: true}\nImage: {Name: x}\n")
    assert configuration_changes(old, new) == {
        "Build.InstanceType": "update", "Build.Components[0].Value": "update",
        "Build.UpdateOsPackages": "add", "Image": "add"}
    assert configuration_changes(new, old)["Image"] == "delete"
    assert configuration_changes(old, old.replace("{", "{ ")) == {}
    assert configuration_changes(old, "not: [valid") == {}, "unparseable: no paths, the property still changes"
