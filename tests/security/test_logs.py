"""DEBUG logging of the whole client lifecycle (stack discovery, assumed role, build, describe, the presigned fetch,
delete, an error) shows no signature, session token or secret key — also in urllib3's and botocore's records."""

from __future__ import annotations

import io
import json
import logging

import boto3
import pytest
from moto import mock_aws
from werkzeug.wrappers import Response

from pulumi_pcimage import errors
from pulumi_pcimage.client import ParallelClusterClient, RetryPolicy
from pulumi_pcimage.presigned import fetch_presigned_configuration
from pulumi_pcimage.endpoint import resolve_api_url
from tests.client.fixtures import SECRET_KEY
from tests.client.server import DESCRIBED, Reply

SOURCE_TOKEN = "IQoJsourceSESSIONtokenFROMtheENVIRONMENT"
PRESIGNED_TOKEN = "IQoJapiROLEtokenINtheURL"
PRESIGNED_SIGNATURE = "5a9c0f1e2d3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5"
CONFIG = "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n"


@pytest.fixture
def debug_log():
    """Everything logged at DEBUG by any library, formatted as a user's handler would write it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_debug_log_of_the_whole_lifecycle_holds_no_secret(make_client, server, host, debug_log, monkeypatch):
    monkeypatch.setenv("AWS_SESSION_TOKEN", SOURCE_TOKEN)
    presigned = host(lambda request: Response(CONFIG, mimetype="application/x-yaml"))
    url = (f"{presigned.origin}/parallelcluster/images/hpc-base/config.yaml?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           f"&X-Amz-Credential=ASIAAPIROLE%2F20240101%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Security-Token="
           f"{PRESIGNED_TOKEN}&X-Amz-Signature={PRESIGNED_SIGNATURE}")
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"ParallelClusterApiInvokeUrl": {"Value": server.url}}}
    with mock_aws():
        boto3.client("cloudformation", region_name="eu-west-1").create_stack(
            StackName="pcluster-api", TemplateBody=json.dumps(template))
        api_url = resolve_api_url(config={"pcimage:apiStackName": "pcluster-api",
                                          "pcimage:apiStackRegion": "eu-west-1"}, environ={})
        client = ParallelClusterClient(api_url, region="eu-west-1", role_arn="arn:aws:iam::123456789012:role/builder",
                                       retry=RetryPolicy(sleep=lambda _: None))
        server.script(Reply(202, {"image": {"imageId": "hpc-base"}}),
                      Reply(200, {**DESCRIBED, "imageConfiguration": {"url": url}}),
                      Reply(202, {"image": {"imageId": "hpc-base", "imageBuildStatus": "DELETE_IN_PROGRESS"}}),
                      Reply(404, {"message": f"no such image; token x-amz-security-token:{SOURCE_TOKEN}"}))
        client.build_image("hpc-base", CONFIG, rollback_on_failure=True)
        described = client.describe_image("hpc-base")
        assert fetch_presigned_configuration(described["imageConfiguration"]["url"], api_url=api_url) == CONFIG
        client.delete_image("hpc-base")
        with pytest.raises(errors.NotFoundError) as missing:
            client.describe_image("hpc-base")
        assumed = client._auth()._auth.refreshable_credentials.get_frozen_credentials()

    # werkzeug's lines are the fake API's and S3's own access logs, which run in this process only for the test.
    text = "\n".join(line for line in debug_log.getvalue().splitlines() if not line.startswith("werkzeug "))
    # The log is not empty of what matters: the role was assumed, the presigned URL fetched, both under DEBUG.
    assert "AssumeRole" in text and "/parallelcluster/images/hpc-base/config.yaml" in text
    assert "urllib3.connectionpool DEBUG" in text and "botocore" in text and "REDACTED" in text
    secrets = {"source secret key": SECRET_KEY, "source session token": SOURCE_TOKEN,
               "assumed role's secret key": assumed.secret_key, "assumed role's session token": assumed.token,
               "presigned URL's session token": PRESIGNED_TOKEN, "presigned URL's signature": PRESIGNED_SIGNATURE}
    assert {name for name, secret in secrets.items() if secret in text} == set()
    # The error the user sees keeps the answer's body, redacted like its message.
    assert SOURCE_TOKEN not in json.dumps(missing.value.body) and SOURCE_TOKEN not in str(missing.value)
    assert "no such image" in missing.value.body["message"]


def test_an_api_errors_body_is_redacted_like_its_message(client, server):
    mismatch = ("The request signature we calculated does not match the signature you provided.\n\nThe Canonical "
                "String for this request should have been\n'GET\n/prod/v3/images/custom/x\n\nhost:api\n"
                f"x-amz-security-token:{SOURCE_TOKEN}\n'")
    server.script(Reply(403, {"message": mismatch, "detail": {"url": f"https://b.s3.amazonaws.com/k?X-Amz-Signature="
                                                                     f"{PRESIGNED_SIGNATURE}"}}))
    with pytest.raises(errors.AuthError) as refused:
        client.describe_image("x")
    body = json.dumps(refused.value.body)
    assert SOURCE_TOKEN not in body and PRESIGNED_SIGNATURE not in body
    assert "Canonical String" in refused.value.body["message"] and "REDACTED" in body
