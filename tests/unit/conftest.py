import pytest

from pulumi_pcimage import waiter
from pulumi_pcimage.lifecycle import state

from .fakeapi import ConfigServer, FakeApi


@pytest.fixture
def api(monkeypatch):
    """A FakeApi every provider client resolves to; polling 10,000x faster (every provider, and every Lifecycle made
    without one, has a HostState of its own: nothing is cached between tests)."""
    fake = FakeApi()
    fake.config_server = ConfigServer(fake)
    monkeypatch.setattr(state, "make_client", lambda *a, **k: fake)
    monkeypatch.setenv(waiter.POLL_SCALE_ENV, "0.0001")
    yield fake
    fake.config_server.close()
