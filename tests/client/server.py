"""A recording HTTP server on 127.0.0.1 for client tests: it keeps every request as received and answers
scripted replies first, then spec-valid canned bodies per operation.

Scripted replies can also misbehave like a network: DROP reads the request and closes the socket unanswered,
HANG holds the request until the test ends (the client's read timeout fires).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

DROP = "drop"
HANG = "hang"


@dataclass
class Reply:
    status: int
    body: Any = None  # dict → JSON; str/bytes sent as is; None → empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return self.body.encode() if isinstance(self.body, str) else json.dumps(self.body).encode()

    def as_response(self) -> requests.Response:
        """The reply as a requests.Response, for validate_response."""
        response = requests.Response()
        response.status_code = self.status
        response._content = self.payload()
        response.headers = CaseInsensitiveDict({"Content-Type": self.content_type, **self.headers})
        return response


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    uri: str  # raw request target: origin form (/prod/v3/...) or absolute form when sent through a proxy
    headers: CaseInsensitiveDict
    body: bytes
    reply: Reply | None = None

    @property
    def url(self) -> str:
        return self.uri if self.uri.startswith("http") else f"http://{self.headers['Host']}{self.uri}"

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def access_key(self) -> str:
        return re.search(r"Credential=([^/]+)/", self.headers["Authorization"]).group(1)

    def prepared(self) -> requests.PreparedRequest:
        """Rebuilt from the wire, for validate_request."""
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type",)}
        return requests.Request(self.method, self.url, headers=headers, data=self.body or None).prepare()


IMAGE = {"imageId": "hpc-base", "imageBuildStatus": "BUILD_IN_PROGRESS", "region": "eu-west-1", "version": "3.16.1",
         "cloudformationStackStatus": "CREATE_IN_PROGRESS",
         "cloudformationStackArn": "arn:aws:cloudformation:eu-west-1:123456789012:stack/hpc-base/abc"}
DESCRIBED = {**IMAGE, "imageBuildStatus": "BUILD_COMPLETE", "imageConfiguration": {"url": "NOT_AVAILABLE"},
             "creationTime": "2024-01-01T10:00:00Z",
             "ec2AmiInfo": {"amiId": "ami-0123456789abcdef0", "amiName": "hpc-base", "state": "AVAILABLE",
                            "architecture": "x86_64",
                            "tags": [{"key": "parallelcluster:image_id", "value": "hpc-base"}]}}
STACK_EVENT = {"stackId": IMAGE["cloudformationStackArn"], "eventId": "e-1", "stackName": "hpc-base",
               "logicalResourceId": "hpc-base", "physicalResourceId": IMAGE["cloudformationStackArn"],
               "resourceStatus": "CREATE_IN_PROGRESS", "resourceType": "AWS::CloudFormation::Stack",
               "timestamp": "2024-01-01T10:00:00Z"}
LOG_STREAM = {"logStreamName": "3.16.1/1", "creationTime": "2024-01-01T10:00:00Z",
              "firstEventTimestamp": "2024-01-01T10:00:01Z", "lastEventTimestamp": "2024-01-01T10:05:00Z",
              "lastIngestionTime": "2024-01-01T10:05:01Z", "uploadSequenceToken": "1",
              "logStreamArn": "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/imagebuilder/x:log-stream:3.16.1/1"}

# (method, path under the stage) → the operation and its canned success.
ROUTES: list[tuple[str, re.Pattern, str, Reply]] = [
    ("POST", re.compile(r"/v3/images/custom$"), "build_image", Reply(202, {"image": IMAGE})),
    ("GET", re.compile(r"/v3/images/custom$"), "list_images", Reply(200, {"images": [IMAGE]})),
    ("GET", re.compile(r"/v3/images/official$"), "list_official_images",
     Reply(200, {"images": [{"amiId": "ami-1", "architecture": "x86_64", "name": "aws-parallelcluster-3.16.1",
                             "os": "alinux2023", "version": "3.16.1"}]})),
    ("GET", re.compile(r"/v3/images/custom/[^/]+/stackevents$"), "get_image_stack_events",
     Reply(200, {"events": [STACK_EVENT]})),
    ("GET", re.compile(r"/v3/images/custom/[^/]+/logstreams$"), "list_image_log_streams",
     Reply(200, {"logStreams": [LOG_STREAM]})),
    ("GET", re.compile(r"/v3/images/custom/[^/]+/logstreams/[^/]+$"), "get_image_log_events",
     Reply(200, {"events": [{"timestamp": "2024-01-01T10:00:01Z", "message": "hello"}], "nextToken": "f/1"})),
    ("GET", re.compile(r"/v3/images/custom/[^/]+$"), "describe_image", Reply(200, DESCRIBED)),
    ("DELETE", re.compile(r"/v3/images/custom/[^/]+$"), "delete_image",
     Reply(202, {"image": {**IMAGE, "imageBuildStatus": "DELETE_IN_PROGRESS"}})),
]


def operation_of(method: str, path: str) -> tuple[str, Reply]:
    tail = path[path.find("/v3/"):]
    for route_method, pattern, operation, reply in ROUTES:
        if method == route_method and pattern.match(tail):
            return operation, reply
    raise LookupError(f"no route for {method} {path}")


class RecordingServer:
    def __init__(self):
        self.seen: list[Seen] = []
        self._script: deque = deque()
        self._release = threading.Event()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}/prod"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply | str) -> None:
        """Answer the next requests with these, in order, before falling back to canned answers."""
        self._script.extend(replies)

    def _app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        seen = Seen(request.method, wire_text(environ["RAW_URI"]), CaseInsensitiveDict(request.headers), body)
        self.seen.append(seen)
        reply = self._script.popleft() if self._script else operation_of(request.method, seen.path)[1]
        if reply == DROP:
            sock: socket.socket = environ["werkzeug.socket"]
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            return []
        if reply == HANG:
            self._release.wait()
            return []
        seen.reply = reply
        response = Response(reply.payload(), status=reply.status, headers=reply.headers,
                            content_type=reply.content_type)
        return response(environ, start_response)


def wire_text(raw: str) -> str:
    """Werkzeug hands RAW_URI over in its WSGI latin-1 form; keep the client's own percent-encoding."""
    return raw.encode("latin-1").decode("utf-8")

