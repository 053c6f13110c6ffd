"""Which api_url values the client accepts: plain http only on loopback, never link-local, however it is spelt."""

import pytest

from pulumi_pcimage.endpoint import normalize_api_url
from pulumi_pcimage.errors import EndpointNotConfigured


@pytest.mark.parametrize("url, normalised", [
    ("http://127.0.0.1:8080/prod/", "http://127.0.0.1:8080/prod"),
    ("http://127.1.2.3/prod", "http://127.1.2.3/prod"),
    ("http://[::1]:8080/prod", "http://[::1]:8080/prod"),
    ("http://[::ffff:127.0.0.1]:8080/prod", "http://[::ffff:127.0.0.1]:8080/prod"),
    ("http://localhost:8080/prod", "http://localhost:8080/prod"),
    ("http://LOCALHOST./prod", "http://LOCALHOST./prod"),
    ("http://emulator.localhost:8080/prod/v3/images", "http://emulator.localhost:8080/prod"),
    ("https://abc.execute-api.eu-west-1.amazonaws.com/prod/", "https://abc.execute-api.eu-west-1.amazonaws.com/prod"),
    ("https://api.example.com/BOX//", "https://api.example.com/BOX"),  # only slashes are trimmed
])
def test_accepted_urls(url, normalised):
    assert normalize_api_url(url) == normalised


@pytest.mark.parametrize("url, rule", [
    ("http://notlocalhost:8080/prod", "must be https"),
    ("http://localhost.example.com/prod", "must be https"),
    ("http://10.0.0.8/prod", "must be https"),
    ("https://[::ffff:169.254.169.254]/latest", "link-local"),
    ("https://169.254.169.254/latest", "link-local"),
    ("https://0.0.0.0/prod", "link-local, unspecified or multicast"),
])
def test_refused_urls_name_the_rule(url, rule):
    with pytest.raises(EndpointNotConfigured, match=rule):
        normalize_api_url(url)


def test_the_message_names_the_setting_and_the_value():
    with pytest.raises(EndpointNotConfigured) as raised:
        normalize_api_url("http://10.0.0.8/prod")
    assert str(raised.value).startswith("api_url 'http://10.0.0.8/prod' must be https: over plain http")
    with pytest.raises(EndpointNotConfigured, match=r"^environment variable PCLUSTER_API_URL is not a valid URL: "):
        normalize_api_url("http://127.0.0.1:port/prod", "environment variable PCLUSTER_API_URL")


@pytest.mark.parametrize("url", ["https://builder:pw@abc.execute-api.eu-west-1.amazonaws.com/prod",
                                 "https://builder@abc.execute-api.eu-west-1.amazonaws.com/prod",
                                 "https://:pw@abc.execute-api.eu-west-1.amazonaws.com/prod"])
def test_a_url_with_user_or_password_is_refused_without_quoting_it(url):
    with pytest.raises(EndpointNotConfigured) as raised:
        normalize_api_url(url)
    assert str(raised.value) == (
        "api_url must not carry user:password@ (it would be stored in the Pulumi state, and the API authenticates "
        "with SigV4, not passwords): remove it from the URL")


def test_an_explicit_api_url_is_named_as_the_setting_it_came_from():
    from pulumi_pcimage.endpoint import resolve_api_url

    with pytest.raises(EndpointNotConfigured) as raised:
        resolve_api_url("http://10.0.0.8/prod", environ={})
    assert str(raised.value).startswith("api_url 'http://10.0.0.8/prod' must be https")
