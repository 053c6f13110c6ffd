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


def test_a_whole_number_is_the_same_as_text_and_as_the_double_the_pulumi_wire_brings():
    text = BASE + "  RootVolume: {Size: 200}\n"
    doc = {**config.load(BASE), "Image": {"Name": "hpc base", "RootVolume": {"Size": 200.0}}}
    assert config.canonical(doc) == config.canonical(text) == config.canonical(text.replace("200", "200.0"))
    assert config.canonical(text.replace("200", "200.5")) != config.canonical(text)
    assert config.canonical({"Build": {"Sizes": [1.0, 2.5]}}) == config.canonical("Build: {Sizes: [1, 2.5]}")
    # inside a list each item still counts, by its value: a change there is a change
    assert config.canonical("Build: {Sizes: [1, 2.5]}") != config.canonical("Build: {Sizes: [1, 3]}")
    tags = "Build:\n  Tags:\n    - {Key: size, Value: '%s'}\n"
    assert config.canonical(tags % "a") != config.canonical(tags % "b")
    assert config.canonical_json(doc) != config.canonical_json(text), "identities hash the document as it is"


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
    assert [str(p) for p in config.validate(doc, "us-east-1")] == [
        "Build.ParentImage: 'centos7' must be an AMI id (ami-...) or an image ARN (arn:...)",
        "Build.InstanceType: is required: the EC2 instance type that builds the image, e.g. c6i.xlarge",
        "Imagee: unknown key; did you mean Image?",
        "Region: is 'eu-west-1' but the resource's region is 'us-east-1'; remove Region from the configuration or "
        "make them equal",
    ]


def test_missing_build_section():
    assert [str(p) for p in config.validate({"Image": {"Name": "x"}})] == [
        "Build: is required: a mapping with at least InstanceType and ParentImage"]


@pytest.mark.parametrize("text, expected", [
    (BASE.replace("  InstanceType", "  UpdateOsPackage: {Enabled: true}\n  InstanceType"),
     "Build.UpdateOsPackage: unknown key; did you mean UpdateOsPackages?"),
    (BASE + "Devsettings: {}\n", "Devsettings: unknown key; did you mean DevSettings?"),
    (BASE + "  RootVolume: {Size: 60, Encrypt: true}\n",
     "Image.RootVolume.Encrypt: unknown key; did you mean Encrypted?"),
    (BASE + "  Tags: [{Key: team, Valeu: hpc, Value: hpc}]\n", "Image.Tags[0].Valeu: unknown key; did you mean Value?"),
    (BASE.replace("  InstanceType", "  Installation: {NvidiaSoftware: {enabled: true}}\n  InstanceType"),
     "Build.Installation.NvidiaSoftware.enabled: unknown key; did you mean Enabled?"),
    (BASE + "Tags: []\n", "Tags: unknown key; allowed keys are Build, CustomS3Bucket, DeploymentSettings, "
                          "DevSettings, Image, Region"),
])
def test_a_typo_at_any_level_is_named_with_the_key_meant(text, expected):
    assert [str(p) for p in config.validate(config.load(text), "us-east-1")] == [expected]


@pytest.mark.parametrize("text, expected", [
    (BASE + "  RootVolume: {Size: sixty}\n", "Image.RootVolume.Size: must be an integer, got a string"),
    (BASE + "  Tags: {team: hpc}\n", "Image.Tags: must be a list, got a mapping"),
    (BASE.replace("  InstanceType", "  UpdateOsPackages: yes\n  InstanceType"),
     "Build.UpdateOsPackages: must be a mapping (with Enabled), got true or false"),
    (BASE.replace("  InstanceType", "  UpdateOsPackages: {Enabled: maybe}\n  InstanceType"),
     "Build.UpdateOsPackages.Enabled: must be true or false, got a string"),
    (BASE.replace("c6i.xlarge", "42"), "Build.InstanceType: must be a string, got an integer"),
    (BASE + "  Tags: [{Key: team}]\n", "Image.Tags[0].Value: is required"),
    (BASE + "  Tags: [{Key: team, Vaule: hpc}]\n",  # both, as AWS says: fixing the typo fixes both
     "Image.Tags[0].Vaule: unknown key; did you mean Value?\nImage.Tags[0].Value: is required"),
    (BASE.replace("  ParentImage: ami-0123456789abcdef0\n", ""),
     "Build.ParentImage: is required: an AMI id (ami-...) or an EC2 Image Builder image ARN (arn:...)"),
    (BASE.replace("c6i.xlarge", "''"),
     "Build.InstanceType: is required: the EC2 instance type that builds the image, e.g. c6i.xlarge"),
    (BASE + "DevSettings: {DistributionConfiguration: {LaunchPermission: '{}'}}\n",
     "DevSettings.DistributionConfiguration.Regions: is required"),
    (BASE.replace("  InstanceType", "  Imds: {ImdsSupport: v3}\n  InstanceType"),
     "Build.Imds.ImdsSupport: 'v3' is not one of v1.0, v2.0"),
])
def test_types_required_keys_and_values_name_the_rule(text, expected):
    assert [str(p) for p in config.validate(config.load(text), "us-east-1")] == expected.split("\n")


@pytest.mark.parametrize("instance_type, expected", [
    ("c6i.xlarg", "'c6i.xlarg' is not a known EC2 instance type; did you mean c6i.xlarge?"),
    ("c6i.2xlareg", "'c6i.2xlareg' is not a known EC2 instance type; did you mean c6i.2xlarge?"),
    ("t3.mirco", "'t3.mirco' is not a known EC2 instance type; did you mean t3.micro?"),
    ("C6i.xlarge", "'C6i.xlarge' is not a known EC2 instance type; did you mean c6i.xlarge?"),
    ("c6ixlarge", "'c6ixlarge' is not a known EC2 instance type; did you mean c6i.xlarge?"),
])
def test_a_mistyped_instance_type_gets_the_one_meant(instance_type, expected):
    doc = config.load(BASE.replace("c6i.xlarge", instance_type))
    assert [str(p) for p in config.validate(doc, "us-east-1")] == [f"Build.InstanceType: {expected}"]


@pytest.mark.parametrize("instance_type", [
    "c6i.xlarge", "u-6tb1.metal", "m7i.metal-48xl",  # known to botocore
    "c99i.xlarge", "c7i.96xlarge", "x9z.metal-64xl",  # newer than any botocore: the API's dry run decides
    "my-own-accelerator",  # nothing close: nothing to suggest, left to the API as well
])
def test_an_instance_type_is_never_refused_for_being_new(instance_type):
    assert config.validate(config.load(BASE.replace("c6i.xlarge", instance_type)), "us-east-1") == []


def test_every_instance_type_botocore_knows_has_a_size_the_typo_check_lets_through():
    # A new size in a botocore upgrade must be added to _WELL_FORMED_TYPE, or its types would be called typos.
    known = config._ec2_instance_types()
    assert len(known) > 500
    assert [t for t in known if config._instance_type_typo(t) is not None] == []
    assert [t for t in known if not config._WELL_FORMED_TYPE.fullmatch(t)] == []


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
    text = ("Image: {Tags: &t [{Key: team, Value: hpc}]}\n"
            "Build: {InstanceType: c5.xlarge, ParentImage: ami-1, Tags: *t}\n")
    assert config.load(text)["Build"]["Tags"] == [{"Key": "team", "Value": "hpc"}]
    assert "&" not in config.canonical(text) and "*" not in config.canonical(text)


def test_a_screenful_of_problems_then_a_count():
    doc = config.load(BASE + "  Tags:\n" + "".join(f"    - {{Key: k{i}, Vaule: v}}\n" for i in range(30)))
    problems = [str(p) for p in config.validate(doc, "us-east-1")]
    assert problems[:2] == ["Image.Tags[0].Vaule: unknown key; did you mean Value?", "Image.Tags[0].Value: is required"]
    assert len(problems) == 21 and problems[-1] == "(configuration): and 40 more problems"


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
