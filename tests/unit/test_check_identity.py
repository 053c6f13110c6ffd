"""Check: the endpoint rules, the identity it derives and keeps, and what a secret configuration lets it quote."""

import logging
import re

import pytest
from pulumi.output import Unknown

from pulumi_pcimage.errors import DryrunSucceeded

from .fakeapi import validation_error
from .test_provider import CHANGED, REFORMATTED, inputs, prov, urn  # noqa: F401 (prov: the fixture)


def check(prov, olds=None, **overrides):
    return prov.check(olds or {}, inputs(validate_on_preview=False, **overrides))


def test_api_url_is_normalised_and_its_rules_enforced_at_check(prov, api):
    assert check(prov, api_url="http://127.0.0.1:1/prod/").inputs["api_url"] == "http://127.0.0.1:1/prod"
    failures = {f.property: f.reason for f in check(prov, api_url="http://10.0.0.8/prod").failures}
    assert failures["api_url"].startswith("api_url 'http://10.0.0.8/prod' must be https")


def test_a_derived_identity_is_kept_while_the_image_would_be_built_the_same(prov, api):
    first = check(prov, image_id=None).inputs
    assert re.fullmatch(r"hpc-base-[0-9a-f]{10}", first["image_id"])
    assert re.fullmatch(r"proj/dev/hpc-base@[0-9a-f]{16}", first["owner"])
    assert re.fullmatch(r"[0-9a-f]{16}", first["generation"])
    again = check(prov, olds=first, image_id=None, image_configuration=REFORMATTED).inputs
    assert [again[k] for k in ("image_id", "owner", "generation")] == [first[k] for k in ("image_id", "owner",
                                                                                       "generation")]
    pinned_before = check(prov, olds={**first, "region": None}, image_id=None).inputs
    assert pinned_before["image_id"] == first["image_id"], "state from before regions were pinned rebuilds nothing"


@pytest.mark.parametrize("change", [{"image_configuration": CHANGED}, {"region": "eu-west-1"}])
def test_a_different_build_gets_a_new_id_and_keeps_the_generation(prov, api, change):
    first = check(prov, image_id=None).inputs
    changed = check(prov, olds=first, image_id=None, **change).inputs
    assert changed["image_id"] != first["image_id"] and changed["image_id"].startswith("hpc-base-")
    assert changed["generation"] == first["generation"] and changed["owner"] == first["owner"]


def test_a_fixed_image_id_is_kept_and_an_old_generation_too(prov, api):
    first = check(prov).inputs
    again = check(prov, olds=first).inputs
    assert again["image_id"] == "hpc-base" and again["generation"] == first["generation"]
    assert check(prov, olds={**first, "generation": None}).inputs["generation"] == ""


def test_an_unreadable_old_configuration_derives_afresh(prov, api):
    first = check(prov, image_id=None).inputs
    fresh = check(prov, olds={**first, "image_configuration": "Build: [", "owner": first["owner"]}, image_id=None,
                  owner=urn("renamed")).inputs
    assert fresh["owner"].startswith("proj/dev/renamed@") and fresh["image_id"].startswith("renamed-")


def test_an_owner_that_is_not_a_urn_is_refused(prov, api):
    failures = {f.property: f.reason for f in check(prov, owner="someone").failures}
    assert failures == {"owner": "owner must be the resource's URN (CustomImage sets it)"}


def test_unknown_owner_or_configuration_leaves_the_id_unknown(prov, api):
    unknown = Unknown()
    by_owner = check(prov, image_id=None, owner=unknown).inputs
    assert isinstance(by_owner["owner"], Unknown) and isinstance(by_owner["image_id"], Unknown)
    by_config = check(prov, image_id=None, image_configuration=unknown).inputs
    assert isinstance(by_config["image_id"], Unknown) and by_config["owner"].startswith("proj/dev/hpc-base@")
    by_region = check(prov, image_id=None, region=unknown).inputs
    assert isinstance(by_region["image_id"], Unknown)


SECRET = "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\nImage:\n  Name: abc\n"


@pytest.mark.parametrize("secret", [True, False])
def test_a_secret_configuration_is_not_quoted_back_by_the_dry_run(prov, api, secret):
    api.raise_on["build_image"] = [validation_error(
        ("AmiValidator", "ERROR", "ami-0123456789abcdef0 (abc) is not available in us-east-1"))]
    result = prov.check({}, inputs(image_configuration=SECRET, secret_configuration=secret))
    (failure,) = result.failures
    shown = "*** (***)" if secret else "ami-0123456789abcdef0 (abc)"
    assert failure.reason == f"AmiValidator (ERROR): {shown} is not available in us-east-1"


def test_unreadable_secret_text_is_not_quoted_in_the_yaml_error(prov, api):
    failures = {f.property: f.reason for f in prov.check({}, inputs(
        image_configuration="Build:\n  ParentImage: [ami-secret-0001\n", secret_configuration=True)).failures}
    assert failures["image_configuration"].startswith("image_configuration is not valid YAML at line 3")
    assert "ami-secret-0001" not in failures["image_configuration"]


def test_dry_run_warnings_are_logged_and_pass(prov, api, caplog):
    api.raise_on["build_image"] = [DryrunSucceeded("Request would have succeeded, but DryRun flag is set.", body={
        "validationMessages": [{"type": "UrlValidator", "level": "WARNING", "message": "bucket is slow"}]})]
    with caplog.at_level(logging.WARNING, logger="pulumi_pcimage"):
        assert prov.check({}, inputs()).failures == []
    assert "image hpc-base: UrlValidator (WARNING): bucket is slow" in caplog.text


def test_a_renamed_resource_keeps_its_image_while_the_build_is_the_same(prov, api):
    first = check(prov, image_id=None).inputs
    renamed = check(prov, olds=first, image_id=None, owner=urn("renamed"), image_configuration=REFORMATTED).inputs
    assert [renamed[k] for k in ("image_id", "owner", "generation")] == [first[k] for k in ("image_id", "owner",
                                                                                         "generation")]
    moved = check(prov, olds=first, image_id=None, owner=urn("renamed"), region="eu-west-1").inputs
    assert moved["image_id"].startswith("renamed-") and moved["owner"].startswith("proj/dev/renamed@")
