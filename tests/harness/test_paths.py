"""ignoreChanges paths as the engine applies them (pulumi/pulumi `properties_path.go`, `PropertyPath.Reset`; the CLI
agrees in tests/cli/test_model_agreement.py::test_ignore_changes_inside_the_configuration)."""

import pytest

from pulumi_pcimage.testing.paths import ignore_changes, parse

OLD = {"imageConfiguration": {"Build": {"InstanceType": "c6i.xlarge"}, "Image": {"Name": "hpc"}},
       "tags": ["a", "b"], "region": "us-east-1"}


def test_paths_parse_as_the_engine_reads_them():
    assert parse("imageConfiguration.Build.InstanceType") == ["imageConfiguration", "Build", "InstanceType"]
    assert parse('tags[1]["key.with.dots"]') == ["tags", 1, "key.with.dots"]
    assert parse("items[*].name") == ["items", "*", "name"]
    with pytest.raises(ValueError):
        parse("tags[1")


def test_the_old_value_is_put_back_inside_objects():
    news = {"imageConfiguration": {"Build": {"InstanceType": "c6i.2xlarge"}, "Image": {"Name": "hpc"}},
            "tags": ["a", "c"], "region": "eu-west-1"}
    ignored, invalid = ignore_changes(news, OLD, ["imageConfiguration.Build.InstanceType", "tags[1]", "region"])
    assert ignored == OLD and invalid == []
    assert news["region"] == "eu-west-1", "the program's inputs are left as they were"


def test_a_key_the_old_inputs_lack_is_removed():
    ignored, invalid = ignore_changes({**OLD, "awsProfile": "dev"}, OLD, ["awsProfile"])
    assert ignored == OLD and invalid == []


def test_a_path_into_an_element_on_one_side_only_is_reported_and_left_alone():
    news = {**OLD, "imageConfiguration": {"Build": {"InstanceType": "c6i.2xlarge"}}}
    ignored, invalid = ignore_changes(news, OLD, ["imageConfiguration.Image.Name", "tags[5]"])
    assert ignored == news and invalid == ["imageConfiguration.Image.Name"]


def test_a_path_into_text_changes_nothing_and_is_not_reported():
    olds, news = {"imageConfiguration": "Build: {InstanceType: a}"}, {"imageConfiguration": "Build: {InstanceType: b}"}
    assert ignore_changes(news, olds, ["imageConfiguration.Build.InstanceType"]) == (news, [])
