"""Check against generated bad input, through the real host: every bad input is refused with readable
CheckFailures, no exception escapes, and nothing is sent to the API."""

from __future__ import annotations

import math
import re
from typing import Any
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_ami_id
from pulumi_pcimage.fields import BY_NAME, IMAGE_ID_PATTERN, USER_INPUTS
from pulumi_pcimage.lifecycle import PROVIDER_KEY
from tests.engine.conftest import CONFIG, PROJECT, Deployment
from pulumi_pcimage.testing import ProviderHost

from .conftest import ACCESS_KEY, BUILD_SECONDS, HOST_ENV, SECRET_KEY

EXAMPLES = 1000
MAX_REASON = 600  # characters: a reason is read on a terminal, not scrolled through

# --- what can be wrong ------------------------------------------------------------------------------------------

ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                      st.text(max_size=40), st.lists(st.integers(), max_size=3),
                      st.dictionaries(st.text(max_size=8), st.integers(), max_size=3))
NOT_STR = ANY_VALUE.filter(lambda v: v is not None and not isinstance(v, str))
NOT_BOOL = ANY_VALUE.filter(lambda v: v is not None and not isinstance(v, bool))
NOT_NUMBER = ANY_VALUE.filter(lambda v: v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))))
WRONG_TYPE = {str: NOT_STR, bool: NOT_BOOL, float: NOT_NUMBER,
              list: st.one_of(NOT_STR.filter(lambda v: not isinstance(v, list)),
                              st.lists(NOT_STR, min_size=1, max_size=3))}


def wrong_type(f) -> st.SearchStrategy:
    if f.name == "image_configuration":  # text or a mapping: anything else is wrong
        return st.one_of(st.booleans(), st.integers(), st.floats(), st.lists(st.text(max_size=5), max_size=3))
    return WRONG_TYPE[f.type]


def not_matching(pattern: str) -> st.SearchStrategy:
    return st.text(max_size=60).filter(lambda s: not re.match(pattern, s))


# Fragments that break any YAML document they end.
BREAKERS = ["\n{unclosed: [", "\n\tBuild: tabbed", "\nkey: [a, b", "\n: : :\n  - ]", "\n'unterminated", "\n@reserved",
            "\n!!python/object:os.system ls", "\n---\nsecond: document"]

CONFIGURATIONS = {
    "random text (unicode)": st.text(max_size=300),
    "broken YAML": st.tuples(st.sampled_from([CONFIG, "Build:\n  InstanceType: c6i.xlarge\n"]),
                             st.sampled_from(BREAKERS)).map("".join),
    "not a mapping": st.sampled_from(["", "~", "null", "42", "- Build\n- Image", "just text", "[1, 2]", "'Build'"]),
    "missing keys": st.sampled_from([
        "Image: {Name: x}", "Build: {}", "Build: {InstanceType: c6i.xlarge}", "Build: {ParentImage: ami-0abc}",
        "Build: {InstanceType: '', ParentImage: ami-0abc}", "Build: {InstanceType: c6i.xlarge, ParentImage: 42}",
        "Build: {InstanceType: c6i.xlarge, ParentImage: my-image}", "Build: c6i.xlarge",
        CONFIG + "Region: eu-west-9\n", CONFIG + "Imagee: typo\n", CONFIG.replace("Image:\n", "Image: [")]),
    "unknown keys (unicode)": st.dictionaries(
        st.text(min_size=1, max_size=20).filter(lambda k: k not in ("Build", "Image", "DevSettings", "Region",
                                                                    "CustomS3Bucket", "DeploymentSettings")),
        st.text(max_size=20), min_size=1, max_size=4).map(lambda d: {**d, "Build": {
            "InstanceType": "c6i.xlarge", "ParentImage": official_ami_id("us-east-1")}}),
    "mapping with wrong shapes": st.fixed_dictionaries({"Build": st.one_of(
        st.text(max_size=10), st.lists(st.integers(), max_size=3),
        st.fixed_dictionaries({"InstanceType": NOT_STR, "ParentImage": st.just(official_ami_id("us-east-1"))}),
        st.fixed_dictionaries({"InstanceType": st.just("c6i.xlarge"), "ParentImage": NOT_STR}))}),
    "huge document": st.integers(1_000, 40_000).map(
        lambda n: "Image:\n  Tags:\n" + "".join(f"    - {{Key: k{i}, Value: 'v{i} ✓ ü'}}\n" for i in range(n))
        + "Build: {InstanceType: c6i.xlarge}\n"),
    "deeply nested": st.integers(200, 3000).map(
        lambda depth: "Build: {InstanceType: c6i.xlarge, DevSettings: " + "{a: " * depth + "1" + "}" * depth + "}"),
}


@st.composite
def mutation(draw) -> tuple[str, str, Any]:
    """(kind, property, value): set property to value; value None removes the property."""
    kind = draw(st.sampled_from(["wrong type", "configuration", "bad id", "bad enum", "out of range",
                                 "bad pattern", "unknown property", "missing"]))
    if kind == "wrong type":
        f = draw(st.sampled_from(USER_INPUTS))
        return kind, f.name, draw(wrong_type(f))
    if kind == "configuration":
        what = draw(st.sampled_from(sorted(CONFIGURATIONS)))
        return what, "image_configuration", draw(CONFIGURATIONS[what])
    if kind == "bad id":
        return kind, "image_id", draw(not_matching(IMAGE_ID_PATTERN))
    if kind == "bad enum":
        field = draw(st.sampled_from(["validation_failure_level", "suppress_validators"]))
        if field == "suppress_validators":
            good = st.sampled_from(["ALL", "type:InstanceTypeValidator"])
            bad = not_matching(BY_NAME[field].pattern)
            return kind, field, draw(st.tuples(st.lists(good, max_size=2), bad).map(lambda t: [*t[0], t[1]]))
        return kind, field, draw(st.text(max_size=12).filter(lambda s: s not in ("INFO", "WARNING", "ERROR")))
    if kind == "out of range":
        field = draw(st.sampled_from(["build_timeout_minutes", "delete_timeout_minutes"]))
        return kind, field, draw(st.one_of(st.floats(max_value=0), st.floats(min_value=10080.001),
                                           st.just(math.inf), st.just(-math.inf), st.integers(-10**9, 0)))
    if kind == "bad pattern":
        field = draw(st.sampled_from(["region", "api_url", "role_arn"]))
        return kind, field, draw(not_matching(BY_NAME[field].pattern))
    if kind == "unknown property":
        name = draw(st.text(min_size=1, max_size=30).filter(lambda k: k not in BY_NAME and k != PROVIDER_KEY))
        return kind, name, draw(ANY_VALUE.filter(lambda v: v is not None))
    return kind, "image_configuration", None  # the one required input


# --- the scenario -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checking() -> Iterator[tuple[Deployment, Emulator]]:
    with Emulator(build_seconds=BUILD_SECONDS, access_key=ACCESS_KEY, secret_key=SECRET_KEY) as emulator, \
            ProviderHost(project=PROJECT, env=HOST_ENV) as host:
        yield Deployment(host, emulator), emulator


def test_the_valid_base_input_passes_check(checking):
    image, emulator = checking
    result = image.host.check(image.urn, {}, image.program())
    assert result.failures == [] and emulator.counters()["build_image"] == 1  # only valid input is dry-run
    emulator.reset_counters()


def test_every_bad_input_gets_readable_check_failures_and_sends_nothing(checking, figures):
    image, emulator = checking
    emulator.reset_counters()
    tried = 0

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(mutations=st.lists(mutation(), min_size=1, max_size=3))
    def refused(mutations):
        nonlocal tried
        news = image.program()
        for _, name, value in mutations:
            if value is None:
                news.pop(name, None)
            else:
                news[name] = value
        tried += 1

        result = image.host.check(image.urn, {}, news)  # a provider exception would surface here as HostError

        kinds = [kind for kind, _, _ in mutations]
        assert result.failures, f"accepted bad input ({kinds}): {news}"
        for prop, reason in result.failures:
            assert isinstance(reason, str) and reason.strip(), (prop, reason)
            # The engine prints the property before the reason; a configuration's reason starts with the path in it.
            assert prop in reason or repr(prop) in reason or (prop == "image_configuration" and ": " in reason), \
                f"the reason names its property {prop!r}: {reason}"
            assert len(reason) <= MAX_REASON, f"unreadably long reason ({len(reason)} chars): {reason[:300]}..."
        assert emulator.counters()["total"] == 0, "bad input must never reach the API"

    refused()
    assert tried >= EXAMPLES
    figures.add(bad_inputs_tried=tried)  # in this test: a test of its own would count only if run after it
