"""The package face's gRPC layer in-process: the plugin's `Servicer` on a real grpc.aio server on 127.0.0.1, called
through `provider_pb2_grpc.ResourceProviderStub` with the messages the engine sends, against the scripted API and a
real `Engine` log service. What the engine reads is asserted as it reads it: status codes, the error text, the
partial-failure detail, the DiffConfig enum, an empty Read. tests/package does the same with the engine itself
(slowly). `serve` runs here in-process (the port flushed, served until SIGINT, then stopped) and as the engine
runs the plugin, a process of its own."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from google.protobuf.json_format import MessageToDict
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2 as proto
from pulumi.runtime.proto import provider_pb2_grpc, status_pb2

from pulumi_pcimage.errors import BadRequestError
from pulumi_pcimage.package.schema import VERSION
from pulumi_pcimage.package.server import PcImageProvider, Servicer, serve

from .fakeapi import FakeImage
from .test_bad_day import clock, follow  # noqa: F401 (clock: the fixture)
from .test_package_face import (API, BIGGER, CONFIG, URN, catalog, clients, engine,  # noqa: F401 (fixtures)
                                environment, on_clock, program, secret)

ROOT = Path(__file__).resolve().parents[2]
DETAILS = "grpc-status-details-bin"


def struct(values: dict) -> struct_pb2.Struct:
    """Properties as the engine sends them (secrets as Pulumi's secret envelope, numbers as doubles)."""
    message = struct_pb2.Struct()
    message.update(values)
    return message


def plain(message: struct_pb2.Struct) -> dict:
    return MessageToDict(message)


class Plugin(SimpleNamespace):
    stub: provider_pb2_grpc.ResourceProviderStub
    provider: PcImageProvider

    def configure(self, **settings) -> proto.ConfigureResponse:
        return self.stub.Configure(proto.ConfigureRequest(args=struct(settings), acceptSecrets=True,
                                                          acceptResources=True), timeout=30)

    def check(self, news: dict, olds: dict | None = None) -> proto.CheckResponse:
        return self.stub.Check(proto.CheckRequest(urn=URN, olds=struct(olds or {}), news=struct(news)), timeout=30)

    def checked(self, news: dict, olds: dict | None = None) -> dict:
        answer = self.check(news, olds)
        assert list(answer.failures) == []
        return plain(answer.inputs)

    def create(self, inputs: dict, timeout: float = 0) -> proto.CreateResponse:
        return self.stub.Create(proto.CreateRequest(urn=URN, properties=struct(inputs), timeout=timeout), timeout=30)

    def refused(self, method: str, request) -> grpc.RpcError:
        with pytest.raises(grpc.RpcError) as refused:
            getattr(self.stub, method)(request, timeout=30)
        return refused.value


@pytest.fixture(scope="module")
def loop():
    """One event loop, in a thread, for every server of this module (grpc.aio keeps state per process)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()


@pytest.fixture
def plugin(api, clients, engine, loop):
    """The plugin as the engine holds it: our Servicer on a grpc.aio server, and a stub."""
    provider = PcImageProvider(engine.address, state=api.state)

    async def start():
        server = grpc.aio.server()
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(
            Servicer([engine.address], VERSION, provider, engine_address=engine.address), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return server, port

    server, port = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield Plugin(stub=provider_pb2_grpc.ResourceProviderStub(channel), provider=provider, engine=engine, api=api)
    channel.close()
    asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(30)


def details(error: grpc.RpcError) -> status_pb2.Status | None:
    found = [value for key, value in error.trailing_metadata() or () if key == DETAILS]
    if not found:
        return None
    return status_pb2.Status.FromString(found[0])


# ---------------------------------------------------------------- configuration

def test_configure_and_check_config_answer_as_the_engine_reads_them(plugin):
    answer = plugin.configure(apiUrl=API, region="us-east-1")
    assert (answer.acceptSecrets, answer.supportsPreview, answer.acceptResources) == (True, False, True)
    checked = plugin.stub.CheckConfig(proto.CheckRequest(urn="urn:pulumi:dev::proj::pulumi:providers:pcimage::p",
                                                         news=struct({"apiUrl": API, "colour": "blue",
                                                                      "version": "1.0.0"})), timeout=30)
    assert plain(checked.inputs) == {"apiUrl": API, "colour": "blue", "version": "1.0.0"}
    assert [(f.property, f.reason.split(";")[0]) for f in checked.failures] == [
        ("colour", "unknown setting 'colour' of provider pcimage")]


def test_a_setting_that_is_not_text_is_refused_with_its_kind(plugin):
    """`pulumi config set --path pcimage:region[0] x` and the like: the engine sends the value as it is typed."""
    answer = plugin.stub.CheckConfig(proto.CheckRequest(urn=URN, news=struct(
        {"apiUrl": True, "region": 5, "profile": ["team"], "roleArn": {"arn": "x"}, "apiStackName": None})),
        timeout=30)
    assert {f.property: f.reason for f in answer.failures} == {
        "apiUrl": "pcimage:apiUrl must be a string, not a boolean",
        "region": "pcimage:region must be a string, not a number",
        "profile": "pcimage:profile must be a string, not a list",
        "roleArn": "pcimage:roleArn must be a string, not a mapping"}


@pytest.mark.parametrize(("olds", "news", "changes", "kinds"), [
    ({"apiUrl": API, "region": "us-east-1", "version": "1"}, {"apiUrl": API, "region": "us-east-1", "version": "2"},
     proto.DiffResponse.DIFF_NONE, {}),
    ({"apiUrl": API, "profile": "team"}, {"apiUrl": API + "/v2", "region": "eu-west-1"},
     proto.DiffResponse.DIFF_SOME, {"apiUrl": "UPDATE", "profile": "DELETE", "region": "ADD"}),
])
def test_diff_config_answers_the_enum_the_engine_reads(plugin, olds, news, changes, kinds):
    """DIFF_SOME for a changed setting, so the engine configures a new provider; DIFF_NONE else (the SDK's bool
    would be read as DIFF_NONE=1 for True, DIFF_UNKNOWN=0 for False)."""
    answer = plugin.stub.DiffConfig(proto.DiffRequest(urn=URN, olds=struct(olds), news=struct(news)), timeout=30)
    assert answer.changes == changes
    assert list(answer.diffs) == sorted(kinds) and answer.hasDetailedDiff is True
    assert {key: (proto.PropertyDiff.Kind.Name(d.kind), d.inputDiff) for key, d in answer.detailedDiff.items()} == {
        key: (kind, True) for key, kind in kinds.items()}


# ---------------------------------------------------------------- secret settings

def test_inputs_filled_from_secret_settings_are_secret(plugin, catalog):
    plugin.configure(apiUrl=secret(API), region="us-east-1", profile=secret("team"))
    inputs = plugin.checked(program())
    assert inputs["apiUrl"] == secret(API) and inputs["awsProfile"] == secret("team")
    assert inputs["region"] == "us-east-1", "a plain setting stays plain"
    # the program's own plain value is its own, not the setting's: plain
    mine = plugin.checked(program(awsProfile="other"))
    assert mine["awsProfile"] == "other" and mine["apiUrl"] == secret(API)
    # a function reads the secret settings too (no inputs to mark)
    found = plugin.stub.Invoke(proto.InvokeRequest(tok="pcimage:index:listImages",
                                                           args=struct({"imageStatus": "AVAILABLE"})), timeout=30)
    assert list(found.failures) == [] and [i["imageId"] for i in plain(getattr(found, "return"))["images"]] == [
        "base-1", "base-2"]


def test_an_imported_image_keeps_the_secret_settings_secret(plugin):
    plugin.api.images["legacy-base"] = FakeImage(["BUILD_COMPLETE"], CONFIG)
    plugin.configure(apiUrl=secret(API), region="eu-west-1")
    answer = plugin.stub.Read(proto.ReadRequest(id="legacy-base", urn=URN), timeout=30)
    outputs = plain(answer.properties)
    assert answer.id == "legacy-base" and outputs["apiUrl"] == secret(API) and outputs["region"] == "eu-west-1"
    assert "region" not in plain(answer.inputs), "the provider would resolve the same region"


def test_an_imported_image_of_another_region_says_which(plugin):
    """`pulumi import` writes the region only where the provider would not resolve the same one."""
    plugin.api.images["legacy-base"] = FakeImage(["BUILD_COMPLETE"], CONFIG, {"region": "ap-south-1"})
    plugin.configure(apiUrl=API, region="eu-west-1")
    answer = plugin.stub.Read(proto.ReadRequest(id="legacy-base", urn=URN), timeout=30)
    assert answer.id == "legacy-base"
    assert plain(answer.inputs)["region"] == plain(answer.properties)["region"] == "ap-south-1"


# ---------------------------------------------------------------- the lifecycle through gRPC

def test_create_read_update_delete_through_grpc(plugin):
    plugin.configure(apiUrl=API, region="us-east-1")
    inputs = plugin.checked(program(secret(CONFIG)))
    created = plugin.create(inputs)
    state = plain(created.properties)
    assert created.id == inputs["imageId"] == state["imageId"] and state["amiId"] == "ami-0f00"
    assert state["imageConfiguration"] == secret(CONFIG) and rpc.is_rpc_secret(state["amiName"])

    diff = plugin.stub.Diff(proto.DiffRequest(id=created.id, urn=URN, olds=struct(state),
                                              news=struct(plugin.checked(program(secret(BIGGER)), olds=inputs))),
                            timeout=30)
    assert diff.changes == proto.DiffResponse.DIFF_SOME and "imageConfiguration" in diff.replaces

    read = plugin.stub.Read(proto.ReadRequest(id=created.id, urn=URN, properties=struct(state),
                                              inputs=struct(inputs)), timeout=30)
    assert read.id == created.id and plain(read.inputs) == inputs and plain(read.properties)["amiId"] == "ami-0f00"

    news = plugin.checked(program(secret(CONFIG), forceDelete=True), olds=inputs)
    updated = plugin.stub.Update(proto.UpdateRequest(id=created.id, urn=URN, olds=struct(state), news=struct(news)),
                                 timeout=30)
    outputs = plain(updated.properties)
    assert outputs["forceDelete"] is True and outputs["imageId"] == created.id
    assert rpc.is_rpc_secret(outputs["imageConfiguration"]) and rpc.is_rpc_secret(outputs["amiName"])

    plugin.api.images[created.id].script = ["BUILD_COMPLETE"]
    assert plugin.stub.Delete(proto.DeleteRequest(id=created.id, urn=URN, properties=struct(outputs)),
                              timeout=30) == empty_pb2.Empty()
    assert created.id not in plugin.api.images

    gone = plugin.stub.Read(proto.ReadRequest(id=created.id, urn=URN, properties=struct(outputs),
                                              inputs=struct(news)), timeout=30)
    assert gone == proto.ReadResponse() and not gone.HasField("properties") and not gone.HasField("inputs"), \
        "no properties at all: import and refresh read that as 'does not exist'"


def test_import_of_a_missing_image_answers_no_properties(plugin):
    plugin.configure(apiUrl=API, region="us-east-1")
    answer = plugin.stub.Read(proto.ReadRequest(id="no-such-image", urn=URN), timeout=30)
    assert answer == proto.ReadResponse() and not answer.HasField("properties")


# ---------------------------------------------------------------- errors as the engine shows them

def test_an_error_reads_as_its_message_alone(plugin):
    plugin.configure(apiUrl=API, region="us-east-1")
    inputs = plugin.checked(program())
    created = plugin.create(inputs)
    plugin.api.raise_on["delete_image"] = [BadRequestError("Image is in use by instances.")]
    error = plugin.refused("Delete", proto.DeleteRequest(id=created.id, urn=URN, properties=created.properties))
    assert error.code() == grpc.StatusCode.UNKNOWN
    text = error.details()
    assert text.startswith(f"the API refused to delete image '{created.id}': Image is in use by instances.")
    assert "setting forceDelete=True" in text
    assert text.endswith("(the CLI shows its step as `deleting original`), which is deleted with the inputs it was "
                         "built with."), "the message whole, to its last character"
    assert not text.endswith(":\n") and not text.endswith(":") and "Unexpected" not in text
    assert "Traceback" not in text and 'File "' not in text
    assert details(error) is None, "no partial failure: nothing is kept in the state"


def test_an_unexpected_error_keeps_its_message_and_where_it_happened(plugin, catalog, monkeypatch):
    plugin.configure(apiUrl=API, region="us-east-1")

    def broken(*args, **kwargs):
        raise RuntimeError("the API client broke")

    monkeypatch.setattr(plugin.api, "iter_images", broken)
    error = plugin.refused("Invoke", proto.InvokeRequest(tok="pcimage:index:listImages",
                                                                  args=struct({"imageStatus": "AVAILABLE"})))
    assert error.code() == grpc.StatusCode.UNKNOWN
    assert error.details().startswith("the API client broke:\n") and 'File "' in error.details()


def test_a_failed_build_without_an_image_is_a_plain_error(plugin):
    plugin.api.build_script = ["BUILD_FAILED"]
    plugin.configure(apiUrl=API, region="us-east-1")
    inputs = plugin.checked(program(validateOnPreview=False))
    error = plugin.refused("Create", proto.CreateRequest(urn=URN, properties=struct(inputs)))
    assert error.code() == grpc.StatusCode.UNKNOWN
    assert error.details().startswith(f"image '{inputs['imageId']}' build failed (BUILD_FAILED):\n")
    assert details(error) is None and inputs["imageId"] not in plugin.api.images


def test_a_failed_build_kept_for_inspection_is_a_partial_failure(plugin):
    """The engine keeps the image in the state (its id and outputs) with the message as its init error."""
    plugin.api.build_script = ["BUILD_FAILED"]
    plugin.configure(apiUrl=API, region="us-east-1")
    inputs = plugin.checked(program(secret(CONFIG), keepFailedImage=True, validateOnPreview=False))
    error = plugin.refused("Create", proto.CreateRequest(urn=URN, properties=struct(inputs)))
    message = error.details()
    assert error.code() == grpc.StatusCode.UNKNOWN
    assert message.startswith(f"image '{inputs['imageId']}' build failed (BUILD_FAILED):\n")
    assert "keepFailedImage=true" in message and "keep_failed_image" not in message
    status = details(error)
    assert status is not None and (status.code, status.message) == (grpc.StatusCode.UNKNOWN.value[0], message)
    [packed] = status.details
    failed = proto.ErrorResourceInitFailed()
    assert packed.Unpack(failed)
    assert failed.id == inputs["imageId"] and list(failed.reasons) == [message]
    outputs = plain(failed.properties)
    assert outputs["imageId"] == inputs["imageId"] and outputs["imageBuildStatus"] == "BUILD_FAILED"
    assert outputs["imageConfiguration"] == secret(CONFIG), "secret inputs stay secret in the kept state"
    assert inputs["imageId"] in plugin.api.images


def test_a_resumed_build_that_stops_waiting_again_is_a_partial_failure(plugin, clock):
    follow(plugin.api, clock, (0, "BUILD_IN_PROGRESS"))
    on_clock(plugin.provider, clock)
    plugin.configure(apiUrl=API, region="us-east-1")
    inputs = plugin.checked(program(secret(CONFIG), validateOnPreview=False))
    first = plugin.refused("Create", proto.CreateRequest(urn=URN, properties=struct(inputs), timeout=30))
    kept = proto.ErrorResourceInitFailed()
    assert details(first).details[0].Unpack(kept)
    assert kept.id == inputs["imageId"] and plain(kept.properties)["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    news = plugin.checked(program(secret(CONFIG), forceDelete=True, validateOnPreview=False), olds=inputs)
    again = plugin.refused("Update", proto.UpdateRequest(id=kept.id, urn=URN, olds=kept.properties,
                                                         news=struct(news), timeout=30))
    assert again.code() == grpc.StatusCode.UNKNOWN and "after the create timeout (30s, customTimeouts)" in \
        again.details()
    resumed = proto.ErrorResourceInitFailed()
    assert details(again).details[0].Unpack(resumed)
    outputs = plain(resumed.properties)
    assert resumed.id == kept.id and outputs["forceDelete"] is True and outputs["imageBuildStatus"] == \
        "BUILD_IN_PROGRESS"
    assert outputs["imageConfiguration"] == secret(CONFIG)
    assert list(resumed.reasons) == [again.details()]


# ---------------------------------------------------------------- the plugin process

def test_serve_flushes_the_port_once_listening_serves_and_stops_quietly_on_sigint(loop, engine, monkeypatch):
    """`serve` in-process, on this module's loop: asyncio.run as SIGINT ends it (the main task cancelled, then
    KeyboardInterrupt raised), stdout a pipe behind a buffer, so the port arrives only if flushed."""
    servers, tasks = [], []
    real_server = grpc.aio.server

    def server(*args, **kwargs):
        servers.append(real_server(*args, **kwargs))
        return servers[-1]

    def run(coroutine):
        async def main():
            tasks.append(asyncio.ensure_future(coroutine))
            await tasks[-1]

        try:
            asyncio.run_coroutine_threadsafe(main(), loop).result()
        except concurrent.futures.CancelledError:
            raise KeyboardInterrupt from None

    read_fd, write_fd = os.pipe()
    out = io.TextIOWrapper(io.BufferedWriter(io.FileIO(write_fd, "w"), buffer_size=4096))
    monkeypatch.setattr(grpc.aio, "server", server)
    monkeypatch.setattr(asyncio, "run", run)
    monkeypatch.setattr(sys, "stdout", out)
    ended = []
    thread = threading.Thread(target=lambda: ended.append(serve(["--logtostderr", "-v=9", engine.address],
                                                                PcImageProvider(engine.address))), daemon=True)
    thread.start()
    try:
        assert select.select([read_fd], [], [], 30)[0], "the port is flushed at once"
        line = os.read(read_fd, 100).decode()
        assert re.fullmatch(r"\d+\n", line), line
        with grpc.insecure_channel(f"127.0.0.1:{line.strip()}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=30).version == VERSION
            assert stub.Configure(proto.ConfigureRequest(args=struct({"apiUrl": API}), acceptSecrets=True),
                                  timeout=30).acceptSecrets is True
            time.sleep(0.1)
            assert thread.is_alive() and not ended, "it serves until the engine ends it"
            loop.call_soon_threadsafe(tasks[0].cancel)
            thread.join(30)
            assert ended == [None], "SIGINT ends it quietly"
            with pytest.raises(grpc.RpcError) as stopped:
                stub.GetPluginInfo(empty_pb2.Empty(), timeout=5)
            assert stopped.value.code() == grpc.StatusCode.UNAVAILABLE, "the server was stopped"
    finally:
        if thread.is_alive():  # failed on the way: end it as above
            loop.call_soon_threadsafe(tasks[0].cancel)
            thread.join(30)
        for each in servers:  # stopped already, unless `serve` does not stop it
            with contextlib.suppress(concurrent.futures.CancelledError):
                asyncio.run_coroutine_threadsafe(each.stop(None), loop).result(30)
        out.close()
        os.close(read_fd)


def interruptible() -> None:
    """SIGINT as the engine leaves it to a plugin it starts; a runner in the background may have it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_the_plugin_process_prints_its_port_and_serves_until_interrupted(engine):
    """As the engine runs a plugin: `<plugin> [flags] <engine address>`, the port on the first line of stdout,
    then gRPC; SIGINT ends it quietly."""
    began = time.monotonic()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-m", "pulumi_pcimage.package.server", "--logtostderr",
                                "-v=9", engine.address], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    try:
        line = process.stdout.readline()
        assert line.strip().isdigit(), (line, process.stderr.read() if process.poll() is not None else "")
        with grpc.insecure_channel(f"127.0.0.1:{line.strip()}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            configured = stub.Configure(proto.ConfigureRequest(args=struct({"apiUrl": API}), acceptSecrets=True),
                                        timeout=30)
            assert configured.acceptSecrets is True
            assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=30).version == VERSION
            stub.GetSchema(proto.GetSchemaRequest(), timeout=30)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0 and out == "", "nothing after the port"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert time.monotonic() - began < 20
