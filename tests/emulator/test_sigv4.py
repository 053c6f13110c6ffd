"""SigV4 checked for real: signatures are recomputed with botocore, failures answer like API Gateway."""

from __future__ import annotations

import json
import time

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pulumi_pcimage.emulator import EmulatorControl

from .conftest import CONFIG, Client

MISMATCH = "The request signature we calculated does not match the signature you provided."


def refused(response: requests.Response, error_type: str) -> str:
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-ErrorType"] == error_type
    assert set(response.json()) == {"message"}
    return response.json()["message"]


def signed_then_altered(client: Client, alter, method: str = "POST", path: str = "/v3/images/custom",
                        **kwargs) -> requests.Response:
    prepared = client.session.prepare_request(requests.Request(method, client.emulator.url + path, **kwargs))
    alter(prepared)
    return client.session.send(prepared, timeout=10)


def test_a_request_signed_by_botocore_is_accepted(emulator):
    body = json.dumps({"imageId": "img", "imageConfiguration": CONFIG})
    request = AWSRequest("POST", emulator.url + "/v3/images/custom?suppressValidators=type%3AFoo&dryrun=false",
                         data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("testing", "testing"), "execute-api", emulator.region).add_auth(request)
    response = requests.post(request.url, data=body, headers=dict(request.headers.items()), timeout=10)
    assert response.status_code == 202, response.text


def test_no_signature(emulator):
    response = requests.get(emulator.url + "/v3/images/official", timeout=10)
    assert refused(response, "MissingAuthenticationTokenException") == "Missing Authentication Token"
    assert emulator.counters()["auth_failures"] == 1
    assert emulator.counters()["list_official_images"] == 0


def test_wrong_secret(emulator):
    response = Client(emulator, secret_key="not-the-secret")("GET", "/v3/images/official")
    assert refused(response, "InvalidSignatureException").startswith(MISMATCH)


def test_unknown_access_key(emulator):
    response = Client(emulator, access_key="AKIDUNKNOWN")("GET", "/v3/images/official")
    assert refused(response, "UnrecognizedClientException") == "The security token included in the request is invalid."


def test_altered_body(client, emulator):
    def alter(prepared):
        prepared.body = prepared.body.replace(b'"img"', b'"evil"')

    response = signed_then_altered(client, alter, json={"imageId": "img", "imageConfiguration": CONFIG})
    assert refused(response, "InvalidSignatureException").startswith(MISMATCH)
    assert emulator.images() == []


def test_altered_query(client):
    def alter(prepared):
        prepared.url = prepared.url.replace("dryrun=true", "dryrun=false")

    response = signed_then_altered(client, alter, params={"dryrun": "true"},
                                   json={"imageId": "img", "imageConfiguration": CONFIG})
    assert refused(response, "InvalidSignatureException").startswith(MISMATCH)


def test_altered_path(client):
    def alter(prepared):
        prepared.url = prepared.url.replace("/custom/one", "/custom/two")

    response = signed_then_altered(client, alter, method="DELETE", path="/v3/images/custom/one")
    assert refused(response, "InvalidSignatureException").startswith(MISMATCH)


@pytest.mark.parametrize("skew, prefix", [(600, "Signature expired: "), (-600, "Signature not yet current: ")])
def test_dates_more_than_five_minutes_off(client, emulator, skew, prefix):
    emulator.verifier.clock = lambda: time.time() + skew  # the emulator's clock moves, the client's does not
    message = refused(client("GET", "/v3/images/official"), "InvalidSignatureException")
    assert message.startswith(prefix)
    emulator.verifier.clock = lambda: time.time() + 240  # within five minutes
    assert client("GET", "/v3/images/official").status_code == 200


def test_wrong_service(emulator):
    response = Client(emulator, service="lambda")("GET", "/v3/images/official")
    assert refused(response, "InvalidSignatureException") == \
        "Credential should be scoped to correct service: 'execute-api'. "


def test_wrong_region(emulator):
    # The signing region is the API's own region, even for images in another region.
    response = Client(emulator, region="eu-west-1")("GET", "/v3/images/official", params={"region": "eu-west-1"})
    assert refused(response, "InvalidSignatureException") == \
        "Credential should be scoped to a valid region, not 'eu-west-1'. "


def test_malformed_authorization_header(emulator):
    response = requests.get(emulator.url + "/v3/images/official", timeout=10,
                            headers={"Authorization": "AWS4-HMAC-SHA256 Signature=abc"})
    message = refused(response, "IncompleteSignatureException")
    assert "requires 'Credential' parameter" in message and "'X-Amz-Date'" in message


def test_keys_can_be_rotated_while_running(emulator):
    old, new = Client(emulator), Client(emulator, access_key="AKIDNEW", secret_key="new-secret")
    assert old("GET", "/v3/images/official").status_code == 200
    emulator.set_credentials([("AKIDNEW", "new-secret")])
    assert new("GET", "/v3/images/official").status_code == 200
    assert old("GET", "/v3/images/official").status_code == 403
    EmulatorControl(emulator.base_url).set_credentials([("testing", "testing"), ("AKIDNEW", "new-secret")])
    assert old("GET", "/v3/images/official").status_code == 200
    assert new("GET", "/v3/images/official").status_code == 200
