"""Lift the SDK provider host's limit of 4 concurrent requests.

The Python dynamic provider host (``python -m pulumi.dynamic``) serves gRPC from
``futures.ThreadPoolExecutor(max_workers=4)``: a fifth hour-long build, and every Check/Diff/Read queued behind
the first four, waits. Our provider module is imported inside that host by one of the pool's own worker threads
(while the ``__provider`` value is unpickled), so the pool that runs us is the one whose threads include the
current thread. ``ThreadPoolExecutor`` starts a new thread per submission while it has fewer than
``_max_workers``, so raising that attribute takes effect for the next request.

Everything here is guarded: outside the host, or if the SDK changes shape, nothing happens but a debug log.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

ENV_VAR = "PCIMAGE_HOST_WORKERS"
DEFAULT_WORKERS = 64
_HOST_MODULE = "pulumi.dynamic.__main__"


def in_provider_host() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) == _HOST_MODULE


def configured_workers(environ: dict | None = None) -> int:
    """The ceiling from ``PCIMAGE_HOST_WORKERS`` (default 64); 0 leaves the host as the SDK made it."""
    raw = (environ if environ is not None else os.environ).get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_WORKERS
    try:
        value = int(raw)
    except ValueError:
        log.warning("%s=%r is not a whole number; using %d", ENV_VAR, raw, DEFAULT_WORKERS)
        return DEFAULT_WORKERS
    return max(value, 0)


def _pool_running_current_thread() -> ThreadPoolExecutor | None:
    me = threading.current_thread()
    for obj in gc.get_objects():
        if isinstance(obj, ThreadPoolExecutor) and me in getattr(obj, "_threads", ()):
            return obj
    return None


def _serve_queued(pool: ThreadPoolExecutor) -> None:
    """Start threads for requests queued before the raise (a destroy's Deletes arrive all at once, before the
    module is loaded): otherwise they would still wait for the SDK's 4 threads. Does what submit() does."""
    with pool._shutdown_lock:
        if not pool._shutdown:
            for _ in range(pool._work_queue.qsize()):
                pool._adjust_thread_count()


_lock = threading.Lock()
_raised_to: int | None = None


def raise_host_worker_limit(workers: int | None = None) -> int | None:
    """Raise the host's worker pool to ``workers``; return the limit now in force, or None if not in a host.

    Never lowers the pool below what the SDK gave it and never raises an exception.
    """
    global _raised_to
    target = configured_workers() if workers is None else workers
    if not target or not in_provider_host():
        return None
    with _lock:
        if _raised_to is not None and _raised_to >= target:
            return _raised_to
        try:
            pool = _pool_running_current_thread()
            if pool is None or not isinstance(getattr(pool, "_max_workers", None), int):
                log.warning("provider host worker pool not found (a changed Pulumi SDK?): the host serves 4 "
                            "requests at once, so further builds wait. Set %s=0 to silence this.", ENV_VAR)
                return None
            pool._max_workers = max(pool._max_workers, target)
            _raised_to = pool._max_workers
            _serve_queued(pool)
            log.debug("provider host serves up to %d requests at once", _raised_to)
            return _raised_to
        except Exception as exc:  # a changed SDK must never break the host
            log.warning("could not raise the provider host's worker limit (%s): the host serves 4 requests at "
                        "once, so further builds wait. Set %s=0 to silence this.", exc, ENV_VAR)
            return None
