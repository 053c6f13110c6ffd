"""Give every request the SDK's provider host receives a thread of its own, however many builds are waiting.

The Python dynamic provider host (``python -m pulumi.dynamic``) serves gRPC from
``futures.ThreadPoolExecutor(max_workers=4)``, and grpc's sync server runs each request to its end on one of those
threads: a Create holds its thread for the whole build (30-90 minutes on AWS), a Delete until the image is gone.
With any fixed ceiling, a stack with that many images fills it, and then every Check, Diff and Read, and the next
builds, queue behind the first builds to finish.

So the ceiling goes. ``ThreadPoolExecutor`` hands a request to an idle thread when it has one and starts a thread
only when none is idle, so without a ceiling the host has as many threads as requests at its busiest moment, and a
short request always finds one. A waiting build costs one thread blocked in ``sleep``: about 90 KiB of host memory
(1,024 waiting builds: 91 MiB, measured by ``benchmarks/host_concurrency.py``). Threads are kept, idle, until the
host exits at the end of the deployment; that does not raise the peak. The only bound left is the operating
system's: when it refuses a new thread, the request waits for a free one instead of failing, and a warning says so.

Our provider module is imported inside the host by one of the pool's own worker threads (while the ``__provider``
value is unpickled), so the pool that runs us is the one whose threads include the current thread. Everything here
is guarded: outside the host nothing happens; if the SDK changes shape, the host stays as it was and a warning
names ``PCIMAGE_HOST_WORKERS``.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

ENV_VAR = "PCIMAGE_HOST_WORKERS"
NO_CEILING = sys.maxsize  # the default: a thread for every request in flight
_HOST_MODULE = "pulumi.dynamic.__main__"


def in_provider_host() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) == _HOST_MODULE


def configured_workers(environ: dict | None = None) -> int:
    """The ceiling from ``PCIMAGE_HOST_WORKERS``: unset means none (NO_CEILING); 0 leaves the SDK's host alone."""
    raw = (environ if environ is not None else os.environ).get(ENV_VAR, "").strip()
    if not raw:
        return NO_CEILING
    try:
        value = int(raw)
    except ValueError:
        log.warning("%s=%r is not a whole number; the host gets no ceiling", ENV_VAR, raw)
        return NO_CEILING
    return max(value, 0)


def _pool_running_current_thread() -> ThreadPoolExecutor | None:
    me = threading.current_thread()
    # A pool's worker runs _worker(weakref-to-pool, ...): it knows its pool before the pool has added it to
    # `_threads` (start() comes first, so the first request can get here earlier than that).
    args = getattr(me, "_args", ())
    owner = args[0]() if args and isinstance(args[0], weakref.ref) else None
    if isinstance(owner, ThreadPoolExecutor):
        return owner
    for obj in gc.get_objects():
        if isinstance(obj, ThreadPoolExecutor) and me in getattr(obj, "_threads", ()):
            return obj
    return None


def _survive_thread_limit(pool: ThreadPoolExecutor) -> None:
    """submit() queues the request before it starts a thread; if the OS refuses the thread, the request stays
    queued for the next free thread instead of the error reaching grpc's serving loop (which would stop serving)."""
    start_thread = pool._adjust_thread_count
    warned = threading.Event()

    def adjust_thread_count() -> None:
        try:
            start_thread()
        except RuntimeError as exc:  # "can't start new thread"
            if not warned.is_set():
                warned.set()
                log.warning("the operating system refused the provider host a new thread (%s) with %d running: "
                            "further requests wait for a free one. Raise the limit (ulimit -u, memory) or set %s "
                            "to a ceiling below it.", exc, len(pool._threads), ENV_VAR)

    vars(pool)["_adjust_thread_count"] = adjust_thread_count  # an instance attribute: this pool's only


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
    """Lift the host's worker ceiling (to ``workers``, default from the environment: none); return the ceiling
    now in force (NO_CEILING for none), or None when not in a host or left alone.

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
            if (pool is None or not isinstance(getattr(pool, "_max_workers", None), int)
                    or not callable(getattr(pool, "_adjust_thread_count", None))):
                log.warning("provider host worker pool not found (a changed Pulumi SDK?): the host serves 4 "
                            "requests at once, so further builds, and Checks behind them, wait. Set %s=0 to "
                            "silence this.", ENV_VAR)
                return None
            if _raised_to is None:
                _survive_thread_limit(pool)
            pool._max_workers = max(pool._max_workers, target)
            _raised_to = pool._max_workers
            _serve_queued(pool)
            log.debug("provider host serves %s requests at once",
                      "any number of" if _raised_to == NO_CEILING else f"up to {_raised_to}")
            return _raised_to
        except Exception as exc:  # a changed SDK must never break the host
            log.warning("could not lift the provider host's worker limit (%s): the host serves 4 requests at "
                        "once, so further builds, and Checks behind them, wait. Set %s=0 to silence this.",
                        exc, ENV_VAR)
            return None
