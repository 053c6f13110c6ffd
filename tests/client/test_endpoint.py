"""Where the API is: explicit > stack config > environment > CloudFormation stack outputs."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.endpoint import api_region, default_region, normalize_api_url, resolve_api_url
from pulumi_pcimage.errors import EndpointNotConfigured
from pulumi_pcimage.signing import signing_region

URL = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"


@pytest.mark.parametrize("url, region", [
    ("https://abc123.execute-api.us-east-1.amazonaws.com/prod", "us-east-1"),
    ("https://ABC123.execute-api.eu-west-1.amazonaws.com/", "eu-west-1"),
    ("https://abc123.execute-api.cn-north-1.amazonaws.com.cn/prod", "cn-north-1"),
    ("https://abc123.execute-api.us-gov-west-1.amazonaws.com/prod", "us-gov-west-1"),
    ("https://abc123-vpce-0a1b2c.execute-api.ap-southeast-2.vpce.amazonaws.com/prod", "ap-southeast-2"),
    ("https://api.example.com/prod", None),
    ("http://127.0.0.1:8080/prod", None),
    ("https://abc.execute-api.us-east-1.amazonaws.com.evil.example/prod", None),
])
def test_api_region_from_the_host_name(url, region):
    assert api_region(url) == region
    assert signing_region(url, "sa-east-1") == (region or "sa-east-1")
    assert signing_region(url) == (region or "us-east-1")


@pytest.mark.parametrize("url, signed_for", [
    ("https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod", "ap-southeast-2"),
    ("http://127.0.0.1:8080/prod", "eu-west-1"),
])
def test_a_client_signs_for_the_apis_region_else_its_own(url, signed_for):
    client = ParallelClusterClient(url, region="eu-west-1")
    assert (client.region, client.signing_region) == ("eu-west-1", signed_for)


@pytest.mark.parametrize("given, normal", [
    (URL, URL),
    (URL + "/", URL),
    (f"  {URL}//  ", URL),
    (URL + "/v3", URL),
    (URL + "/v3/images/custom/", URL),
    ("https://api.example.com/v3", "https://api.example.com"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("https://api.example.com/a/b/v3/images", "https://api.example.com/a/b"),
])
def test_normalisation_keeps_the_stage(given, normal):
    assert normalize_api_url(given) == normal


@pytest.mark.parametrize("bad, rule", [
    ("abc123.execute-api.us-east-1.amazonaws.com/prod", "must be an http"),
    ("ftp://example.com/prod", "must be an http"),
    ("https:///prod", "must be an http"),
    (URL + "?stage=prod", "query string"),
])
def test_bad_urls_name_the_source_and_the_rule(bad, rule):
    with pytest.raises(EndpointNotConfigured, match=rule) as raised:
        resolve_api_url(config={"pcimage:apiUrl": bad}, environ={})
    assert "stack config pcimage:apiUrl" in str(raised.value)


def test_nothing_configured_lists_all_four_ways():
    with pytest.raises(EndpointNotConfigured) as raised:
        resolve_api_url(config={}, environ={})
    text = str(raised.value)
    for way in ("api_url", "pcimage:apiUrl", "PCLUSTER_API_URL", "pcimage:apiStackName", "PCLUSTER_API_STACK_NAME",
                "ParallelClusterApiInvokeUrl"):
        assert way in text


def test_precedence_explicit_config_environment():
    env = {"PCLUSTER_API_URL": "https://env.example.com/prod", "PCLUSTER_API_STACK_NAME": "never-read"}
    config = {"pcimage:apiUrl": "https://config.example.com/prod/"}
    assert resolve_api_url("https://explicit.example.com/x/", config=config, environ=env) == \
        "https://explicit.example.com/x"
    assert resolve_api_url(config=config, environ=env) == "https://config.example.com/prod"
    assert resolve_api_url(config={}, environ=env) == "https://env.example.com/prod"


def test_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("PCLUSTER_API_URL", URL + "/v3/")
    assert resolve_api_url() == URL


class ShortKeys:
    """Like pulumi.Config("pcimage"): keys without the namespace."""

    def __init__(self, values):
        self.values = values

    def get(self, key):
        return self.values.get(key)


def test_config_forms():
    import pulumi.dynamic

    assert resolve_api_url(config=ShortKeys({"apiUrl": URL}), environ={}) == URL
    assert resolve_api_url(config={"pcimage:config:apiUrl": URL}, environ={}) == URL
    # inside the provider host the Config namespaces short keys with the *project* name, so full keys are used
    host_config = pulumi.dynamic.Config(raw_config={"pcimage:apiUrl": URL, "myproj:apiUrl": "https://wrong"},
                                        project_name="myproj")
    assert resolve_api_url(config=host_config, environ={}) == URL


def test_pulumi_config_in_a_program():
    import contextvars

    import pulumi
    from pulumi.runtime.config import set_all_config

    def in_program():  # set_all_config in a copied context binds a fresh dict: nothing leaks to other tests
        set_all_config({"pcimage:apiUrl": URL + "/"})
        return resolve_api_url(config=pulumi.Config("pcimage"), environ={})

    assert contextvars.copy_context().run(in_program) == URL


TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"ParallelClusterApiInvokeUrl": {"Value": "https://xyz789.execute-api.eu-west-1.amazonaws.com/prod"},
                "UserRole": {"Value": "arn:aws:iam::123456789012:role/user"}},
}


@pytest.fixture
def cloudformation(aws_env):
    with mock_aws():
        yield lambda region: boto3.client("cloudformation", region_name=region)


def test_stack_output_from_config(cloudformation):
    cloudformation("eu-west-1").create_stack(StackName="pcluster-api", TemplateBody=json.dumps(TEMPLATE))
    config = {"pcimage:apiStackName": "pcluster-api", "pcimage:apiStackRegion": "eu-west-1"}
    assert resolve_api_url(config=config, environ={}) == "https://xyz789.execute-api.eu-west-1.amazonaws.com/prod"


def test_stack_output_from_environment_in_the_session_region(cloudformation):
    cloudformation("ap-south-1").create_stack(StackName="api", TemplateBody=json.dumps(TEMPLATE))
    session = boto3.Session(region_name="ap-south-1")
    assert resolve_api_url(environ={"PCLUSTER_API_STACK_NAME": "api"}, session=session).startswith("https://xyz789.")


def test_explicit_url_wins_over_the_stack(cloudformation):
    assert resolve_api_url(URL, config={"pcimage:apiStackName": "not-looked-up"}, environ={}) == URL


def test_missing_stack_is_named_with_its_region(cloudformation):
    with pytest.raises(EndpointNotConfigured, match="stack 'nope' in us-west-2.*does not exist"):
        resolve_api_url(config={"pcimage:apiStackName": "nope", "pcimage:apiStackRegion": "us-west-2"}, environ={})


def test_stack_without_the_output(cloudformation):
    template = {**TEMPLATE, "Outputs": {"Other": {"Value": "x"}}}
    cloudformation("us-east-1").create_stack(StackName="other", TemplateBody=json.dumps(template))
    with pytest.raises(EndpointNotConfigured, match="has no output ParallelClusterApiInvokeUrl"):
        resolve_api_url(config={"pcimage:apiStackName": "other", "pcimage:apiStackRegion": "us-east-1"}, environ={})


# ---------------------------------------------------------------- where images live when no region is given

@pytest.fixture
def aws_files(tmp_path, monkeypatch):
    """A shared config file with one profile that sets a region, and no region in the environment."""
    config = tmp_path / "config"
    config.write_text("[default]\n\n[profile hpc]\nregion = ap-northeast-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_default_region_precedence_stack_config_then_environment_then_profile(aws_files):
    assert default_region("hpc") == "ap-northeast-1"
    assert default_region(None) is None  # the default profile sets none: the API host's region decides then
    aws_files.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    assert default_region("hpc") == "eu-north-1"
    aws_files.setenv("AWS_REGION", "eu-west-3")
    assert default_region("hpc") == "eu-west-3"
    assert default_region("hpc", configured="sa-east-1") == "sa-east-1"


def test_default_region_of_an_unknown_profile_is_none_not_an_error(aws_files):
    # signing names the missing profile later, with a better message than botocore's
    assert default_region("no-such-profile") is None
    aws_files.setenv("AWS_DEFAULT_REGION", "eu-north-1")  # read before the profile is looked up
    assert default_region("no-such-profile") == "eu-north-1"
