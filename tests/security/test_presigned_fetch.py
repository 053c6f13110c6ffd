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

from pulumi_pcimage.presigned import fetch_presigned_configuration, presigned_url_refusal
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


# ---------------------------------------------------------------- what the warning says, whole

def warned(caplog, url: str, **kwargs) -> str:
    """The one warning a failed fetch leaves (the fetch gives None: "configuration unknown")."""
    with caplog.at_level(logging.WARNING, logger="pulumi_pcimage"):
        assert fetch_presigned_configuration(url, **kwargs) is None
    said = [r.getMessage() for r in caplog.records if r.name.startswith("pulumi_pcimage")]
    assert len(said) == 1, said
    return said[0]


PREFIX = "could not read the existing image's configuration from "


def test_a_redirect_is_named_with_its_target_host_only(host, caplog):
    elsewhere = host(lambda request: Response(CONFIG))
    presigned = host(lambda request: Response(status=302, headers={"Location": elsewhere.origin + "/x" + SIGNED}))
    assert warned(caplog, presigned.origin + "/c.yaml" + SIGNED) == (
        f"{PREFIX}{presigned.origin}: HTTP 302 redirect to {elsewhere.origin} (redirects are not followed)")
    assert elsewhere.seen == []


@pytest.mark.parametrize("status", [300, 399])
def test_every_3xx_is_a_redirect(host, caplog, status):
    presigned = host(lambda request: Response(CONFIG, status=status))
    assert warned(caplog, presigned.origin + "/c.yaml") == (
        f"{PREFIX}{presigned.origin}: HTTP {status} redirect to nowhere (redirects are not followed)")


@pytest.mark.parametrize("status", [201, 400, 403, 404, 500])
def test_any_other_answer_than_200_is_named_by_its_status(host, caplog, status):
    presigned = host(lambda request: Response(CONFIG, status=status))
    assert warned(caplog, presigned.origin + "/c.yaml") == f"{PREFIX}{presigned.origin}: HTTP {status}"


def test_the_fetch_asks_for_no_compression_and_refuses_what_it_did_not_ask_for(host, caplog):
    presigned = host(lambda request: Response(gzip.compress(CONFIG.encode()), headers={"Content-Encoding": "gzip"}))
    assert warned(caplog, presigned.origin + "/c.yaml") == (
        f"{PREFIX}{presigned.origin}: Content-Encoding 'gzip' was not asked for")
    assert presigned.seen[0]["headers"]["Accept-Encoding"] == "identity"


@pytest.mark.parametrize("encoding", ["identity", "", " Identity "])
def test_an_identity_or_empty_encoding_is_read(host, encoding):
    presigned = host(lambda request: Response(CONFIG, headers={"Content-Encoding": encoding}))
    assert fetch_presigned_configuration(presigned.origin + "/c.yaml") == CONFIG


def test_at_the_deadline_a_silent_answer_stops_being_read_at_once(host, caplog):
    """Headers, then nothing: the reader blocked in recv is woken (shut down), not left for its read timeout."""
    release = threading.Event()

    def silent(request):
        def body():
            yield b"Build:\n"
            release.wait(30)
        return Response(body(), mimetype="application/x-yaml")

    presigned = host(silent)
    try:
        assert warned(caplog, presigned.origin + "/c.yaml", deadline_seconds=0.5).endswith("did not answer within 0.5s")
        readers = lambda: [t for t in threading.enumerate() if t.name == "pcimage-presigned-fetch"]  # noqa: E731
        for _ in range(100):
            if not readers():
                break
            time.sleep(0.02)
        assert readers() == [], "the reader still waits for its 15 s read timeout"
    finally:
        release.set()


def test_a_declared_oversize_answer_is_named_with_both_sizes(host, caplog):
    presigned = host(lambda request: Response(b"x" * (2 * 1024 * 1024 + 1)))
    assert warned(caplog, presigned.origin + "/c.yaml") == (
        f"{PREFIX}{presigned.origin}: the answer declares 2,097,153 bytes, more than the 2,097,152 allowed")


def test_an_undeclared_oversize_answer_is_named_with_the_cap(host, caplog):
    presigned = host(lambda request: Response((b"x" * 1024 for _ in range(2049)), mimetype="text/plain"))
    assert warned(caplog, presigned.origin + "/c.yaml") == (
        f"{PREFIX}{presigned.origin}: the answer is larger than the 2,097,152 bytes allowed")


def test_an_answer_of_exactly_two_mib_is_read(host):
    text = "# " + "x" * (2 * 1024 * 1024 - 3) + "\n"
    presigned = host(lambda request: Response(text, mimetype="text/plain"))
    assert fetch_presigned_configuration(presigned.origin + "/c.yaml") == text


def test_an_answer_that_is_not_utf8_is_refused(host, caplog):
    presigned = host(lambda request: Response(b"Build: \xff\xfe\n"))
    assert warned(caplog, presigned.origin + "/c.yaml") == f"{PREFIX}{presigned.origin}: the answer is not UTF-8 text"


def test_the_whole_fetch_has_a_30_second_deadline_by_default():
    import inspect

    # docs/reliability.md (Security guarantees): "2 MiB and 30 s caps" on the presigned fetch.
    assert inspect.signature(fetch_presigned_configuration).parameters["deadline_seconds"].default == 30.0


def test_at_the_deadline_the_connection_is_closed_not_left_reading(host, caplog):
    closed, release = threading.Event(), threading.Event()

    def trickle(request):
        def body():
            try:
                while not release.is_set():
                    yield b"# still here\n"
                    release.wait(0.05)
            finally:
                closed.set()  # the server noticed the client went away
        return Response(body(), mimetype="application/x-yaml")

    presigned = host(trickle)
    try:
        assert warned(caplog, presigned.origin + "/c.yaml", deadline_seconds=0.5) == (
            f"could not read the existing image's configuration: {presigned.origin} did not answer within 0.5s")
        assert closed.wait(5), "the reader still holds the connection open after the deadline"
    finally:
        release.set()


def test_the_reader_is_a_named_daemon_thread_so_a_stuck_read_never_holds_up_exit(host):
    reading, release = threading.Event(), threading.Event()

    def stall(request):
        def body():
            reading.set()
            release.wait(5)
            yield b"Build: {}\n"
        return Response(body(), mimetype="application/x-yaml")

    presigned = host(stall)
    seen: list[threading.Thread] = []
    fetching = threading.Thread(target=fetch_presigned_configuration, args=(presigned.origin + "/c.yaml",))
    fetching.start()
    try:
        assert reading.wait(5)
        seen = [t for t in threading.enumerate() if t.name == "pcimage-presigned-fetch"]
    finally:
        release.set()
        fetching.join(10)
    assert len(seen) == 1 and seen[0].daemon, "the reader must not keep the interpreter alive at exit"


@pytest.mark.parametrize("url", [None, "", 123, {"url": "x"}])
def test_no_url_is_configuration_unknown_without_a_warning(url, caplog):
    with caplog.at_level(logging.WARNING, logger="pulumi_pcimage"):
        assert fetch_presigned_configuration(url) is None
    assert [r for r in caplog.records if r.name.startswith("pulumi_pcimage")] == []


@pytest.mark.parametrize("url, why", [
    ("https://[::1/x", "it is not a valid URL"),
    ("https://user@bucket.s3.amazonaws.com/k", "it carries user:password@"),
    ("https://:pw@bucket.s3.amazonaws.com/k", "it carries user:password@"),
    ("ftp://127.0.0.1/c.yaml", "its scheme 'ftp' is not http(s)"),
    ("//bucket.s3.amazonaws.com/k", "it is not https (no scheme://bucket.s3.amazonaws.com)"),
    ("http://bucket.s3.amazonaws.com/k", "it is not https (http://bucket.s3.amazonaws.com)"),
    ("https:///k", "its host  is neither an S3 host nor the API's own"),
    ("https://Intranet.Example/k", "its host intranet.example is neither an S3 host nor the API's own"),
])
def test_each_refusal_says_why(url, why, caplog):
    assert presigned_url_refusal(url) == why
    assert warned(caplog, url) == (
        f"could not read the existing image's configuration: its URL was refused because {why}")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/c.yaml", "https://127.0.0.1:8443/c.yaml",
                                 "https://BUCKET.S3.AMAZONAWS.COM/k"])
def test_loopback_over_http_or_https_and_s3_in_any_case_are_accepted(url):
    assert presigned_url_refusal(url) is None


def test_the_apis_own_host_must_match_in_scheme_and_port_too():
    url = "https://api.images.example:8443/prod/config.yaml"
    assert presigned_url_refusal(url, api_url="https://API.images.example:8443/prod") is None
    assert presigned_url_refusal(url, api_url="https://api.images.example/prod") is not None
    assert presigned_url_refusal(url, api_url="http://api.images.example:8443/prod") is not None
