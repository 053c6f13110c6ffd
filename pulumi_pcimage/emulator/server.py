"""Serving the emulator: a threaded werkzeug server, and `Emulator`, the in-process context manager for tests."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from .app import EmulatorApp, is_loopback
from .control import Controls, Counters, register_token
from .faults import Faults
from .. import regions
from .models import ImageService
from .sigv4 import SigV4Verifier
from .store import Store

LOG = logging.getLogger(__name__)
DEFAULT_KEYS = ("testing", "testing")
LISTEN_BACKLOG = 128  # socketserver's default of 5 makes bursts of clients wait for SYN retries


def serve(app: EmulatorApp, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """A started-listening threaded server (call serve_forever to run it)."""
    server = make_server(host, port, app, threaded=True)
    server.socket.listen(LISTEN_BACKLOG)  # listen() again only raises the backlog
    return server


class Emulator(Controls):
    """A local ParallelCluster API on 127.0.0.1, for the duration of a `with` block.

    `url` is the stage URL to give clients as api_url; `stop()` and `start()` restart it on the same port and
    database, as a process restart would. The test controls (`complete_build`, `set_faults`, ...) are
    `Controls`' own: faults, credentials and counters survive a restart; the images need it running.
    """

    def __init__(self, build_seconds: float = 2.0, delete_seconds: float = 0.5, region: str = "us-east-1",
                 stage: str = "prod", db_path: str | None = None, access_key: str = "testing",
                 secret_key: str = "testing", page_size: int = 10, seed: int | None = 0,
                 throttle_rate: float = 0.0, error_rate: float = 0.0, drop_rate: float = 0.0,
                 latency_ms: float = 0, host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False,
                 control_token: str | None = None, sparse_pages: bool = True):
        """`allow_remote` is needed to listen on anything but loopback (then the default keys are refused, and
        any Host header is accepted); `control_token` guards the control routes (default: a random one)."""
        if not is_loopback(host):
            if not allow_remote:
                raise ValueError(f"refusing to listen on {host}, which is not loopback: anyone who reaches it could "
                                 "use the emulator; pass allow_remote=True (--allow-remote) if that is intended")
            if (access_key, secret_key) == DEFAULT_KEYS:
                raise ValueError(f"listening on {host} needs credentials of your own: the default "
                                 "testing/testing keys are public (set --access-key and --secret-key, or "
                                 "PCIMAGE_EMULATOR_SECRET_KEY)")
            LOG.warning("pcimage-emulator listens on %s: it is reachable from other machines", host)
        if not regions.is_supported(region):
            raise ValueError(f"region '{region}' is not one of ParallelCluster's regions: "
                             f"{', '.join(regions.SUPPORTED_REGIONS)}")
        if not stage or "/" in stage:
            raise ValueError(f"stage '{stage}' must be one non-empty path segment, like prod")
        for name, value in (("build_seconds", build_seconds), ("delete_seconds", delete_seconds)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        self.region, self.stage, self.host, self._port = region, stage, host, port
        self.allow_remote = allow_remote
        self.control_token = control_token or secrets.token_urlsafe(32)
        self.access_key, self.secret_key = access_key, secret_key  # the pair accepted at start
        self.build_seconds, self.delete_seconds, self.page_size = build_seconds, delete_seconds, page_size
        self.sparse_pages = sparse_pages  # AWS's list_images pages: filtered after paging, so some are empty
        self._tempdir: str | None = None
        if db_path:
            self.db_path = db_path
        else:
            self._tempdir = tempfile.mkdtemp(prefix="pcimage-emulator-")
            self.db_path = os.path.join(self._tempdir, "emulator.sqlite")
        self.faults = Faults(throttle_rate=throttle_rate, error_rate=error_rate, drop_rate=drop_rate,
                             latency_ms=latency_ms, seed=seed)
        self.verifier = SigV4Verifier(region, [(access_key, secret_key)])
        self._counters = Counters()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._store: Store | None = None
        self._service: ImageService | None = None

    # ---- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        if not os.path.exists(self.db_path):  # stored configurations: owner-only (SQLite gives -wal/-shm the same)
            os.close(os.open(self.db_path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._store = Store(self.db_path)
        self._service = ImageService(self._store, region=self.region, build_seconds=self.build_seconds,
                                     delete_seconds=self.delete_seconds, page_size=self.page_size,
                                     sparse_pages=self.sparse_pages)
        app = EmulatorApp(self._service, self.verifier, self.faults, self._counters, stage=self.stage,
                          control_token=self.control_token, any_host=self.allow_remote)
        self._server = self._bind(app)
        self._port = self._server.server_port
        app.base_url = self.base_url  # known once bound (port 0 picks one)
        register_token(self.base_url, self.control_token)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"pcimage-emulator-{self._port}", daemon=True)
        self._thread.start()
        return self

    def _bind(self, app: EmulatorApp) -> BaseWSGIServer:
        # After stop(), the same port may linger briefly in the kernel; SO_REUSEADDR covers TIME_WAIT.
        deadline = time.monotonic() + 5
        while True:
            try:
                return serve(app, self.host, self._port)
            except OSError:
                if time.monotonic() > deadline or not self._port:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        if self._store:
            self._store.close()
        self._server = self._thread = self._store = self._service = None

    def close(self) -> None:
        """Stop and remove the temporary database, if the emulator made one."""
        self.stop()
        register_token(self.base_url, None)
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- where it is ---------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/{self.stage}"

    @property
    def service(self) -> ImageService:  # what Controls acts on
        if self._service is None:
            raise RuntimeError("the emulator is not running: use it in a `with` block or call start()")
        return self._service
