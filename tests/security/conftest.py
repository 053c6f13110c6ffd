"""Fixtures for the security tests: the client tests' clean fake AWS environment and recording server, plus small
scriptable HTTP servers on 127.0.0.1 standing in for another host (a redirect target, a presigned URL's host)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from collections.abc import Callable

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.client.fixtures import aws_env, client, make_client, server, sleeps  # noqa: F401


@dataclass
class Host:
    """A WSGI server on 127.0.0.1 that records every request (method, path, headers, body) it receives."""

    handler: Callable[[Request], Response]
    seen: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.port = self._server.server_port
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()

    def _app(self, environ, start_response):
        request = Request(environ)
        self.seen.append({"method": request.method, "path": request.full_path, "headers": dict(request.headers),
                          "body": request.get_data()})
        return self.handler(request)(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def host():
    """host(handler) starts a recording server answering with handler(request); all stop after the test."""
    started: list[Host] = []

    def start(handler: Callable[[Request], Response]) -> Host:
        started.append(Host(handler))
        return started[-1]

    yield start
    for running in started:
        running.close()
