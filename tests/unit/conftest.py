import pytest

from pulumi_pcimage import waiter

from .fakeapi import ConfigServer, FakeApi


@pytest.fixture
def api(monkeypatch):
    """A FakeApi, and the provider state whose clients it is (`api.state`; `api.host_state()` for another process);
    polling 10,000x faster."""
    fake = FakeApi()
    fake.config_server = ConfigServer(fake)
    monkeypatch.setenv(waiter.POLL_SCALE_ENV, "0.0001")
    yield fake
    fake.config_server.close()
