"""Identity (ids, owners, generations) and log redaction, fast and without a host; tests/engine and tests/security
prove the same through the real provider host."""

import logging
import re

import pytest

from pulumi_pcimage import identity, redact
from pulumi_pcimage.fields import IMAGE_ID_PATTERN

CONFIG = "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n"


def urn(name="hpc-base", project="proj", stack="dev", type_="pulumi-python:dynamic/pcimage:CustomImage"):
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


# ---------------------------------------------------------------- identity

@pytest.mark.parametrize("value", ["hpc-base", "urn:pulumi:dev::proj", "urn:pulumi:dev::proj::type::",
                                   "urn:pulumi:::proj::type::name"])
def test_a_value_that_is_not_a_full_urn_is_refused_with_the_shape_expected(value):
    with pytest.raises(ValueError, match=re.escape(f"{value!r} is not a Pulumi URN (urn:pulumi:<stack>::<project>::"
                                                   "<type>::<name>)")):
        identity.parse_urn(value)


def test_a_urn_splits_into_stack_project_type_chain_and_name():
    parent = "my:module:Parent$pulumi-python:dynamic/pcimage:CustomImage"
    assert identity.parse_urn(urn("a::b", type_=parent)) == ("dev", "proj", parent, "a::b")


def test_the_owner_names_the_resource_and_fits_an_aws_tag_value():
    marker = identity.owner_marker(urn())
    assert re.fullmatch(r"proj/dev/hpc-base@[0-9a-f]{16}", marker)
    assert identity.owner_marker(marker) == marker, "idempotent on a marker"
    long = identity.owner_marker(urn("n" * 400))
    assert len(long) == 256 and long.startswith("proj/dev/nnn") and re.search(r"n@[0-9a-f]{16}$", long)
    assert identity.owner_marker(urn(type_="my:x:Parent$t")) != marker, "the parent chain counts"


def test_a_derived_id_is_the_name_made_safe_and_a_digest_within_128_characters():
    image_id = identity.derive_image_id(urn("my_image.v2"), CONFIG, "us-east-1")
    assert re.fullmatch(r"my-image-v2-[0-9a-f]{10}", image_id)
    assert re.fullmatch(r"img-2024-base-[0-9a-f]{10}", identity.derive_image_id(urn("2024 base"), CONFIG, "us-east-1"))
    assert re.fullmatch(r"img-[0-9a-f]{10}", identity.derive_image_id(urn("___"), CONFIG, "us-east-1"))
    long = identity.derive_image_id(urn("a" * 116 + "-" + "b" * 50), CONFIG, "us-east-1")
    assert re.fullmatch(r"a{116}-[0-9a-f]{10}", long), "cut to 128 characters, no dash left before the digest"
    longest = identity.derive_image_id(urn("c" * 300), CONFIG, "us-east-1")
    assert len(longest) == 128 and re.match(IMAGE_ID_PATTERN, longest)


def test_a_derived_id_changes_with_configuration_and_region_but_not_formatting():
    base = identity.derive_image_id(urn(), CONFIG, "us-east-1")
    assert identity.derive_image_id(urn(), "Build: {ParentImage: ami-0123456789abcdef0, InstanceType: c6i.xlarge}",
                                    "us-east-1") == base
    assert identity.derive_image_id(urn(), CONFIG, "eu-west-1") != base
    assert identity.derive_image_id(urn(), CONFIG.replace("xlarge", "2xlarge"), "us-east-1") != base


def test_generations_and_dry_run_ids_are_fresh_each_time_and_valid():
    generations = {identity.new_generation() for _ in range(50)}
    assert len(generations) == 50 and all(re.fullmatch(r"[0-9a-f]{16}", g) for g in generations)
    dryrun = identity.dryrun_image_id()
    assert re.fullmatch(r"pcimage-dryrun-[0-9a-f]{16}", dryrun) and re.match(IMAGE_ID_PATTERN, dryrun)
    assert dryrun != identity.dryrun_image_id()


def test_a_generation_from_the_engines_seed_has_the_same_form_and_is_the_same_for_the_same_seed():
    # a preview saved with --save-plan and the `up --plan` after it get the same seed: the same generation tag
    seeded = identity.new_generation(b"\x01" * 32)
    assert re.fullmatch(r"[0-9a-f]{16}", seeded), seeded
    assert identity.new_generation(b"\x01" * 32) == seeded != identity.new_generation(b"\x02" * 32)


# ---------------------------------------------------------------- redaction

def test_redaction_covers_query_strings_headers_json_and_sts_xml():
    text = ("GET /x?X-Amz-Signature=abc123&X-Amz-Credential=AKID%2F20260101 "
            "{'X-Amz-Security-Token': b'FQoGZXIvYXdz'} \"SecretAccessKey\": \"wJalr\" "
            "<SessionToken>IQoJb3JpZ2lu</SessionToken><SecretAccessKey>wJalrXUt</SecretAccessKey>")
    redacted = redact.redact(text)
    for secret in ("abc123", "AKID%2F20260101", "FQoGZXIvYXdz", "wJalr", "IQoJb3JpZ2lu"):
        assert secret not in redacted
    assert "<SessionToken>REDACTED</SessionToken>" in redacted and "X-Amz-Signature=REDACTED" in redacted


def test_a_value_without_secrets_is_returned_as_is_and_one_with_secrets_is_copied():
    clean = {"message": "Invalid image configuration.", "errors": [{"level": "ERROR"}, "plain"], "n": 3}
    assert redact.redact_value(clean) is clean
    dirty = {"message": "denied", "url": ["https://s3/x?X-Amz-Signature=abc"], "n": 3}
    assert redact.redact_value(dirty) == {"message": "denied", "url": ["https://s3/x?X-Amz-Signature=REDACTED"],
                                          "n": 3}
    assert dirty["url"] == ["https://s3/x?X-Amz-Signature=abc"], "the original is not modified"
    assert redact.redact_value(["a", "b"]) == ["a", "b"] and redact.redact_value(None) is None


@pytest.fixture
def records(monkeypatch):
    monkeypatch.setattr(redact, "_installed", False)
    original = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(original)


@pytest.mark.parametrize("name", ["urllib3", "urllib3.connectionpool", "botocore.endpoint", "boto3.resources",
                                  "requests", "requests_aws4auth", "s3transfer.tasks"])
def test_library_debug_records_are_redacted_once_installed(records, name):
    redact.install()
    record = logging.getLogger(name).makeRecord(name, logging.DEBUG, "f", 1, "url %s", ("?X-Amz-Signature=abc",),
                                                None)
    assert record.getMessage() == "url ?X-Amz-Signature=REDACTED"


@pytest.mark.parametrize("name", ["myapp", "urllib3x", "pulumi_pcimage"])
def test_other_records_are_left_alone(records, name):
    redact.install()
    record = logging.getLogger(name).makeRecord(name, logging.DEBUG, "f", 1, "url %s", ("?X-Amz-Signature=abc",),
                                                None)
    assert record.getMessage() == "url ?X-Amz-Signature=abc"


def test_install_is_idempotent_and_a_malformed_record_is_left_to_logging(records):
    redact.install()
    factory = logging.getLogRecordFactory()
    redact.install()
    assert logging.getLogRecordFactory() is factory
    record = logging.getLogger("botocore").makeRecord("botocore", logging.DEBUG, "f", 1, "%s %s", ("one",), None)
    assert (record.msg, record.args) == ("%s %s", ("one",))


# ---------------------------------------------------------------- adoption verdicts

ME, OTHER = "proj/dev/hpc-base@0123456789abcdef", "other/prod/img@fedcba9876543210"


@pytest.mark.parametrize("same, owner, generation, adopt, started, verdict", [
    (True, ME, "g2", False, False, identity.ADOPT),  # our earlier attempt (another generation): wait for it
    (True, ME, "g1", False, False, identity.REPLACED_GENERATION),  # the live image a replacement replaces
    (True, ME, "g1", False, True, identity.ADOPT),  # this very Create's own lost build
    (True, OTHER, "g1", False, False, identity.FOREIGN),
    (True, OTHER, "g1", True, False, identity.ADOPT),  # adopt_existing takes it over
    (False, ME, "g2", True, False, identity.PREVIOUS_CONFIGURATION),
    (False, OTHER, "g2", True, False, identity.FOREIGN),
    (None, ME, "g1", True, True, identity.FOREIGN),  # unreadable configuration: never adopted
])
def test_adoption_verdicts(same, owner, generation, adopt, started, verdict):
    found = identity.Existing(same_configuration=same, owner=owner, generation=generation)
    assert identity.adoption(found, owner=ME, generation="g1", adopt_existing=adopt, started_here=started) == verdict


def test_no_generation_on_either_side_is_the_same_generation():
    found = identity.Existing(same_configuration=True, owner=ME, generation=None)
    assert identity.adoption(found, owner=ME, generation="", adopt_existing=False) == identity.REPLACED_GENERATION
    found = identity.Existing(same_configuration=True, owner=ME, generation="")
    assert identity.adoption(found, owner=ME, generation=None, adopt_existing=False) == identity.REPLACED_GENERATION


def test_an_empty_owner_is_nobodys():
    found = identity.Existing(same_configuration=False, owner="", generation=None)
    assert identity.adoption(found, owner="", generation="g", adopt_existing=False) == identity.FOREIGN


@pytest.mark.parametrize("name, stem", [
    ("v2-image", "v2-image"),  # a letter then a digit: kept as it is
    ("Xray-X", "Xray-X"),  # only separators are trimmed, whatever letters the name ends with
    ("1X", "img-1X"),
    ("a" * 116 + "X" * 50, "a" * 116 + "X"),  # cut to 128 with the digest
])
def test_a_derived_id_keeps_every_letter_of_the_name(name, stem):
    assert re.fullmatch(rf"{stem}-[0-9a-f]{{10}}", identity.derive_image_id(urn(name), CONFIG, "us-east-1"))


def test_a_fresh_process_redacts_library_records_after_install():
    import subprocess
    import sys

    code = ("import logging\nfrom pulumi_pcimage import redact\nredact.install()\n"
            "print(logging.getLogger('urllib3').makeRecord('urllib3', 10, 'f', 1, '%s', ('X-Amz-Signature=abc',), "
            "None).getMessage())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out == "X-Amz-Signature=REDACTED\n"
