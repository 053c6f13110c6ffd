"""hostpool in process: raising a ThreadPoolExecutor from one of its own threads, and its guards.

The host-level behaviour (the real `python -m pulumi.dynamic`) is in test_host_concurrency.py; here the same
functions run against executors the test owns. Barriers observe concurrency; their timeouts only keep a broken
mechanism from hanging the test.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from pulumi_pcimage import hostpool

SAFETY = 30.0  # seconds before a barrier that can never fill gives up


@pytest.fixture
def in_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend this process is the SDK's provider host, with nothing raised yet."""
    monkeypatch.setattr(hostpool, "in_provider_host", lambda: True)
    monkeypatch.setattr(hostpool, "_raised_to", None)


def all_at_once(pool: ThreadPoolExecutor, count: int) -> list:
    """Submit `count` tasks that each wait until all `count` run at the same time."""
    barrier = threading.Barrier(count, timeout=SAFETY)
    return [pool.submit(barrier.wait) for _ in range(count)]


def test_a_pool_raised_from_one_of_its_threads_runs_that_many_tasks_at_once(in_host):
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert pool.submit(hostpool.raise_host_worker_limit, 12).result() == 12
        assert pool._max_workers == 12
        for done in all_at_once(pool, 12):
            done.result()


def test_work_queued_before_the_raise_gets_threads_too(in_host):
    with ThreadPoolExecutor(max_workers=4) as pool:
        go, raised = threading.Event(), []
        barrier = threading.Barrier(10, timeout=SAFETY)

        def first() -> None:  # what the first request does: load the module (raise), then do its work
            go.wait(SAFETY)
            raised.append(hostpool.raise_host_worker_limit(16))
            barrier.wait()

        tasks = [pool.submit(first)] + [pool.submit(barrier.wait) for _ in range(9)]  # 3 run, 6 queued
        go.set()
        for done in tasks:
            done.result()
    assert raised == [16]


def test_outside_the_host_nothing_changes():
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert pool.submit(hostpool.raise_host_worker_limit, 12).result() is None
        assert pool._max_workers == 4


def test_never_lowers_the_sdk_limit_and_zero_leaves_it_alone(in_host):
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert pool.submit(hostpool.raise_host_worker_limit, 0).result() is None
        assert pool.submit(hostpool.raise_host_worker_limit, 2).result() == 4
        assert pool._max_workers == 4


def test_a_changed_sdk_never_breaks_the_host(in_host, caplog):
    caplog.set_level("WARNING", logger="pulumi_pcimage")
    with ThreadPoolExecutor(max_workers=4) as pool:
        def in_a_changed_pool():
            pool._max_workers = "4"  # a shape this code does not know
            try:
                return hostpool.raise_host_worker_limit(12)
            finally:
                pool._max_workers = 4

        assert pool.submit(in_a_changed_pool).result() is None
    # and a request served by a thread of no executor at all (another server design)
    assert hostpool.raise_host_worker_limit(12) is None
    # ... but says so, since further builds would silently queue behind the SDK's 4 workers
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and all("PCIMAGE_HOST_WORKERS=0" in w for w in warnings)


def test_without_a_ceiling_every_task_gets_a_thread_however_many_wait(in_host):
    """The default: 300 tasks that each block until all 300 run, past any ceiling the host ever had (4, 64, 256)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert pool.submit(hostpool.raise_host_worker_limit).result() == hostpool.NO_CEILING
        for done in all_at_once(pool, 300):
            done.result()
        assert len(pool._threads) == 300  # idle threads are reused: no more threads than tasks at once


def test_a_thread_the_system_refuses_leaves_the_request_waiting_instead_of_failing(in_host, monkeypatch, caplog):
    caplog.set_level("WARNING", logger="pulumi_pcimage")
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="host-pool") as pool:
        release, running = threading.Event(), threading.Barrier(7, timeout=SAFETY)

        def request(load_module: bool) -> bool:  # the first one loads the provider module, as in the host
            if load_module:
                assert hostpool.raise_host_worker_limit() == hostpool.NO_CEILING
            running.wait()
            return release.wait(SAFETY)

        busy = [pool.submit(request, i == 0) for i in range(6)]
        running.wait()  # six requests hold six threads, none idle
        start = threading.Thread.start

        def refuse(thread):  # the operating system's thread limit, for this pool only
            if thread.name.startswith("host-pool"):
                raise RuntimeError("can't start new thread")
            start(thread)

        with monkeypatch.context() as patch:
            patch.setattr(threading.Thread, "start", refuse)
            waiting = pool.submit(lambda: "served")  # grpc's serving loop calls submit: it must not raise
        assert not waiting.done()
        release.set()  # a thread frees up and takes the queued request
        assert waiting.result(timeout=SAFETY) == "served"
        assert all(done.result() for done in busy)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "refused the provider host a new thread" in warnings[0]
    assert "PCIMAGE_HOST_WORKERS" in warnings[0]


@pytest.mark.parametrize("raw, workers", [("", hostpool.NO_CEILING), ("8", 8), (" 128 ", 128), ("0", 0), ("-3", 0),
                                          ("many", hostpool.NO_CEILING)])
def test_the_ceiling_comes_from_the_environment(raw, workers):
    assert hostpool.configured_workers({hostpool.ENV_VAR: raw}) == workers


def test_the_first_request_finds_its_pool_before_the_pool_has_recorded_its_thread(in_host):
    # ThreadPoolExecutor starts a worker before adding it to `_threads`: under load the first request runs first.
    # A pool that never records its threads makes that moment last.
    class Unrecorded(set):
        def add(self, item: object) -> None:
            pass

    with ThreadPoolExecutor(max_workers=4) as pool:
        pool._threads = Unrecorded()  # type: ignore[assignment]
        assert pool.submit(hostpool.raise_host_worker_limit, 12).result() == 12 and pool._max_workers == 12
