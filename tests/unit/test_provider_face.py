"""The dynamic provider's own parts: stack configuration from the host, and progress on stderr inside the host."""

import logging
import sys

import pytest

from pulumi_pcimage import hostpool, provider
from pulumi_pcimage.lifecycle import log

from .test_provider import inputs, prov  # noqa: F401 (prov: the fixture)


class Request:
    def __init__(self, config):
        self.config = config


def test_the_stack_config_given_at_configure_is_the_endpoint_fallback(prov, api, monkeypatch):
    monkeypatch.delenv("PCLUSTER_API_URL", raising=False)
    monkeypatch.delenv("PCLUSTER_API_STACK_NAME", raising=False)
    prov.configure(Request({"pcimage:apiUrl": "http://127.0.0.1:9/prod"}))
    assert prov.check({}, inputs(api_url=None)).failures == []
    assert [c[2].get("dryrun") for c in api.ops("build_image")] == [True], "the dry run went to the stack's API"


def test_without_configure_there_is_no_stack_config(prov, api, monkeypatch, caplog):
    monkeypatch.delenv("PCLUSTER_API_URL", raising=False)
    monkeypatch.delenv("PCLUSTER_API_STACK_NAME", raising=False)
    with caplog.at_level(logging.WARNING, logger="pulumi_pcimage"):
        assert prov.check({}, inputs(api_url=None)).failures == []
    assert api.calls == [] and "endpoint is not configured" in caplog.text


@pytest.fixture
def bare_log(monkeypatch):
    monkeypatch.setattr(log, "handlers", [])
    monkeypatch.setattr(log, "level", log.level)


def test_inside_the_host_progress_goes_to_stderr_with_a_prefix(bare_log, monkeypatch, capsys):
    monkeypatch.setattr(hostpool, "in_provider_host", lambda: True)
    provider._log_to_stderr()
    (handler,) = log.handlers
    assert handler.stream is sys.stderr and log.level == logging.INFO
    log.info("image x: BUILD_IN_PROGRESS after 5s")
    assert capsys.readouterr().err.splitlines() == ["pulumi_pcimage: image x: BUILD_IN_PROGRESS after 5s"]


def test_outside_the_host_or_with_handlers_nothing_is_added(bare_log, monkeypatch):
    monkeypatch.setattr(hostpool, "in_provider_host", lambda: False)
    provider._log_to_stderr()
    assert log.handlers == []
    monkeypatch.setattr(hostpool, "in_provider_host", lambda: True)
    mine = logging.NullHandler()
    log.handlers.append(mine)
    provider._log_to_stderr()
    assert log.handlers == [mine], "the user's own handler is kept alone"


def test_the_provider_state_entry_is_plain_it_holds_no_secret():
    assert provider.CustomImageProvider.serialize_as_secret_always is False


def test_loaded_by_the_provider_host_it_lifts_the_worker_ceiling_and_logs_to_stderr():
    """As `python -m pulumi.dynamic` loads the provider: unpickled on one of the host's 4 gRPC workers."""
    import subprocess

    code = (
        "import importlib.machinery, logging, sys\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "sys.modules['__main__'].__spec__ = importlib.machinery.ModuleSpec('pulumi.dynamic.__main__', None)\n"
        "pool = ThreadPoolExecutor(max_workers=4)\n"
        "def load():\n"
        "    import pulumi_pcimage.provider\n"
        "    logging.getLogger('pulumi_pcimage.lifecycle').info('image x: BUILD_IN_PROGRESS after 5s')\n"
        "    return pool._max_workers\n"
        "print(pool.submit(load).result() > 10_000)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "True\n", "builds beyond the SDK's 4 workers would wait"
    assert done.stderr == "pulumi_pcimage: image x: BUILD_IN_PROGRESS after 5s\n"
