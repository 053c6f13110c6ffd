"""The field table: one declaration per field drives validation, the resource and the README table."""

import re

import pytest
from hypothesis import given, strategies as st

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


@pytest.mark.parametrize("value, words", [
    ("my_image", "underscores are not allowed"),
    ("9lives", "must start with a letter"),
    ("x", "must be at least 2 characters long"),
    ("a" * 129, "must be at most 128 characters long"),
    ("hpc base", "may contain only letters a-z and A-Z, digits and hyphens"),
    ("_x", "must start with a letter; underscores are not allowed"),
])
def test_image_id_problems_are_said_in_plain_words(value, words):
    assert BY_NAME["image_id"].problems(value) == [f"image_id {value!r} is not valid: {words}"]


@given(st.text(alphabet=st.sampled_from("aZ09-_ .é\n"), max_size=140) | st.text(max_size=10))
def test_the_plain_words_say_what_the_image_id_pattern_says(value):
    explained = [words for rule, words in fields.IMAGE_ID_RULES if not re.fullmatch(rule, value)]
    if re.fullmatch(fields.IMAGE_ID_PATTERN.strip("^$"), value):
        assert explained == []
    if not re.match(fields.IMAGE_ID_PATTERN, value):
        assert explained, f"{value!r} breaks the pattern but no rule says why"


def test_the_lifecycle_settings_are_the_input_fields_typed_as_declared():
    """lifecycle.Settings: one attribute per input field, in the table's order, of the declared type."""
    import dataclasses
    import types
    import typing

    from pulumi_pcimage.fields import INPUTS
    from pulumi_pcimage.lifecycle.values import Settings, settings

    declared = {str: str, bool: bool, float: float, list: list}
    hints = typing.get_type_hints(Settings)
    assert [f.name for f in dataclasses.fields(Settings)] == [f.name for f in INPUTS]
    for f in INPUTS:
        if f.name == "image_configuration":
            continue  # YAML text or a mapping
        hint = hints[f.name]
        options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
        kinds = {typing.get_origin(t) or t for t in options}
        assert declared[f.type] in kinds, (f.name, hints[f.name])
    s = settings({"image_configuration": "Build: {}", "build_timeout_minutes": 30.0})
    assert s.build_timeout_minutes == 30 and isinstance(s.build_timeout_minutes, int), "numbers normalised"
    assert s.validation_failure_level == "ERROR" and s.suppress_validators == [], "defaults filled in"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.image_id = "x"  # type: ignore[misc]
