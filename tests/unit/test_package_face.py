"""The package face (`pulumi-resource-pcimage`) in-process: `PcImageProvider`'s methods called with the SDK's
request objects, properties as the engine sends them (a protobuf Struct unmarshalled by the SDK's own
`PropertyValue.unmarshal_map`), against the scripted API, with a real `Engine` gRPC service on 127.0.0.1 recording
every `Log` call. The same behaviour through the real plugin process is proven (slowly) by tests/package."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from google.protobuf.json_format import MessageToDict
from pulumi.output import Unknown
from pulumi.provider.experimental import provider as p
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.runtime import rpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from pulumi_pcimage import config, endpoint, waiter
from pulumi_pcimage.errors import NotFoundError, PcImageError
from pulumi_pcimage.errors import BadRequestError
from pulumi_pcimage.lifecycle import log, state
from pulumi_pcimage.package import schema as package_schema
from pulumi_pcimage.package import server
from pulumi_pcimage.package.server import (PROGRESS_SECONDS, EngineLog, PcImageProvider, ProviderError, StatusLine,
                                           camel_text, plain, wire)

from .fakeapi import FakeApi, FakeImage
from .test_bad_day import clock, follow  # noqa: F401 (clock: the fixture)

URN = "urn:pulumi:dev::proj::pcimage:index:CustomImage::hpc-base"
API = "http://127.0.0.1:9/prod"  # the scripted API answers every client; nothing listens here
CONFIG = "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n"
BIGGER = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")
ROLE = "arn:aws:iam::123456789012:role/builder"
SCHEMA_FILE = Path(package_schema.__file__).parent / "plugin" / "schema.json"
MINUTE = 60


# ---------------------------------------------------------------- the engine's side

def engine_props(values: dict) -> dict[str, PropertyValue]:
    """Properties as the engine sends them: a Struct (numbers are doubles), unmarshalled by the SDK's server."""
    struct = struct_pb2.Struct()
    struct.update(values)
    return PropertyValue.unmarshal_map(struct)


def seen(props: dict[str, PropertyValue] | None) -> dict:
    """What the engine receives back (and keeps in the state): secrets as Pulumi's secret envelope."""
    return MessageToDict(PropertyValue.marshal_map(props or {}))


def secret(value):
    return rpc.wrap_rpc_secret(value)


class EngineService(engine_pb2_grpc.EngineServicer):
    def __init__(self):
        self.requests: list[engine_pb2.LogRequest] = []

    def Log(self, request, context):
        self.requests.append(request)
        return empty_pb2.Empty()

    def messages(self, *, ephemeral: bool | None = None) -> list[str]:
        return [r.message for r in self.requests if ephemeral is None or r.ephemeral == ephemeral]


@pytest.fixture
def engine():
    service = EngineService()
    grpc_server = grpc.server(ThreadPoolExecutor(max_workers=2))
    engine_pb2_grpc.add_EngineServicer_to_server(service, grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    service.address = f"127.0.0.1:{port}"
    yield service
    grpc_server.stop(None)


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path):
    """No endpoint, region or profile from this machine; the pcimage logger as a fresh process has it."""
    for name in ("PCLUSTER_API_URL", "PCLUSTER_API_STACK_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
                 "PCIMAGE_HOST_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setattr(log, "handlers", [])
    monkeypatch.setattr(log, "level", logging.NOTSET)


class Clients(list):
    """Every client a provider given `make` builds (endpoint, signing identity), all answering from the scripted
    API."""

    def __init__(self, api):
        super().__init__()
        self.api = api

    def make(self, api_url, *, region, profile, role_arn, max_attempts=0):
        self.append({"api_url": api_url, "profile": profile, "role_arn": role_arn})
        return self.api


@pytest.fixture
def clients(api) -> Clients:
    return Clients(api)


class SimulatedCancel(threading.Event):
    """The provider's Cancel flag on the simulated clock: its waits between polls pass simulated time."""

    def __init__(self, sim):
        super().__init__()
        self.clock = sim

    def wait(self, timeout=None):
        self.clock.sleep(timeout or 0)
        return self.is_set()


def on_clock(prov: PcImageProvider, sim) -> PcImageProvider:
    prov.cancelled = SimulatedCancel(sim)
    return prov


def run(coroutine):
    """As the SDK's server awaits a method; on a loop of its own (asyncio.run would unset the thread's current
    loop, which the Pulumi SDK's mocks in later tests read)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def start(engine=None, clients: Clients | None = None, api: FakeApi | None = None, **settings) -> PcImageProvider:
    """The plugin as the engine starts and configures it (settings: the stack's `pcimage:*` config); its clients
    made by `clients` when given, else `api`'s state, else real ones."""
    host = api.state if api is not None else None
    if clients is not None:  # a list: empty until the first client is made
        host = state.HostState(make_client=clients.make, clock=clients.api.state.clock)
    prov = PcImageProvider(engine.address if engine else None, state=host)
    answer = run(prov.configure(p.ConfigureRequest(variables={}, args=engine_props(settings), accept_secrets=True,
                                                   accept_resources=True)))
    assert (answer.accept_secrets, answer.supports_preview, answer.accept_resources) == (True, False, True)
    return prov


def program(image_configuration=CONFIG, **inputs) -> dict:
    return {"imageConfiguration": image_configuration, **inputs}


def check(prov, news: dict, olds: dict | None = None, urn: str = URN) -> p.CheckResponse:
    return run(prov.check(p.CheckRequest(urn, engine_props(olds or {}), engine_props(news), b"")))


def checked(prov, news: dict, olds: dict | None = None, urn: str = URN) -> dict:
    result = check(prov, news, olds, urn)
    assert result.failures == [], result.failures
    return seen(result.inputs)


def failures(result) -> dict[str, str]:
    return {f.property: f.reason for f in result.failures}


def create(prov, inputs: dict, timeout: float = 0, urn: str = URN) -> tuple[str, dict]:
    answer = run(prov.create(p.CreateRequest(urn, engine_props(inputs), timeout, False)))
    return answer.resource_id, seen(answer.properties)


def up(prov, news: dict, urn: str = URN) -> tuple[str, dict]:
    return create(prov, checked(prov, news, urn=urn), urn=urn)


def diff(prov, id_: str, state: dict, news: dict) -> p.DiffResponse:
    return run(prov.diff(p.DiffRequest(URN, id_, engine_props(state), engine_props(news), [])))


def kinds(result: p.DiffResponse) -> dict[str, str]:
    return {key: d.kind.name for key, d in result.detailed_diff.items()}


# ---------------------------------------------------------------- values on the wire

def test_values_from_the_engine_become_plain_values_and_unknowns():
    props = engine_props({"n": 3, "flag": True, "items": ["a", rpc.UNKNOWN], "nested": {"k": secret("s")},
                          "later": rpc.UNKNOWN, "none": None})
    values = {key: plain(value) for key, value in props.items()}
    assert values["n"] == 3.0 and values["flag"] is True and values["none"] is None
    assert values["items"][0] == "a" and isinstance(values["items"][1], Unknown)
    assert values["nested"] == {"k": "s"} and isinstance(values["later"], Unknown)
    assert isinstance(plain(PropertyValue(Computed())), Unknown), "the SDK's own unknown too"


def test_plain_values_go_back_as_the_engine_reads_them():
    sent = {"count": wire(180), "flag": wire(True), "text": wire("x", True), "later": wire(Unknown()),
            "tags": wire({"a": 1, "b": [2, "c"]}, True), "items": wire(("ALL",))}
    assert seen(sent) == {"count": 180.0, "flag": True, "text": secret("x"), "later": rpc.UNKNOWN,
                          "tags": secret({"a": 1.0, "b": [2.0, "c"]}), "items": ["ALL"]}
    assert type(wire(180).value) is float and wire(True).value is True, "ints become floats; bools stay bools"
    assert wire(Unknown(), True).is_secret and not wire({"a": 1}, True).value["a"].is_secret


def test_camel_case_names():
    assert [package_schema.camel(n) for n in ("image_configuration", "build_timeout_minutes", "region")] == [
        "imageConfiguration", "buildTimeoutMinutes", "region"]
    assert camel_text("image_id 'x' is not valid; image_configuration Build: required, see build_timeout_minutes"
                      ) == "imageId 'x' is not valid; imageConfiguration Build: required, see buildTimeoutMinutes"
    assert camel_text("delete_timeout_minutes and secret_configuration") == \
        "deleteTimeoutMinutes and secretConfiguration"
    assert package_schema.to_field("imageConfiguration").name == "image_configuration"
    assert package_schema.to_field("image_configuration") is None and package_schema.to_field("colour") is None


def test_a_provider_error_carries_no_traceback_for_the_sdk_to_append():
    try:
        raise ProviderError("image 'x' could not be deleted")
    except ProviderError as exc:
        caught = exc
    assert caught.__traceback__ is None and str(caught) == "image 'x' could not be deleted"
    assert isinstance(caught, PcImageError)


# ---------------------------------------------------------------- schema

def test_the_schema_is_the_shipped_one_and_declares_what_programs_write():
    answer = run(PcImageProvider().get_schema(p.GetSchemaRequest(0)))
    assert answer.schema == SCHEMA_FILE.read_text(), (
        "pulumi_pcimage/package/plugin/schema.json is stale: python -m pulumi_pcimage.package.schema > it")
    schema = json.loads(answer.schema)
    image = schema["resources"]["pcimage:index:CustomImage"]
    assert image["requiredInputs"] == ["imageConfiguration"]
    assert [name for name, spec in image["inputProperties"].items() if spec.get("willReplaceOnChanges")] == [
        "imageConfiguration", "imageId", "region"]
    assert image["inputProperties"]["buildTimeoutMinutes"]["default"] == 180
    assert image["inputProperties"]["imageConfiguration"]["oneOf"] == [  # YAML text, or the typed object
        {"type": "string"}, {"$ref": "#/types/pcimage:index:ImageConfiguration"}]
    assert image["inputProperties"]["suppressValidators"] == {
        "type": "array", "items": {"type": "string"}, "description": image["inputProperties"][
            "suppressValidators"]["description"]}
    assert "default" not in image["inputProperties"]["suppressValidators"], "a list default is not declared"
    assert {"amiId", "amiName", "imageBuildStatus", "owner", "generation"} <= set(image["properties"])
    assert "default" not in image["properties"]["buildTimeoutMinutes"], "outputs carry no defaults"
    # always in the state: what Check resolves or defaults
    assert sorted(image["required"]) == sorted([
        "imageConfiguration", "imageId", "region", "apiUrl", "suppressValidators", "validationFailureLevel",
        "rollbackOnFailure", "forceDelete", "buildTimeoutMinutes", "deleteTimeoutMinutes", "validateOnPreview",
        "keepFailedImage", "adoptExisting"])
    assert list(schema["config"]["variables"]) == ["apiUrl", "apiStackName", "apiStackRegion", "region", "profile",
                                                   "roleArn"]
    functions = schema["functions"]
    assert functions["pcimage:index:listImages"]["inputs"]["required"] == ["imageStatus"]
    assert functions["pcimage:index:listImages"]["inputs"]["properties"]["imageStatus"]["$ref"] == \
        "#/types/pcimage:index:ImageStatus"
    assert [v["value"] for v in schema["types"]["pcimage:index:ImageStatus"]["enum"]] == [
        "AVAILABLE", "PENDING", "FAILED"]
    assert functions["pcimage:index:getOfficialImages"]["outputs"]["properties"]["images"]["items"] == {
        "$ref": "#/types/pcimage:index:OfficialImage"}
    assert functions["pcimage:index:getImage"]["outputs"]["properties"]["amiTags"] == {
        "type": "object", "additionalProperties": {"type": "string"},
        "description": "The AMI tags, by key (empty before the AMI exists)."}


def run_as_main(module: str) -> None:
    """What `python -m module` runs, in this process. Not runpy: under the full suite pytest imports this package
    through its assertion-rewriting loader (the package ships a pytest plugin), which runpy cannot read code from."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    code = compile(Path(spec.origin).read_text(), spec.origin, "exec")
    exec(code, {"__name__": "__main__", "__package__": module.rpartition(".")[0], "__file__": spec.origin})


def test_the_schema_module_prints_the_schema(capsys):
    run_as_main("pulumi_pcimage.package.schema")
    assert capsys.readouterr().out == SCHEMA_FILE.read_text()


# ---------------------------------------------------------------- provider configuration

def check_config(news: dict) -> dict[str, str]:
    return failures(run(PcImageProvider().check_config(p.CheckRequest("urn:provider", {}, engine_props(news), b""))))


def test_provider_settings_are_checked_by_name_and_rule():
    assert check_config({"apiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/prod", "region": "us-east-1",
                         "apiStackName": "pcluster-api", "profile": "team", "roleArn": ROLE, "version": "0.1.0",
                         "apiStackRegion": rpc.UNKNOWN}) == {}
    found = check_config({"apiUrl": "ftp://x", "apiStackRegion": "Virginia", "roleArn": "me", "apiUrll": API,
                          "profile": 3, "region": None})
    assert sorted(found) == ["apiStackRegion", "apiUrl", "apiUrll", "profile", "roleArn"]
    # no value is quoted: CheckConfig gets secrets unmarked, so any of them may be one
    assert found["apiUrl"] == "pcimage:apiUrl: apiUrl must match ^https?://"
    assert found["apiStackRegion"].startswith("pcimage:apiStackRegion: apiStackRegion must match")
    assert found["roleArn"] == r"pcimage:roleArn: roleArn must match ^arn:aws[a-z-]*:iam::\d{12}:role/.+$"
    assert found["apiUrll"] == ("unknown setting 'apiUrll' of provider pcimage; it accepts apiUrl, apiStackName, "
                                "apiStackRegion, region, profile, roleArn")
    assert found["profile"] == "pcimage:profile must be a string, not a number"
    # the endpoint's own rules, before any resource uses it; a password is refused, not repeated
    assert check_config({"apiUrl": "https://deploy:pw0rd@abc123.execute-api.us-east-1.amazonaws.com/prod"}) == {
        "apiUrl": "pcimage:apiUrl: apiUrl must not carry user:password@ (it would be stored in the Pulumi state, and "
                  "the API authenticates with SigV4, not passwords): remove it from the URL"}
    assert check_config({"apiUrl": "http://api.example.com/prod"})["apiUrl"].startswith(
        "pcimage:apiUrl: apiUrl must be https: over plain http")


def test_a_changed_setting_is_a_provider_diff_named_as_the_stack_config_names_it():
    def diff_config(old: dict, new: dict) -> p.DiffResponse:
        return run(PcImageProvider().diff_config(p.DiffRequest("urn:provider", "id", engine_props(old),
                                                               engine_props(new), [])))

    same = diff_config({"apiUrl": API, "version": "0.1.0"}, {"apiUrl": API, "version": "0.2.0"})
    assert (same.changes, same.diffs) == (False, [])
    changed = diff_config({"apiUrl": API, "region": "us-east-1", "roleArn": ROLE},
                          {"apiUrl": "https://b/prod", "profile": "x", "region": "us-east-1"})
    assert (changed.changes, changed.diffs) == (True, ["apiUrl", "profile", "roleArn"])
    assert {k: (d.kind.name, d.input_diff) for k, d in changed.detailed_diff.items()} == {
        "apiUrl": ("UPDATE", True), "profile": ("ADD", True), "roleArn": ("DELETE", True)}


def test_configure_takes_arguments_before_stack_variables_and_ignores_empty_ones(api):
    prov = PcImageProvider(state=api.state)
    run(prov.configure(p.ConfigureRequest(
        variables={"pcimage:config:apiUrl": "http://127.0.0.1:7/prod", "pcimage:config:region": "eu-west-1",
                   "pcimage:config:profile": "team"},
        args=engine_props({"apiUrl": API, "roleArn": "", "profile": 1}), accept_secrets=True, accept_resources=True)))
    inputs = checked(prov, program())
    assert (inputs["apiUrl"], inputs["region"]) == (API, "eu-west-1")
    assert "roleArn" not in inputs and "awsProfile" not in inputs, "an empty or non-text setting is no setting"


# ---------------------------------------------------------------- check

def test_check_fills_the_provider_settings_and_derives_the_id_from_the_urn(api, clients):
    prov = start(clients=clients, apiUrl=API + "/", region="eu-west-1", profile="team", roleArn=ROLE)
    # what only the provider sets is never taken from the program, whatever its value
    inputs = checked(prov, program(owner="someone", generation=5, secretConfiguration=True))
    assert (inputs["apiUrl"], inputs["region"], inputs["awsProfile"], inputs["roleArn"]) == (
        API, "eu-west-1", "team", ROLE)
    assert inputs["imageId"].startswith("hpc-base-") and inputs["owner"].startswith("proj/dev/hpc-base@")
    assert inputs["generation"] not in ("", 5) and inputs["secretConfiguration"] is False
    assert inputs["buildTimeoutMinutes"] == 180.0 and inputs["validationFailureLevel"] == "ERROR"
    assert clients[-1] == {"api_url": API, "profile": "team", "role_arn": ROLE}, "the dry run signs as configured"
    # the program's own values win
    mine = checked(prov, program(apiUrl="https://abc.execute-api.us-west-2.amazonaws.com/prod/v3/images",
                                 region="us-west-2", awsProfile="other", imageId="team-base"))
    assert (mine["apiUrl"], mine["region"], mine["awsProfile"], mine["roleArn"], mine["imageId"]) == (
        "https://abc.execute-api.us-west-2.amazonaws.com/prod", "us-west-2", "other", ROLE, "team-base")


def test_check_names_properties_as_the_schema_does(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    result = check(prov, program(imageId="1-bad", validationFailureLevel="LOUD", colour="blue"))
    found = failures(result)
    assert found["imageId"] == "imageId '1-bad' is not valid: must start with a letter"
    assert found["validationFailureLevel"] == "validationFailureLevel is 'LOUD' but must be one of INFO, WARNING, ERROR"
    assert found["colour"].startswith("unknown property 'colour'; CustomImage accepts imageConfiguration, imageId")
    assert api.calls == []
    found = failures(check(prov, {"imageId": "base"}))
    assert list(found) == ["imageConfiguration"] and found["imageConfiguration"].startswith(
        "imageConfiguration is required")


def test_the_region_comes_from_the_environment_else_the_apis_host(api, monkeypatch):
    prov = start(api=api, apiUrl="https://abc123.execute-api.eu-west-2.amazonaws.com/prod")
    assert checked(prov, program())["region"] == "eu-west-2"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert checked(prov, program())["region"] == "ap-south-1"
    monkeypatch.delenv("AWS_REGION")
    # Another package's setting never reaches a plugin (pulumi/pulumi pkg/host/host.go keeps a plugin's own
    # namespace only; tests/cli/test_package_face.py shows it with the real engine): aws:region counts for nothing.
    monkeypatch.setenv("PULUMI_CONFIG", '{"aws:region": "eu-central-1"}')
    assert checked(prov, program())["region"] == "eu-west-2"
    # an emulator's or custom domain's host names no region: the message names the plugin's own setting
    found = failures(check(start(api=api, apiUrl=API), program()))
    assert list(found) == ["region"] and found["region"] == (
        "the image's region could not be determined: pass region=..., or set `pulumi config set pcimage:region "
        "<region>`, AWS_REGION or AWS_DEFAULT_REGION")


def test_without_any_endpoint_check_says_how_to_set_one(api):
    news = program()
    result = check(start(api=api), news)
    assert list(failures(result)) == ["apiUrl"]
    reason = failures(result)["apiUrl"]
    assert reason.startswith("the ParallelCluster API endpoint is not configured: pass apiUrl; set stack config")
    assert "api_url" not in reason and api.calls == []
    assert seen(result.inputs) == news, "the inputs come back as sent"


def test_the_endpoint_from_a_stack_output_is_looked_up_once_per_configuration(api, monkeypatch):
    lookups = []

    def stack_invoke_url(stack, *, region=None, session=None):
        lookups.append((stack, region))
        return "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"

    monkeypatch.setattr(endpoint, "stack_invoke_url", stack_invoke_url)
    prov = start(api=api, apiStackName="pcluster-api", apiStackRegion="us-east-1")
    for _ in range(2):
        assert checked(prov, program())["apiUrl"] == "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
    assert lookups == [("pcluster-api", "us-east-1")]


def test_unknowns_during_preview_pass_and_stay_unknown(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    inputs = checked(prov, program(rpc.UNKNOWN))
    assert inputs["imageConfiguration"] == rpc.UNKNOWN and inputs["imageId"] == rpc.UNKNOWN
    inputs = checked(start(api=api), program(apiUrl=rpc.UNKNOWN, region="us-east-1"))
    assert inputs["apiUrl"] == rpc.UNKNOWN and inputs["region"] == "us-east-1"
    # the profile and the endpoint decide the region once they are known: nothing is guessed meanwhile
    inputs = checked(start(api=api), program(apiUrl=rpc.UNKNOWN))
    assert inputs["region"] == rpc.UNKNOWN and inputs["imageId"] == rpc.UNKNOWN
    inputs = checked(start(api=api, apiUrl="https://abc123.execute-api.eu-west-2.amazonaws.com/prod"),
                     program(awsProfile=rpc.UNKNOWN))
    assert inputs["region"] == rpc.UNKNOWN and inputs["imageId"] == rpc.UNKNOWN
    assert api.calls == []


def test_an_old_configuration_keeps_the_image_id_and_a_secret_stays_secret(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    first = checked(prov, program(secret(CONFIG)))
    assert rpc.is_rpc_secret(first["imageConfiguration"]) and first["secretConfiguration"] is True
    assert not rpc.is_rpc_secret(first["imageId"])
    again = checked(prov, program(secret(CONFIG)), olds=first)
    assert (again["imageId"], again["generation"]) == (first["imageId"], first["generation"])
    changed = checked(prov, program(secret(BIGGER)), olds=first)
    assert changed["imageId"] != first["imageId"]


def test_check_messages_reach_the_engine_on_the_resource(api, engine):
    api.raise_on["build_image"] = [NotFoundError("no such parent")]  # not a configuration problem: a warning
    checked(start(engine, api=api, apiUrl=API, region="us-east-1"), program())
    [warning] = [r for r in engine.requests if r.severity == engine_pb2.WARNING]
    assert "could not validate the configuration against the API" in warning.message and warning.urn == URN


# ---------------------------------------------------------------- diff

def test_an_object_configuration_stays_an_object_in_the_inputs_and_outputs(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    given = {**config.load(CONFIG), "Image": {"RootVolume": {"Size": 200}}}
    inputs = checked(prov, program(given))
    assert inputs["imageConfiguration"] == given, "as given: no text, none of our ownership tags"
    id_, outputs = create(prov, inputs)
    assert outputs["imageConfiguration"] == given
    sent = config.load(api.images[id_].configuration)  # the build itself carries our tags
    assert config.owner_of(sent) and config.without_owner(sent) == given
    assert checked(prov, program(CONFIG))["imageConfiguration"] == CONFIG, "text stays text"


def test_diff_names_the_configuration_path_that_forces_a_replacement(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    id_, state = up(prov, program(config.load(CONFIG)))
    result = diff(prov, id_, state, checked(prov, program(config.load(BIGGER)), olds=state))
    assert (result.changes, result.replaces, result.delete_before_replace) == (
        True, ["imageConfiguration", "imageId"], False)
    assert kinds(result) == {"imageConfiguration.Build.InstanceType": "UPDATE_REPLACE", "imageId": "UPDATE_REPLACE"}
    assert result.diffs == ["imageConfiguration", "imageId"]
    assert all(d.input_diff for d in result.detailed_diff.values())

    added = config.load(CONFIG + "  Iam: {InstanceRole: arn:aws:iam::123456789012:role/x}\n")
    grown = diff(prov, id_, state, checked(prov, program(added), olds=state))
    assert kinds(grown) == {"imageConfiguration.Build.Iam": "ADD_REPLACE", "imageId": "UPDATE_REPLACE"}
    id2, state2 = up(prov, program(added), urn=URN.replace("hpc-base", "other"))
    shrunk = diff(prov, id2, state2, checked(prov, program(config.load(CONFIG)), olds=state2,
                                             urn=URN.replace("hpc-base", "other")))
    assert kinds(shrunk)["imageConfiguration.Build.Iam"] == "DELETE_REPLACE"


def test_a_text_configuration_is_diffed_as_a_whole(api):
    # The engine walks a path through the inputs as objects: one inside a string would show nothing.
    prov = start(api=api, apiUrl=API, region="us-east-1")
    id_, state = up(prov, program())
    result = diff(prov, id_, state, checked(prov, program(BIGGER), olds=state))
    assert kinds(result) == {"imageConfiguration": "UPDATE_REPLACE", "imageId": "UPDATE_REPLACE"}
    # a state holding text (e.g. from a release that wrote objects out) and a changed object: as a whole too
    result = diff(prov, id_, state, checked(prov, program(config.load(BIGGER)), olds=state))
    assert kinds(result) == {"imageConfiguration": "UPDATE_REPLACE", "imageId": "UPDATE_REPLACE"}


def test_the_same_configuration_as_an_object_after_text_changes_nothing(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    text = CONFIG.replace("Build:", "Image:\n  RootVolume: {Size: 200}\nBuild:")
    id_, state = up(prov, program(text))
    news = checked(prov, program({**config.load(CONFIG), "Image": {"RootVolume": {"Size": 200}}}), olds=state)
    assert (news["imageId"], news["generation"]) == (id_, state["generation"])
    assert diff(prov, id_, state, news).changes is False


def test_a_fixed_id_is_deleted_before_its_replacement(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    id_, state = up(prov, program(config.load(CONFIG), imageId="team-base"))
    result = diff(prov, id_, state, checked(prov, program(config.load(BIGGER), imageId="team-base"), olds=state))
    assert (result.replaces, result.delete_before_replace) == (["imageConfiguration"], True)
    assert kinds(result) == {"imageConfiguration.Build.InstanceType": "UPDATE_REPLACE"}


def test_options_change_in_place_with_their_kind(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    id_, state = up(prov, program(roleArn=ROLE))
    assert diff(prov, id_, state, checked(prov, program(roleArn=ROLE), olds=state)).changes is False
    news = checked(prov, program(awsProfile="team", buildTimeoutMinutes=240), olds=state)
    result = diff(prov, id_, state, news)
    assert (result.changes, result.replaces, result.delete_before_replace) == (True, [], False)
    assert kinds(result) == {"awsProfile": "ADD", "roleArn": "DELETE", "buildTimeoutMinutes": "UPDATE"}
    assert sorted(result.diffs) == ["awsProfile", "buildTimeoutMinutes", "roleArn"]
    assert all(d.input_diff for d in result.detailed_diff.values()), "the engine shows them as input changes"


def test_a_refreshed_failed_image_is_replaced_for_its_status(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    id_, state = up(prov, program())
    state = {**state, "imageBuildStatus": "BUILD_FAILED"}
    del state["amiId"]
    result = diff(prov, id_, state, checked(prov, program(), olds=state))
    assert (result.replaces, result.delete_before_replace) == (["imageBuildStatus"], True)
    assert kinds(result) == {"imageBuildStatus": "UPDATE_REPLACE"}
    # an output, not an input: the engine then shows its old value from the outputs
    assert result.detailed_diff["imageBuildStatus"].input_diff is False


# ---------------------------------------------------------------- create, read, update, delete

def test_create_builds_and_says_so_on_the_resource(api, engine, clock):
    clock.now = 1000.0
    follow(api, clock, (0, "BUILD_IN_PROGRESS"), (1000 + 10 * MINUTE, "BUILD_COMPLETE"))
    prov = on_clock(start(engine, api=api, apiUrl=API, region="us-east-1"), clock)
    id_, outputs = up(prov, program())
    assert id_.startswith("hpc-base-") and outputs["imageId"] == id_
    assert (outputs["amiId"], outputs["imageBuildStatus"], outputs["imageConfiguration"]) == (
        "ami-0f00", "BUILD_COMPLETE", CONFIG)
    assert outputs["buildTimeoutMinutes"] == 180.0 and outputs["apiUrl"] == API
    final = [r for r in engine.requests if "ready after" in r.message]
    assert [(r.severity, r.urn, r.ephemeral) for r in final] == [(engine_pb2.INFO, URN, False)]
    took = re.fullmatch(rf"image {id_} ready after (\d+)m(\d+)s: ami-0f00 \(BUILD_COMPLETE\)", final[0].message)
    assert took and 10 <= int(took.group(1)) <= 11, final[0].message
    assert f"image {id_}: build started" in engine.messages(ephemeral=False)
    live = engine.messages(ephemeral=True)
    assert live[0] == f"building image {id_}: BUILD_IN_PROGRESS, 0s elapsed"
    assert live[-1].startswith(f"building image {id_}: BUILD_COMPLETE, 10m")
    assert not [m for m in engine.messages(ephemeral=False) if "BUILD_IN_PROGRESS" in m], \
        "the waiter's own lines are left to the status line"
    assert {r.urn for r in engine.requests} == {URN}


def test_a_build_without_an_ami_says_so(api, engine):
    prov = start(engine, api=api, apiUrl=API, region="us-east-1")
    original = api.describe_image

    def describe_image(image_id, *, region=None):
        answer = original(image_id, region=region)
        answer.pop("ec2AmiInfo", None)
        answer["ec2AmiInfo"] = {}
        return answer

    api.describe_image = describe_image
    id_, outputs = up(prov, program())
    assert "amiId" not in outputs
    assert [m for m in engine.messages() if "ready after" in m][0].endswith(": no AMI id (BUILD_COMPLETE)")


def test_outputs_of_a_secret_configuration_stay_secret(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    id_, outputs = up(prov, program(secret(CONFIG)))
    assert rpc.unwrap_rpc_secret(outputs["imageConfiguration"]) == CONFIG
    assert rpc.is_rpc_secret(outputs["amiName"]), "ParallelCluster names the AMI after Image.Name"
    assert not rpc.is_rpc_secret(outputs["amiId"]) and not rpc.is_rpc_secret(outputs["imageId"])
    _, plain_outputs = up(prov, program(BIGGER), urn=URN.replace("hpc-base", "open"))
    assert not rpc.is_rpc_secret(plain_outputs["amiName"])


@pytest.mark.parametrize("flagged", ["wrapped", "in the state", "wrapped, in a state from before the flag"])
def test_a_secret_configuration_is_never_quoted_in_messages(api, engine, flagged):
    licence = "LIC-7731-SECRET"
    text = CONFIG + f"  Tags:\n    - {{Key: licence, Value: {licence}}}\n"
    original = api.build_image

    def build_image(image_id, configuration, **kwargs):
        answer = original(image_id, configuration, **kwargs)
        return {**answer, "validationMessages": [{"type": "TagValidator", "level": "WARNING",
                                                  "message": f"tag value {licence} looks like a key"}]}

    api.build_image = build_image
    prov = start(engine, api=api, apiUrl=API, region="us-east-1")
    inputs = checked(prov, program(secret(text), validateOnPreview=False))
    if flagged == "in the state":  # a state whose secrecy was lost on the way keeps its flag
        inputs = {**inputs, "imageConfiguration": text}
        assert inputs["secretConfiguration"] is True
    elif flagged.endswith("before the flag"):  # the secret wrapping alone says so
        inputs = {key: value for key, value in inputs.items() if key != "secretConfiguration"}
    create(prov, inputs)
    [warning] = [r.message for r in engine.requests if "TagValidator" in r.message]
    assert warning.endswith("TagValidator (WARNING): tag value *** looks like a key")


def test_a_lifecycle_error_reads_as_advice_with_camel_case_names(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    id_, state = up(prov, program())
    api.raise_on["delete_image"] = [BadRequestError("Image is in use by instances.")]
    with pytest.raises(ProviderError) as refused:
        run(prov.delete(p.DeleteRequest(URN, id_, engine_props(state), 0)))
    message = str(refused.value)
    assert message.startswith(f"the API refused to delete image '{id_}': Image is in use by instances")
    assert "setting forceDelete=True" in message and "force_delete" not in message
    assert refused.value.__traceback__ is None and refused.value.__cause__ is None


def test_custom_timeouts_win_and_zero_means_none_set(api, clock):
    follow(api, clock, (0, "BUILD_IN_PROGRESS"))
    prov = on_clock(start(api=api, apiUrl=API, region="us-east-1"), clock)
    inputs = checked(prov, program(buildTimeoutMinutes=2, deleteTimeoutMinutes=3, validateOnPreview=False))
    with pytest.raises(ProviderError, match=r"still BUILD_IN_PROGRESS after the create timeout \(30s, "
                                            r"customTimeouts\)\. The build continues server-side"):
        create(prov, inputs, timeout=30)
    assert clock.now == pytest.approx(30)
    second = checked(prov, program(imageId="second", buildTimeoutMinutes=2, validateOnPreview=False))
    with pytest.raises(ProviderError, match=r"still BUILD_IN_PROGRESS after buildTimeoutMinutes=2\. "):
        create(prov, second, timeout=0)
    assert clock.now == pytest.approx(30 + 2 * MINUTE)

    delete = p.DeleteRequest(URN, inputs["imageId"], engine_props(inputs), 45)
    with pytest.raises(ProviderError, match=r"still building after the delete timeout \(45s, customTimeouts\)"):
        run(prov.delete(delete))
    with pytest.raises(ProviderError, match=r"still building after deleteTimeoutMinutes=3; "):
        run(prov.delete(p.DeleteRequest(URN, inputs["imageId"], engine_props(inputs), 0)))
    assert api.ops("delete_image") == []


def test_cancel_ends_the_wait_and_the_build_goes_on(api, engine):
    api.build_script = ["BUILD_IN_PROGRESS"]
    prov = start(engine, api=api, apiUrl=API, region="us-east-1")
    inputs = checked(prov, program(validateOnPreview=False))
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(create, prov, inputs)
        deadline = threading.Event()
        while not engine.messages(ephemeral=True) and not deadline.wait(0.01):
            pass
        run(prov.cancel())
        with pytest.raises(ProviderError, match=r"stopped waiting after .* \(cancelled; it was BUILD_IN_PROGRESS\)"):
            pending.result(timeout=30)
    assert inputs["imageId"] in api.images and api.ops("delete_image") == []


def test_builds_wait_side_by_side_and_check_still_answers(api, monkeypatch):
    monkeypatch.setenv("PCIMAGE_HOST_WORKERS", "0")  # 0: no ceiling of ours, as unset
    builds = 12
    released = threading.Event()
    all_waiting = threading.Barrier(builds + 1, action=released.set, timeout=30)
    original = api.describe_image

    def describe_image(image_id, *, region=None):
        if image_id.startswith("build-") and not released.is_set():
            all_waiting.wait()
        return original(image_id, region=region)

    api.describe_image = describe_image
    prov = start(api=api, apiUrl=API, region="us-east-1")
    batch = [checked(prov, program(imageId=f"build-{n}", validateOnPreview=False)) for n in range(builds)]
    with ThreadPoolExecutor(builds) as engine_calls:
        pending = [engine_calls.submit(create, prov, inputs) for inputs in batch]
        while all_waiting.n_waiting < builds:
            assert not any(f.done() for f in pending), [f.exception() for f in pending if f.done()]
            threading.Event().wait(0.01)
        assert checked(prov, program(imageId="bystander"))["imageId"] == "bystander", "check answers meanwhile"
        all_waiting.wait()
        assert sorted(f.result(timeout=30)[0] for f in pending) == sorted(i["imageId"] for i in batch)


def test_refresh_keeps_the_inputs_and_drops_a_deleted_image(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    inputs = checked(prov, program(secret(CONFIG)))
    id_, state = create(prov, inputs)

    def read(properties: dict, inputs: dict) -> p.ReadResponse:
        return run(prov.read(p.ReadRequest(URN, id_, engine_props(properties), engine_props(inputs))))

    refreshed = read(state, inputs)
    assert refreshed.resource_id == id_ and seen(refreshed.inputs) == inputs
    assert seen(refreshed.properties)["amiId"] == "ami-0f00"
    assert rpc.is_rpc_secret(seen(refreshed.properties)["imageConfiguration"])
    # a state written without inputs is refreshed all the same (not imported)
    without = read(state, {})
    assert without.resource_id == id_ and seen(without.inputs) == {}
    assert rpc.is_rpc_secret(seen(without.properties)["imageConfiguration"]), "refreshed, not imported anew"
    del api.images[id_]
    gone = read(state, inputs)
    assert (gone.resource_id, gone.properties, gone.inputs) == ("", {}, {})


def test_import_reads_an_existing_image_with_the_providers_settings(api):
    api.images["legacy-base"] = FakeImage(["BUILD_COMPLETE"], CONFIG)
    prov = start(api=api, apiUrl=API, region="eu-west-1", profile="team")
    answer = run(prov.read(p.ReadRequest(URN, "legacy-base", {}, {})))
    inputs, outputs = seen(answer.inputs), seen(answer.properties)
    assert answer.resource_id == "legacy-base" and outputs["amiId"] == "ami-0f00"
    # what `pulumi import` writes code from: what a program would declare, not the provider's settings
    assert sorted(inputs) == ["generation", "imageConfiguration", "imageId", "owner"]
    assert inputs["imageId"] == "legacy-base"
    assert config.canonical(inputs["imageConfiguration"]) == config.canonical(CONFIG)
    assert (outputs["region"], outputs["apiUrl"], outputs["awsProfile"]) == ("eu-west-1", API, "team")
    assert inputs["owner"] == outputs["owner"] and inputs["owner"].startswith("proj/dev/hpc-base@")
    missing = run(prov.read(p.ReadRequest(URN, "no-such-image", {}, {})))
    assert (missing.resource_id, missing.properties, missing.inputs) == ("", {}, {})


def test_update_changes_options_and_keeps_the_image(api):
    prov = start(api=api, apiUrl=API, region="us-east-1")
    inputs = checked(prov, program(secret(CONFIG)))
    id_, state = create(prov, inputs)
    news = checked(prov, program(secret(CONFIG), forceDelete=True), olds=inputs)
    answer = run(prov.update(p.UpdateRequest(URN, id_, engine_props(state), engine_props(news), 0, [], False)))
    outputs = seen(answer.properties)
    assert outputs["forceDelete"] is True and outputs["amiId"] == "ami-0f00" and outputs["imageId"] == id_
    assert rpc.is_rpc_secret(outputs["imageConfiguration"]) and rpc.is_rpc_secret(outputs["amiName"])
    assert [c for c in api.ops("build_image") if not c[2].get("dryrun")] == [api.ops("build_image")[-1]], \
        "nothing is built again"


def test_delete_removes_the_image_and_shows_it_going(api, engine):
    prov = start(engine, api=api, apiUrl=API, region="us-east-1")
    id_, state = up(prov, program())
    api.images[id_].script = ["BUILD_COMPLETE"]
    run(prov.delete(p.DeleteRequest(URN, id_, engine_props(state), 0)))
    assert id_ not in api.images
    assert [m for m in engine.messages(ephemeral=True) if m.startswith("deleting")] == [
        f"deleting image {id_}: DELETE_IN_PROGRESS, 0s elapsed"]


# ---------------------------------------------------------------- the live status line and the engine's log

def test_the_status_line_shows_a_new_status_at_once_and_the_same_one_at_most_every_few_seconds(engine):
    now = [1000.0]
    progress = StatusLine(EngineLog(engine.address), URN, "hpc-base-1", monotonic=lambda: now[0])
    building = {"imageBuildStatus": "BUILD_IN_PROGRESS", "imagebuilderImageStatus": "BUILDING"}
    assert PROGRESS_SECONDS == 5
    for at, described in [(0, building), (1, building), (4.9, building), (5, building),
                          (6, {**building, "imagebuilderImageStatus": "TESTING"}),
                          (7, {"imageBuildStatus": "BUILD_COMPLETE"}), (8, None)]:
        now[0] = 1000.0 + at
        progress("build", described, 65 + at)
    assert engine.messages() == [
        "building image hpc-base-1: BUILD_IN_PROGRESS, 1m05s elapsed, Image Builder: BUILDING",
        "building image hpc-base-1: BUILD_IN_PROGRESS, 1m10s elapsed, Image Builder: BUILDING",
        "building image hpc-base-1: BUILD_IN_PROGRESS, 1m11s elapsed, Image Builder: TESTING",
        "building image hpc-base-1: BUILD_COMPLETE, 1m12s elapsed",
        "building image hpc-base-1: not found, 1m13s elapsed"]
    assert {(r.urn, r.ephemeral, r.severity) for r in engine.requests} == {(URN, True, engine_pb2.INFO)}


def test_lifecycle_lines_go_to_the_engine_by_severity(engine):
    prov = PcImageProvider(engine.address)
    library = logging.getLogger("pulumi_pcimage.client")
    library.setLevel(logging.DEBUG)
    try:
        library.debug("a verbose library line")
    finally:
        library.setLevel(logging.NOTSET)
    log.debug("not worth showing")
    log.info("image x: build started")
    log.warning("image x: a note")
    log.error("image x: went wrong")
    log.critical("image x: very wrong")
    waiter.log.info("image x build: BUILD_IN_PROGRESS after 5s")
    waiter.log.warning("image x build: throttled")
    assert [(r.severity, r.message, r.ephemeral, r.urn) for r in engine.requests] == [
        (engine_pb2.INFO, "image x: build started", False, ""), (engine_pb2.WARNING, "image x: a note", False, ""),
        (engine_pb2.ERROR, "image x: went wrong", False, ""), (engine_pb2.ERROR, "image x: very wrong", False, ""),
        (engine_pb2.WARNING, "image x build: throttled", False, "")], "outside any operation: on no resource"
    assert prov.settings == {}


def test_a_lost_engine_never_fails_an_operation():
    EngineLog("127.0.0.1:9")("nobody listens", urn=URN)  # refused: dropped, not raised
    EngineLog(None)("no engine at all", urn=URN)


# ---------------------------------------------------------------- functions through Invoke

@pytest.fixture
def catalog(api):
    """The scripted API with official images and a listing: the invokes' answers (a provider given `api=catalog`)."""
    def describe_official_images(*, region=None, os=None, architecture=None):
        api.calls.append(("describe_official_images", "", {"region": region, "os": os, "architecture": architecture}))
        return {"images": [{"amiId": "ami-0a1", "name": "aws-parallelcluster-3.16.1-amzn2023-hvm-arm64",
                            "os": "alinux2023", "architecture": "arm64", "version": "3.16.1"}]}

    def iter_images(image_status, *, region=None):
        api.calls.append(("iter_images", image_status, {"region": region}))
        yield {"imageId": "base-1", "imageBuildStatus": "BUILD_COMPLETE", "region": "eu-west-1",
               "version": "3.16.1", "ec2AmiInfo": {"amiId": "ami-1"}}
        yield {"imageId": "base-2", "imageBuildStatus": "BUILD_IN_PROGRESS", "region": "eu-west-1",
               "version": "3.16.1"}

    api.describe_official_images, api.iter_images = describe_official_images, iter_images
    api.images["base-1"] = FakeImage(["BUILD_COMPLETE"], CONFIG)
    return api


def invoke(prov, token: str, args: dict) -> tuple[dict, list[tuple[str, str]]]:
    answer = run(prov.invoke(p.InvokeRequest(token, engine_props(args))))
    return seen(answer.return_value), [(f.property, f.reason) for f in answer.failures or []]


def test_functions_through_invoke(catalog, clients):
    prov = start(clients=clients, apiUrl=API, region="eu-west-1", profile="team", roleArn=ROLE)
    found, fails = invoke(prov, "pcimage:index:getOfficialImages", {"os": "alinux2023", "architecture": "arm64",
                                                                    "region": "us-east-1"})
    assert fails == [] and found == {"images": [{
        "amiId": "ami-0a1", "name": "aws-parallelcluster-3.16.1-amzn2023-hvm-arm64", "os": "alinux2023",
        "architecture": "arm64", "version": "3.16.1"}]}
    assert catalog.calls[-1] == ("describe_official_images", "", {"region": "us-east-1", "os": "alinux2023",
                                                                  "architecture": "arm64"})
    assert clients[-1] == {"api_url": API, "profile": "team", "role_arn": ROLE}

    listed, _ = invoke(prov, "pcimage:index:listImages", {"imageStatus": "AVAILABLE"})
    assert listed["images"][0] == {"imageId": "base-1", "imageBuildStatus": "BUILD_COMPLETE", "region": "eu-west-1",
                                   "version": "3.16.1", "amiId": "ami-1"}
    assert "amiId" not in listed["images"][1], "absent values are left out"
    assert catalog.calls[-1] == ("iter_images", "AVAILABLE", {"region": "eu-west-1"}), "the provider's region"

    described, _ = invoke(prov, "pcimage:index:getImage", {"imageId": "base-1"})
    assert (described["imageId"], described["amiId"], described["imageBuildStatus"]) == (
        "base-1", "ami-0f00", "BUILD_COMPLETE")
    assert "images" not in described


def test_lines_written_during_a_function_call_are_attached_to_no_resource(catalog, engine):
    def describe_official_images(**kwargs):  # the client announces its retries on the pulumi_pcimage logger
        logging.getLogger("pulumi_pcimage.client").warning("describe_official_images: HTTP 429, retrying in 1s")
        return {"images": []}

    catalog.describe_official_images = describe_official_images
    prov = start(engine, api=catalog, apiUrl=API, region="eu-west-1")
    assert invoke(prov, "pcimage:index:getOfficialImages", {}) == ({"images": []}, [])
    assert [(r.message, r.urn, r.severity) for r in engine.requests] == [
        ("describe_official_images: HTTP 429, retrying in 1s", "", engine_pb2.WARNING)]


def test_function_failures_name_the_function_and_argument_as_the_schema_does(catalog):
    prov = start(api=catalog, apiUrl=API, region="eu-west-1")
    assert invoke(prov, "pcimage:index:getOfficialImages", {"os": "windows"})[1] == [(
        "", "getOfficialImages: os 'windows' is not one of the allowed values: alinux2023, ubuntu2204, ubuntu2404, "
            "rhel8, rocky8, rhel9, rocky9")]
    assert invoke(prov, "pcimage:index:listImages", {})[1] == [("", "listImages: imageStatus is required")]
    # named from the declaration: the argument's schema name, wherever the rule's words quote it
    assert invoke(prov, "pcimage:index:getImage", {"imageId": "image_id"})[1] == [(
        "", "getImage: imageId 'image_id' must match ^[a-zA-Z][a-zA-Z0-9-]{1,127}$")]
    [(_, reason)] = invoke(prov, "pcimage:index:getImage", {"imageId": "base-1", "region": "mars_north"})[1]
    assert reason.startswith("getImage: region 'mars_north' must match ^(af-south-1|")
    assert invoke(prov, "pcimage:index:listImages", {"imageStatus": 3})[1] == [(
        "", "listImages: imageStatus must be a string, got 3.0")]
    assert catalog.calls == [], "refused before anything is sent"
    [(_, reason)] = invoke(prov, "pcimage:index:getImage", {"imageId": "no-such-image"})[1]
    assert "no-such-image" in reason
    assert invoke(prov, "pcimage:index:deleteEverything", {}) == ({}, [("", "unknown function "
                                                                          "'pcimage:index:deleteEverything'")])
    [(where, reason)] = invoke(start(api=catalog), "pcimage:index:listImages", {"imageStatus": "AVAILABLE"})[1]
    assert where == "apiUrl" and "pass apiUrl" in reason


def test_an_api_error_keeps_its_words_with_the_packages_field_names(catalog, clients):
    def refused(*args, **kwargs):
        raise BadRequestError("the request was refused: check api_url", operation="list_images")

    catalog.iter_images = refused
    prov = start(api=catalog, apiUrl=API, region="eu-west-1")
    assert invoke(prov, "pcimage:index:listImages", {"imageStatus": "FAILED"})[1] == [
        ("", "list_images: HTTP 400: the request was refused: check apiUrl")]


def test_each_provider_calls_through_clients_of_its_own(catalog, clients):
    for _ in range(2):
        prov = start(clients=clients, apiUrl=API, region="eu-west-1", profile="team")
        invoke(prov, "pcimage:index:getImage", {"imageId": "base-1"})
        invoke(prov, "pcimage:index:listImages", {"imageStatus": "AVAILABLE"})
    assert clients == [{"api_url": API, "profile": "team", "role_arn": None}] * 2, "one per provider, kept"


# ---------------------------------------------------------------- the plugin's entry point

def test_the_plugin_serves_this_provider_with_the_engines_address(monkeypatch, engine):
    served = []
    monkeypatch.setattr(server, "serve", lambda args, provider: served.append((args, provider)))
    monkeypatch.setattr(sys, "argv", ["pulumi-resource-pcimage", "--logtostderr", engine.address])
    server.main()
    [(args, prov)] = served
    assert args == ["--logtostderr", engine.address]
    prov.engine("hello", urn=URN)
    assert engine.messages() == ["hello"], "its messages go to that engine"


def test_the_server_prints_its_port_and_serves_our_servicer(monkeypatch, capsys):
    """`serve` as `python -m pulumi_pcimage.package.server` runs it: the loop is stopped once it has started."""
    import asyncio

    started = []

    def once(coroutine):
        async def until_started():
            task = asyncio.ensure_future(coroutine)
            while not capsys.readouterr().out.strip().isdigit() if not started else False:
                await asyncio.sleep(0.01)
            started.append(True)
            task.cancel()
        asyncio.new_event_loop().run_until_complete(until_started())

    monkeypatch.setattr(asyncio, "run", once)
    monkeypatch.setattr(sys, "argv", ["pulumi-resource-pcimage", "127.0.0.1:1"])
    run_as_main("pulumi_pcimage.package.server")
    assert started == [True]
