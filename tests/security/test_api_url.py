"""The API URL: https unless loopback, no user:password@, no link-local host; a discovered URL the same."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from pulumi_pcimage import get_official_images
from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.endpoint import resolve_api_url
from pulumi_pcimage.errors import EndpointNotConfigured


@pytest.mark.parametrize("url, rule", [
    ("http://abc123.execute-api.us-east-1.amazonaws.com/prod", "must be https"),
    ("http://api.images.example/prod", "must be https"),
    ("http://10.0.0.8:8080/prod", "must be https"),
    ("https://builder:hunter2@abc123.execute-api.us-east-1.amazonaws.com/prod", "user:password@"),
    ("https://builder@abc123.execute-api.us-east-1.amazonaws.com/prod", "user:password@"),
    ("https://169.254.169.254/latest", "link-local"),
    ("https://[fe80::1]/prod", "link-local"),
    ("https://[::ffff:169.254.169.254]/prod", "link-local"),
])
def test_an_unsafe_api_url_is_refused_before_anything_is_sent(url, rule, server):
    with pytest.raises(EndpointNotConfigured, match=rule) as refused:
        ParallelClusterClient(url)
    assert "hunter2" not in str(refused.value)
    assert server.seen == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/prod", "http://localhost:8080/prod", "http://[::1]:8080/prod",
                                 "https://abc123.execute-api.us-east-1.amazonaws.com/prod"])
def test_https_and_loopback_http_are_accepted(url):
    assert ParallelClusterClient(url).api_url == url


def test_a_function_refuses_a_plain_http_url_with_the_rule(monkeypatch):
    monkeypatch.setenv("PCLUSTER_API_URL", "http://api.images.example/prod")
    with pytest.raises(Exception, match="must be https"):
        get_official_images(os="alinux2023", architecture="x86_64")


@pytest.mark.parametrize("output, rule", [
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://internal-api.corp.example/prod", "must be https"),
    ("https://user:s3cr3t@abc123.execute-api.eu-west-1.amazonaws.com/prod", "user:password@"),
])
def test_a_discovered_url_is_held_to_the_same_rules(output, rule):
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"ParallelClusterApiInvokeUrl": {"Value": output}}}
    with mock_aws():
        boto3.client("cloudformation", region_name="eu-west-1").create_stack(
            StackName="pcluster-api", TemplateBody=json.dumps(template))
        with pytest.raises(EndpointNotConfigured, match=rule) as refused:
            resolve_api_url(config={"pcimage:apiStackName": "pcluster-api", "pcimage:apiStackRegion": "eu-west-1"},
                            environ={})
    assert "stack 'pcluster-api'" in str(refused.value) and "s3cr3t" not in str(refused.value)
