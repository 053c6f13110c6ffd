"""The emulator's WSGI application: URL map, SigV4 check, faults, and translation to and from `ImageService`.

Stage routes (`/{stage}/v3/images/...`) behave like API Gateway in front of the ParallelCluster Lambda; control
routes under `/_emulator/` are for tests: they need no signature but the emulator's control token (any process on
the machine, or a browser page through DNS rebinding, could otherwise reach them).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import socket
import time
import uuid
from typing import Any
from collections.abc import Callable

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, PathConverter, Rule
from werkzeug.wrappers import Request, Response

from .control import TOKEN_HEADER, Controls, Counters
from .faults import Faults
from .models import ApiException, ImageService, bad_request, parse_bool
from .sigv4 import AuthFailure, SigV4Verifier

LOG = logging.getLogger(__name__)
FAULT_HEADER = "X-Pcimage-Emulator-Fault"  # marks injected faults so tests can tell them from real bugs
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit (10 MB); checked before the body is read
MAX_CONTROL_BODY_BYTES = 64 * 1024
# Control routes anyone may call: the health check, and the configuration behind a presigned URL (which carries
# its own signature, as S3's do).
_OPEN_CONTROLS = frozenset({"health", "image_config"})
_FAULT_BODIES = {
    429: {"message": "Too Many Requests"},
    500: {"message": "Internal server error (injected by the emulator)"},
    502: {"message": "Internal server error"},
    503: {"message": "Service Unavailable"},
}
_UNEXPECTED = {"message": "Unexpected fatal exception. Please look at the application logs for details on the "
                          "encountered failure."}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return response


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost (names under .localhost too)."""
    host = (host or "").lower().rstrip(".").strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost" or host.endswith(".localhost")


def _body_too_large() -> Response:
    return json_response(413, {"message": "Request Too Long"})


def _drop_connection(request: Request) -> None:
    """Close the TCP connection without answering; werkzeug's server treats the error as a dropped client."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionResetError("connection dropped by the emulator (injected fault)")


class _BodyTooLarge(Exception):
    pass


_BODY_READ = "pcimage.body_read"
_DRAIN_LIMIT = 64 * 1024  # an unread body up to this size is read and dropped, so the client sees the answer


def _stop_reading_after(iterable: Any, wsgi_environ: dict) -> Any:
    """Send the answer, then stop reading the connection: werkzeug's server would otherwise drain what is left of
    an unread body in 10 MB reads, per connection, before closing it (memory, for bodies that were refused)."""
    try:
        yield from iterable
    finally:
        sock = wsgi_environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass


def _large_unread_body(request: Request) -> bool:
    if request.environ.get(_BODY_READ):
        return False
    if request.content_length is not None:
        return request.content_length > _DRAIN_LIMIT
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused past `limit` bytes: by its Content-Length before reading, else while reading."""
    if request.content_length is not None and request.content_length > limit:
        raise _BodyTooLarge
    request.max_content_length = limit  # bounds a body without Content-Length (chunked) while it is read
    try:
        data = request.get_data()  # cached: the operation reads it again
        request.environ[_BODY_READ] = True
        return data
    except RequestEntityTooLarge:
        raise _BodyTooLarge from None


class AnyPathConverter(PathConverter):
    """Like `path`, but also across control characters: API Gateway passes any encoded name to the API,
    whose answer for a stream that does not exist is 404, never the gateway's 403."""

    regex = "(?s:[^/].*?)"


class EmulatorApp:
    def __init__(self, service: ImageService, verifier: SigV4Verifier, faults: Faults, counters: Counters,
                 stage: str = "prod", control_token: str = "", base_url: str = "", any_host: bool = False):
        """`control_token` guards the control routes (empty: none is accepted); `base_url` is the address the
        emulator was started on, used in the presigned URLs it hands out; `any_host` accepts a Host header that is
        not loopback (a non-loopback bind), otherwise such requests are refused (DNS rebinding)."""
        self.service, self.verifier, self.faults, self.counters = service, verifier, faults, counters
        self.control_token, self.base_url, self.any_host = control_token, base_url, any_host
        self.controls = Controls(service, verifier, faults, counters)
        images = f"/{stage}/v3/images"
        self.stage_map = Map([
            Rule(f"{images}/custom", methods=["GET"], endpoint="list_images"),
            Rule(f"{images}/custom", methods=["POST"], endpoint="build_image"),
            Rule(f"{images}/custom/<image_id>", methods=["GET"], endpoint="describe_image"),
            Rule(f"{images}/custom/<image_id>", methods=["DELETE"], endpoint="delete_image"),
            Rule(f"{images}/custom/<image_id>/stackevents", methods=["GET"], endpoint="get_image_stack_events"),
            Rule(f"{images}/custom/<image_id>/logstreams", methods=["GET"], endpoint="list_image_log_streams"),
            Rule(f"{images}/custom/<image_id>/logstreams/<anypath:log_stream_name>", methods=["GET"],
                 endpoint="get_image_log_events"),
            Rule(f"{images}/official", methods=["GET"], endpoint="list_official_images"),
        ], strict_slashes=False, merge_slashes=False, converters={"anypath": AnyPathConverter})
        self.control_map = Map([
            Rule("/_emulator/health", methods=["GET"], endpoint="health"),
            Rule("/_emulator/images", methods=["GET"], endpoint="images"),
            Rule("/_emulator/images/<image_id>/complete", methods=["POST"], endpoint="complete_build"),
            Rule("/_emulator/images/<image_id>/fail", methods=["POST"], endpoint="fail_build"),
            Rule("/_emulator/images/<image_id>/in-use", methods=["POST"], endpoint="set_in_use"),
            Rule("/_emulator/parent-images", methods=["POST"], endpoint="register_parent_image"),
            Rule("/_emulator/faults", methods=["POST"], endpoint="set_faults"),
            Rule("/_emulator/credentials", methods=["PUT"], endpoint="set_credentials"),
            Rule("/_emulator/counters", methods=["GET"], endpoint="counters"),
            Rule("/_emulator/counters", methods=["DELETE"], endpoint="reset_counters"),
            Rule("/_emulator/configs/<image_id>/image-config.yaml", methods=["GET"], endpoint="image_config"),
        ])

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        if not (self.any_host or is_loopback(host)):
            response = json_response(421, {"message": f"this emulator answers to loopback host names only, not "
                                                      f"Host {request.host[:100]!r}"})
        elif request.path.startswith("/_emulator/"):
            response = self._control(request)
        else:
            response = self._stage(request)
        if _large_unread_body(request):
            response.headers["Connection"] = "close"
            return _stop_reading_after(response(environ, start_response), environ)
        return response(environ, start_response)

    # ---- stage routes --------------------------------------------------------------------------------------------

    def _stage(self, request: Request) -> Response:
        self.counters.add("total")
        try:
            endpoint, args = self.stage_map.bind_to_environ(request.environ).match()
        except HTTPException:  # API Gateway's answer for any path or method it has no resource for
            return json_response(403, {"message": "Missing Authentication Token"},
                                 {"x-amzn-ErrorType": "MissingAuthenticationTokenException"})
        try:
            raw_path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
            # The body is read only once the signature's headers passed (key, scope, date) and within the limit.
            self.verifier.verify(request.method, f"{request.scheme}://{request.host}", raw_path.split("?")[0],
                                 request.query_string.decode("latin-1"), request.headers,
                                 lambda: _read_body(request, MAX_BODY_BYTES))
        except _BodyTooLarge:
            return _body_too_large()
        except AuthFailure as failure:
            self.counters.add("auth_failures")
            return json_response(403, {"message": failure.message}, {"x-amzn-ErrorType": failure.error_type})
        self.counters.add(endpoint)

        settings = self.faults.settings()
        if settings["latency_ms"]:
            time.sleep(settings["latency_ms"] / 1000)
        fault = self.faults.draw()
        if fault and fault.kind in ("throttle", "error"):
            self.counters.add("faults_injected")
            headers = {FAULT_HEADER: fault.kind}
            if fault.kind == "throttle":
                headers.update({"Retry-After": "1", "x-amzn-ErrorType": "LimitExceededException"})
            return json_response(fault.status or 500, _FAULT_BODIES[fault.status or 500], headers)

        try:
            status, body = getattr(self, f"_op_{endpoint}")(request, **args)
            response = json_response(status, body)
        except ApiException as error:
            response = json_response(error.status, error.body, error.headers)
        except Exception:  # a bug in the emulator: answer like the real Lambda does, keep the traceback
            LOG.exception("unexpected error in %s", endpoint)
            response = json_response(500, _UNEXPECTED)
        if fault and fault.kind == "drop":  # the operation took effect, its answer is lost
            self.counters.add("faults_injected")
            _drop_connection(request)
        return response

    def _op_build_image(self, request: Request) -> tuple[int, Any]:
        try:
            content = json.loads(request.get_data() or b"null")
        except ValueError as exc:
            raise bad_request(f"request body is not valid JSON: {exc}") from None
        if not isinstance(content, dict):
            raise bad_request("request body is required: a JSON object with imageId and imageConfiguration")
        dryrun = parse_bool("dryrun", request.args.get("dryrun"))
        body = self.service.build_image(
            content.get("imageId"), content.get("imageConfiguration"),
            suppress=request.args.getlist("suppressValidators"),
            failure_level=request.args.get("validationFailureLevel"), dryrun=dryrun,
            rollback=parse_bool("rollbackOnFailure", request.args.get("rollbackOnFailure")),
            region=request.args.get("region"))
        self.counters.add("builds_started")
        return 202, body

    def _op_describe_image(self, request: Request, image_id: str) -> tuple[int, Any]:
        # The configured address, never the unsigned Host header, goes into the presigned URL.
        return 200, self.service.describe_image(image_id, request.args.get("region"),
                                                base_url=self.base_url or request.host_url.rstrip("/"))

    def _op_delete_image(self, request: Request, image_id: str) -> tuple[int, Any]:
        return 202, self.service.delete_image(image_id, request.args.get("region"),
                                              force=parse_bool("force", request.args.get("force")))

    def _op_list_images(self, request: Request) -> tuple[int, Any]:
        return 200, self.service.list_images(request.args.get("imageStatus"), request.args.get("region"),
                                             request.args.get("nextToken"))

    def _op_list_official_images(self, request: Request) -> tuple[int, Any]:
        return 200, self.service.list_official_images(request.args.get("region"), request.args.get("os"),
                                                      request.args.get("architecture"))

    def _op_get_image_stack_events(self, request: Request, image_id: str) -> tuple[int, Any]:
        return 200, self.service.get_image_stack_events(image_id, request.args.get("region"))

    def _op_list_image_log_streams(self, request: Request, image_id: str) -> tuple[int, Any]:
        return 200, self.service.list_image_log_streams(image_id, request.args.get("region"))

    def _op_get_image_log_events(self, request: Request, image_id: str, log_stream_name: str) -> tuple[int, Any]:
        text, limit = request.args.get("limit"), None
        if text is not None:
            try:
                limit = int(text)
            except ValueError:
                raise bad_request(f"query parameter 'limit' must be an integer, got '{text}'") from None
        return 200, self.service.get_image_log_events(
            image_id, log_stream_name, request.args.get("region"), limit=limit,
            start_from_head=parse_bool("startFromHead", request.args.get("startFromHead")))

    # ---- control routes ------------------------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        try:
            endpoint, args = self.control_map.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return json_response(exc.code or 404, {"message": f"no control route {request.method} {request.path}"})
        if endpoint not in _OPEN_CONTROLS:
            token = request.headers.get(TOKEN_HEADER, "")
            if not (self.control_token and hmac.compare_digest(token.encode(), self.control_token.encode())):
                return json_response(401, {"message": f"control routes need the emulator's token in the {TOKEN_HEADER} "
                                                      "header (EmulatorControl sends it; see docs/emulator.md)"})
            if request.method != "GET" and request.mimetype != "application/json":
                return json_response(415, {"message": "control requests that change something must be "
                                                      "Content-Type: application/json"})
        region = request.args.get("region")
        try:
            try:
                data = _read_body(request, MAX_CONTROL_BODY_BYTES)
            except _BodyTooLarge:
                return _body_too_large()
            body = json.loads(data) if data.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if endpoint == "image_config":
                config = self.service.image_config(args["image_id"], region, request.args.get("Expires", ""),
                                                   request.args.get("Signature", ""))
                return Response(config.encode(), mimetype="application/x-yaml")
            if endpoint == "health":
                return json_response(200, {"status": "ok"})
            if endpoint == "images":
                return json_response(200, {"images": self.controls.images(region)})
            if endpoint == "counters":
                return json_response(200, self.controls.counters())
            if endpoint == "reset_counters":
                self.controls.reset_counters()
            elif endpoint == "complete_build":
                self.controls.complete_build(args["image_id"], region=region)
            elif endpoint == "fail_build":
                self.controls.fail_build(args["image_id"], region=region,
                                         **({"reason": body["reason"]} if "reason" in body else {}))
            elif endpoint == "set_in_use":
                self.controls.set_in_use(args["image_id"], in_use=bool(body.get("in_use", True)), region=region)
            elif endpoint == "register_parent_image":
                if not isinstance(body.get("image"), str):
                    raise ValueError("body must be {\"image\": \"ami-...\", \"architecture\": ..., \"name\": ...}")
                self.controls.register_parent_image(body["image"], architecture=body.get("architecture", "x86_64"),
                                                    name=body.get("name"), region=region)
            elif endpoint == "set_faults":
                self.controls.set_faults(**body)
            elif endpoint == "set_credentials":
                pairs = body.get("credentials")
                if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                    raise ValueError("credentials must be a list of [access_key, secret_key] pairs")
                self.controls.set_credentials([(str(ak), str(sk)) for ak, sk in pairs])
            return json_response(200, {})
        except ApiException as error:
            return json_response(error.status, error.body)
        except (TypeError, ValueError) as error:
            return json_response(400, {"message": str(error)})
