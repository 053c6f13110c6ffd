"""A scripted stand-in for ParallelClusterClient, for provider paths the emulator makes awkward to reach.

Each image answers describe_image from a script of statuses (the last one repeats); every call is recorded.
The configuration an image was built from is served over real HTTP (a presigned-URL look-alike).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from pulumi_pcimage.errors import BadRequestError, ConflictError, NotFoundError
from pulumi_pcimage.lifecycle import HostState


@dataclass
class FakeImage:
    script: list[str]  # imageBuildStatus per describe; "GONE" = 404
    configuration: str = ""
    extra: dict = field(default_factory=dict)  # more describe fields (reasons, ec2AmiInfo, ...)


class ConfigServer:
    """Serves /<image id> -> the configuration text, on 127.0.0.1."""

    def __init__(self, api: FakeApi):
        self.api = api
        self.server = make_server("127.0.0.1", 0, self.app)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    @Request.application
    def app(self, request: Request) -> Response:
        image = self.api.images.get(request.path.strip("/"))
        return Response(image.configuration) if image else Response("no such key", status=404)

    def close(self) -> None:
        self.server.shutdown()


class FakeApi:
    def __init__(self):
        self.images: dict[str, FakeImage] = {}
        self.calls: list[tuple[str, str, dict]] = []
        self.raise_on: dict[str, list[Exception]] = {}  # operation -> errors raised by its next calls
        self.build_script = ["BUILD_IN_PROGRESS", "BUILD_COMPLETE"]
        self.delete_script = ["DELETE_IN_PROGRESS", "GONE"]
        self.config_server: ConfigServer | None = None
        self.stack_events: list[dict] = []
        self.log_lines: list[str] = []
        self.state = HostState(make_client=self.as_client)  # the provider process of a test's faces

    def as_client(self, *args: Any, **kwargs: Any) -> FakeApi:
        """A HostState's `make_client`: every client is this API."""
        return self

    def host_state(self) -> HostState:
        """The state of another provider process: its clients are this API too, on `state`'s clock."""
        return HostState(make_client=self.as_client, clock=self.state.clock)

    def _record(self, operation: str, image_id: str, **kwargs: Any) -> None:
        self.calls.append((operation, image_id, kwargs))
        errors = self.raise_on.get(operation)
        if errors:
            raise errors.pop(0)

    def ops(self, operation: str | None = None) -> list:
        return [c for c in self.calls if operation is None or c[0] == operation]

    def build_image(self, image_id, image_configuration, **kwargs):
        self._record("build_image", image_id, configuration=image_configuration, **kwargs)
        if image_id in self.images:
            raise ConflictError(f"image {image_id} already exists")
        if kwargs.get("dryrun"):
            from pulumi_pcimage.errors import DryrunSucceeded
            raise DryrunSucceeded("Request would have succeeded, but DryRun flag is set.")
        self.images[image_id] = FakeImage(list(self.build_script), image_configuration)
        return {"image": {"imageId": image_id, "imageBuildStatus": "BUILD_IN_PROGRESS"}}

    def describe_image(self, image_id, *, region=None):
        self._record("describe_image", image_id, region=region)
        image = self.images.get(image_id)
        status = image.script.pop(0) if image and len(image.script) > 1 else (image.script[0] if image else "GONE")
        if status == "GONE":
            self.images.pop(image_id, None)
            raise NotFoundError(f"No image or stack associated with ParallelCluster image id: {image_id}.")
        url = f"{self.config_server.url}/{image_id}" if self.config_server else "NOT_AVAILABLE"
        answer = {"imageId": image_id, "imageBuildStatus": status, "imageConfiguration": {"url": url},
                  "version": "3.16.1", **image.extra}
        if status == "BUILD_COMPLETE":
            answer.setdefault("ec2AmiInfo", {"amiId": "ami-0f00", "amiName": image_id, "architecture": "x86_64"})
            answer.setdefault("creationTime", "2026-01-01T00:00:00Z")
        return answer

    def delete_image(self, image_id, *, region=None, force=None):
        self._record("delete_image", image_id, region=region, force=force)
        if image_id not in self.images:
            raise NotFoundError(f"No image or stack associated with ParallelCluster image id: {image_id}.")
        self.images[image_id].script = list(self.delete_script)
        return {"image": {"imageId": image_id, "imageBuildStatus": "DELETE_IN_PROGRESS"}}

    def get_image_stack_events(self, image_id, *, region=None, next_token=None):
        self._record("get_image_stack_events", image_id)
        return {"events": self.stack_events}

    def list_image_log_streams(self, image_id, *, region=None, next_token=None):
        self._record("list_image_log_streams", image_id)
        if not self.log_lines:
            return {"logStreams": []}
        return {"logStreams": [{"logStreamName": "old", "lastEventTimestamp": "2026-01-01T00:00:00Z"},
                               {"logStreamName": "3.16.1/1", "lastEventTimestamp": "2026-01-01T01:00:00Z"}]}

    def get_image_log_events(self, image_id, log_stream_name, *, region=None, next_token=None, **kwargs):
        self._record("get_image_log_events", image_id, stream=log_stream_name)
        return {"events": [{"message": line, "timestamp": "2026-01-01T01:00:00Z"} for line in self.log_lines]}


def validation_error(*messages: tuple[str, str, str]) -> BadRequestError:
    body = {"message": "Invalid image configuration.",
            "configurationValidationErrors": [{"id": t, "type": t, "level": lvl, "message": m}
                                              for t, lvl, m in messages]}
    return BadRequestError(body["message"], body=body, operation="build_image")
