"""What check says about each kind of bad value, word for word (the field table's messages)."""

import pytest

from .test_provider import inputs, prov  # noqa: F401 (prov: the fixture)


def reasons(prov, **overrides):
    return {f.property: f.reason for f in prov.check({}, inputs(validate_on_preview=False, **overrides)).failures}


@pytest.mark.parametrize("image_id, words", [
    ("1abc", "must start with a letter"),
    ("a_b", "underscores are not allowed"),
    ("a", "must be at least 2 characters long"),
    ("a" * 129, "must be at most 128 characters long"),
    ("ab.c", "may contain only letters a-z and A-Z, digits and hyphens"),
    ("_1", "must start with a letter; underscores are not allowed"),
])
def test_an_image_id_is_refused_in_plain_words(prov, api, image_id, words):
    assert reasons(prov, image_id=image_id)["image_id"] == f"image_id {image_id!r} is not valid: {words}"


@pytest.mark.parametrize("field, value, expected", [
    ("build_timeout_minutes", "soon", "a number"),
    ("build_timeout_minutes", True, "a number"),
    ("suppress_validators", "ALL", "a list of strings"),
    ("force_delete", "yes", "true or false"),
    ("aws_profile", 7, "a string"),
])
def test_a_value_of_the_wrong_type_names_the_type_wanted(prov, api, field, value, expected):
    assert reasons(prov, **{field: value})[field] == f"{field} must be {expected}, got {value!r}"


@pytest.mark.parametrize("field", ["build_timeout_minutes", "delete_timeout_minutes"])
@pytest.mark.parametrize("value", [0, -1, 10080.5, 10081, float("nan")])
def test_a_timeout_out_of_range_names_the_range(prov, api, field, value):
    assert reasons(prov, **{field: value})[field] == (
        f"{field} is {value!r} but must be greater than 0 and at most 10080")


@pytest.mark.parametrize("field", ["build_timeout_minutes", "delete_timeout_minutes"])
def test_the_longest_timeout_is_a_week(prov, api, field):
    assert field not in reasons(prov, **{field: 10080})


def test_a_choice_names_the_choices(prov, api):
    assert reasons(prov, validation_failure_level="FATAL")["validation_failure_level"] == (
        "validation_failure_level is 'FATAL' but must be one of INFO, WARNING, ERROR")


def test_validators_given_as_a_tuple_are_kept_as_a_list(prov, api):
    result = prov.check({}, inputs(validate_on_preview=False, suppress_validators=("ALL",)))
    assert result.failures == [] and result.inputs["suppress_validators"] == ["ALL"]


def test_a_bad_validator_item_is_named_with_the_rule(prov, api):
    assert reasons(prov, suppress_validators=["ALL", "InstanceTypeValidator"])["suppress_validators"] == (
        "suppress_validators items ['InstanceTypeValidator'] must be strings matching ^(ALL|type:[A-Za-z0-9]+)$")
