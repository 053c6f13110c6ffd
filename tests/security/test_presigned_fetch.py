"""The configuration behind describe_image's presigned URL is fetched from S3 (or the API, or loopback) only, without
redirects, ~/.netrc credentials, or unbounded size or time; every failure is "configuration unknown"."""

from __future__ import annotations

import gzip
import logging
import threading
import time

import psutil
import pytest
from werkzeug.wrappers import Response

from pulumi_pcimage.client import fetch_presigned_configuration, presigned_url_refusal
from pulumi_pcimage.lifecycle import Lifecycle

CONFIG = "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n"
SIGNED = "?X-Amz-Credential=ASIAROLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=IQoJrole" \
         "&X-Amz-Signature=0123abcd"


def test_a_plain_answer_from_a_loopback_host_is_read(host):
    presigned = host(lambda request: Response(CONFIG, mimetype="application/x-yaml"))
    assert fetch_presigned_configuration(presigned.origin + "/config.yaml" + SIGNED) == CONFIG


@pytest.mark.parametrize("url, why", [
    ("https://169.254.169.254/latest/meta-data/iam/security-credentials/", "neither an S3 host"),
    ("http://169.254.169.254/latest/meta-data/", "not https"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "neither an S3 host"),
    ("https://metadata.google.internal/computeMetadata/v1/", "neither an S3 host"),
    ("https://intranet.corp.example/secret", "neither an S3 host"),
    ("http://bucket.s3.us-east-1.amazonaws.com/config.yaml", "not https"),
    ("https://s3.amazonaws.com.attacker.example/config.yaml", "neither an S3 host"),
    ("https://attacker.example/.s3.amazonaws.com/config.yaml", "neither an S3 host"),
    ("https://user:pw@bucket.s3.amazonaws.com/config.yaml", "user:password@"),
    ("file:///etc/passwd", "not https"),
])
def test_hosts_other_than_s3_the_api_and_loopback_are_refused_before_connecting(url, why, caplog):
    assert why in presigned_url_refusal(url)
    with caplog.at_level(logging.WARNING):
        assert fetch_presigned_configuration(url) is None
    assert "refused" in caplog.text


@pytest.mark.parametrize("url", [
    "https://parallelcluster-abc-v1-do-not-delete.s3.amazonaws.com/parallelcluster/3.16.1/images/x/config.yaml",
    "https://bucket.s3.eu-west-1.amazonaws.com/key", "https://s3.us-gov-west-1.amazonaws.com/bucket/key",
    "https://bucket.s3.dualstack.ap-south-1.amazonaws.com/key", "https://bucket.s3.cn-north-1.amazonaws.com.cn/key",
    "https://s3-eu-west-1.amazonaws.com/bucket/key",
])
def test_s3_host_names_in_all_their_forms_are_accepted(url):
    assert presigned_url_refusal(url + SIGNED) is None


def test_the_apis_own_https_host_is_accepted_only_when_it_is_the_api():
    url = "https://api.images.example/prod/config.yaml"
    assert presigned_url_refusal(url, api_url="https://api.images.example/prod") is None
    assert presigned_url_refusal(url, api_url="https://other.example/prod") is not None


def test_a_redirect_is_not_followed(host):
    elsewhere = host(lambda request: Response(CONFIG))
    presigned = host(lambda request: Response(status=302, headers={"Location": elsewhere.origin + "/x"}))
    assert fetch_presigned_configuration(presigned.origin + "/config.yaml" + SIGNED) is None
    assert elsewhere.seen == []


def test_no_netrc_credentials_are_sent(host, tmp_path, monkeypatch):
    """requests adds ~/.netrc credentials for the URL's host unless given an explicit auth (CVE-2024-47081 made
    that worse: another host's entry could be sent)."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login builder password netrc-secret\ndefault login any password any\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    presigned = host(lambda request: Response(CONFIG))
    assert fetch_presigned_configuration(presigned.origin + "/config.yaml" + SIGNED) == CONFIG
    assert "Authorization" not in presigned.seen[0]["headers"]


def test_an_answer_larger_than_the_cap_is_dropped_without_holding_it(host):
    """300 MB, streamed without Content-Length: the fetch stops after the cap; memory grows by far less."""
    def huge(request):
        return Response((b"x" * (1024 * 1024) for _ in range(300)), mimetype="application/x-yaml")

    presigned = host(huge)
    process = psutil.Process()
    before = process.memory_info().rss
    peak = [before]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert fetch_presigned_configuration(presigned.origin + "/config.yaml" + SIGNED) is None
    finally:
        done.set()
        watcher.join()
    assert peak[0] - before < 48 * 1024 * 1024


def test_a_declared_oversize_answer_is_dropped_before_reading(host):
    presigned = host(lambda request: Response(b"x" * (3 * 1024 * 1024)))
    assert fetch_presigned_configuration(presigned.origin + "/c.yaml") is None


def test_a_compressed_answer_is_not_inflated(host):
    bomb = gzip.compress(b"a" * (64 * 1024 * 1024))
    presigned = host(lambda request: Response(bomb, headers={"Content-Encoding": "gzip"}))
    assert fetch_presigned_configuration(presigned.origin + "/c.yaml") is None


def test_an_answer_that_trickles_in_is_abandoned_at_the_deadline(host):
    release = threading.Event()

    def trickle(request):
        def body():
            while not release.is_set():
                yield b"# still here\n"
                release.wait(0.2)
        return Response(body(), mimetype="application/x-yaml")

    presigned = host(trickle)
    try:
        assert fetch_presigned_configuration(presigned.origin + "/c.yaml", deadline_seconds=1.0) is None
    finally:
        release.set()


def test_the_provider_treats_every_refusal_as_configuration_unknown(host):
    presigned = host(lambda request: Response(status=307, headers={"Location": "http://169.254.169.254/"}))
    for url in (presigned.origin + "/c.yaml", "https://169.254.169.254/", "NOT_AVAILABLE", None):
        assert Lifecycle._fetch_configuration({"imageConfiguration": {"url": url}}) is None
