"""Property-based run of the released spec against a live emulator: no uninjected 500s, answers conform.

Only the image operations are exercised; requests are SigV4-signed like a real client's. Faults are switched on
so the run also proves injected ones are told apart (they carry the fault header and are skipped).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from requests_aws4auth import AWS4Auth
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.app import FAULT_HEADER
from tests.support.openapi import spec_text

schema = schemathesis.openapi.from_dict(yaml.safe_load(spec_text())).include(path_regex=r"^/v3/images")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live() -> Iterator[Emulator]:
    with Emulator(build_seconds=0.5, delete_seconds=0.1, error_rate=0.05, seed=11) as emulator:
        yield emulator


def unreadable_by_aws(body: object) -> bool:
    """A configuration AWS's build_image reads outside its error mapping and answers 500 for (as the emulator
    does; tests/conformance holds both to it): YAML that does not parse, or not a mapping of mappings."""
    text = body.get("imageConfiguration") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return False
    try:
        config = yaml.safe_load(text) or {}
        if not config.get("Build", {}).get("Iam", {}).get("CleanupLambdaRole"):
            config.get("DeploymentSettings", {}).get("LambdaFunctionsVpcConfig")
    except (yaml.YAMLError, AttributeError):
        return True
    return False


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_released_spec_holds(case, live):
    response = case.call(base_url=live.url, auth=AWS4Auth("testing", "testing", live.region, "execute-api"),
                         timeout=10)
    if FAULT_HEADER.lower() in {name.lower() for name in response.headers}:
        return  # injected on purpose (API Gateway's 502/503 are not in the spec)
    if response.request.method != case.operation.method.upper():  # schemathesis also probes undeclared methods
        assert (response.status_code, response.json()) == (403, {"message": "Missing Authentication Token"})
        return
    assert response.status_code != 403, response.text  # every generated request is signed correctly
    if response.status_code == 500 and unreadable_by_aws(case.body):
        assert set(response.json()) == {"message"}
        return
    case.validate_response(response, checks=CHECKS)
