"""The field table: one declaration per field drives validation, the resource and the README table."""

import re

import pytest

from pulumi_pcimage import fields
from pulumi_pcimage.fields import BY_NAME, FIELDS


def test_each_field_is_declared_once_in_snake_case():
    names = [f.name for f in FIELDS]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)


def test_outputs_come_from_describe_and_inputs_do_not():
    assert all(bool(f.source) == f.output_only for f in FIELDS)


def test_defaults_satisfy_their_own_rules():
    for f in FIELDS:
        if f.default is not None:
            assert f.problems(f.default) == [], f.name


@pytest.mark.parametrize("name, value", [("build_timeout_minutes", 1e9), ("build_timeout_minutes", float("nan")),
                                         ("build_timeout_minutes", True), ("region", "US-EAST-1"),
                                         ("api_url", "ftp://x"), ("suppress_validators", "ALL")])
def test_rules_reject(name, value):
    assert BY_NAME[name].problems(value)


def test_numbers_come_back_as_int_when_integral():
    f = BY_NAME["build_timeout_minutes"]
    assert (f.normalise(180.0), f.normalise(0.5), type(f.normalise(180.0))) == (180, 0.5, int)


def test_reference_table_lists_every_user_input_with_default_and_replacement():
    table = fields.reference_table_markdown()
    for f in FIELDS:
        assert f"| `{f.name}` |" in table
    assert "| `image_configuration` | string (YAML) or mapping | required | yes |" in table
    assert "| `rollback_on_failure` | bool | `true` | no |" in table
    assert "| `build_timeout_minutes` | number | `180` | no |" in table
    assert "| `validation_failure_level` | `INFO` \\| `WARNING` \\| `ERROR` | `ERROR` | no |" in table
    assert "| `ami_id` | string | The AMI id of the built image. |" in table
