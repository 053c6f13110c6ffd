"""Every request the client can send, as the server received it, and every body fed back, against the released
openapi.yaml (aws-parallelcluster 3.16.1)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pulumi_pcimage import errors
from tests.client.server import DESCRIBED, Reply, operation_of
from tests.support.openapi import validate_request, validate_response

CONFIG = "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n"

CALLS = {
    "build minimal": ("build_image", lambda c: c.build_image("hpc-base", CONFIG)),
    "build every parameter": ("build_image", lambda c: c.build_image(
        "hpc-base", CONFIG, suppress_validators=["ALL", "type:InstanceTypeValidator"],
        validation_failure_level="WARNING", dryrun=True, rollback_on_failure=False, region="us-west-2")),
    "build one validator as text": ("build_image", lambda c: c.build_image(
        "hpc-base", {"Build": {"InstanceType": "c6i.xlarge"}}, suppress_validators="type:Foo", dryrun=False)),
    "describe": ("describe_image", lambda c: c.describe_image("hpc-base")),
    "describe other region": ("describe_image", lambda c: c.describe_image("hpc-base", region="ap-south-1")),
    "delete": ("delete_image", lambda c: c.delete_image("hpc-base")),
    "delete forced": ("delete_image", lambda c: c.delete_image("hpc-base", force=True, region="us-east-2")),
    "delete not forced": ("delete_image", lambda c: c.delete_image("hpc-base", force=False)),
    "official": ("list_official_images", lambda c: c.describe_official_images()),
    "official filtered": ("list_official_images", lambda c: c.describe_official_images(
        os="alinux2023", architecture="arm64", region="eu-central-1")),
    "list": ("list_images", lambda c: c.list_images("AVAILABLE")),
    "list page": ("list_images", lambda c: c.list_images("PENDING", next_token="abc/def==", region="us-east-1")),
    "iter": ("list_images", lambda c: list(c.iter_images("FAILED"))),
    "stack events": ("get_image_stack_events", lambda c: c.get_image_stack_events("hpc-base")),
    "stack events page": ("get_image_stack_events", lambda c: c.get_image_stack_events(
        "hpc-base", next_token="t1", region="us-east-1")),
    "log streams": ("list_image_log_streams", lambda c: c.list_image_log_streams("hpc-base")),
    "log streams page": ("list_image_log_streams", lambda c: c.list_image_log_streams("hpc-base", next_token="t")),
    "log events": ("get_image_log_events", lambda c: c.get_image_log_events("hpc-base", "3.16.1/1")),
    "log events every parameter": ("get_image_log_events", lambda c: c.get_image_log_events(
        "hpc-base", "3.16.1/1", region="us-east-1", next_token="f/123", start_from_head=True, limit=50,
        start_time=datetime(2024, 1, 1, 10, tzinfo=timezone.utc), end_time="2024-01-02T00:00:00Z")),
    "log events naive time": ("get_image_log_events", lambda c: c.get_image_log_events(
        "hpc-base", "s", start_from_head=False, start_time=datetime(2024, 1, 1, 10))),
}


def assert_on_contract(server, operation):
    assert server.seen, "the server saw no request"
    for seen in server.seen:
        assert operation_of(seen.method, seen.path)[0] == operation
        validate_request(seen.prepared())
        validate_response(seen.prepared(), seen.reply.as_response())


@pytest.mark.parametrize("name", CALLS)
def test_each_call_is_a_valid_request_with_a_valid_answer(client, server, name):
    operation, call = CALLS[name]
    result = call(client)
    assert_on_contract(server, operation)
    assert result  # the decoded body (or the list of images) came back


def test_build_image_wire_format(client, server):
    client.build_image("hpc-base", CONFIG, suppress_validators=["type:A", "ALL", "type:A"],
                       validation_failure_level="INFO", dryrun=True, rollback_on_failure=False)
    seen = server.seen[0]
    assert seen.json == {"imageId": "hpc-base", "imageConfiguration": CONFIG}
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.query == [("suppressValidators", "type:A"), ("suppressValidators", "ALL"),
                          ("validationFailureLevel", "INFO"), ("dryrun", "true"),
                          ("rollbackOnFailure", "false"), ("region", "eu-west-1")]


def test_absent_parameters_are_omitted_and_region_always_sent(client, server):
    client.delete_image("hpc-base")
    client.get_image_log_events("hpc-base", "a/b c")
    assert server.seen[0].query == [("region", "eu-west-1")]
    assert server.seen[1].query == [("region", "eu-west-1")]
    assert server.seen[1].uri.startswith("/prod/v3/images/custom/hpc-base/logstreams/a%2Fb%20c?")


def test_mapping_configuration_is_sent_as_yaml(client, server):
    import yaml

    client.build_image("hpc-base", {"Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1"}})
    assert yaml.safe_load(server.seen[0].json["imageConfiguration"]) == {
        "Build": {"InstanceType": "c6i.xlarge", "ParentImage": "ami-1"}}


# Error answers the spec documents, per operation: each is valid against the spec and maps to its type.
ERRORS = [
    ("build_image", lambda c: c.build_image("hpc-base", CONFIG),
     Reply(400, {"message": "Invalid image configuration", "configurationValidationErrors": [
         {"id": "1", "type": "InstanceTypeValidator", "level": "ERROR", "message": "bad instance type"}]}),
     errors.BadRequestError),
    ("build_image", lambda c: c.build_image("hpc-base", CONFIG), Reply(409, {"message": "exists"}),
     errors.ConflictError),
    ("build_image", lambda c: c.build_image("hpc-base", CONFIG, dryrun=True),
     Reply(412, {"message": "Request would have succeeded, but DryRun flag is set."}), errors.DryrunSucceeded),
    ("build_image", lambda c: c.build_image("hpc-base", CONFIG), Reply(401, {"message": "Unauthorized"}),
     errors.AuthError),
    ("describe_image", lambda c: c.describe_image("gone"), Reply(404, {"message": "No image or stack"}),
     errors.NotFoundError),
    ("delete_image", lambda c: c.delete_image("busy"), Reply(400, {"message": "AMI is in use"}),
     errors.BadRequestError),
    ("list_images", lambda c: c.list_images("AVAILABLE"), Reply(500, {"message": "boom"}),
     errors.InternalServiceError),
]


@pytest.mark.parametrize("operation, call, reply, error", ERRORS, ids=[f"{e[0]}-{e[2].status}" for e in ERRORS])
def test_documented_errors_are_valid_and_typed(make_client, server, operation, call, reply, error):
    from pulumi_pcimage.client import RetryPolicy

    server.script(reply)
    with pytest.raises(error) as raised:
        call(make_client(retry=RetryPolicy(max_attempts=1)))
    assert raised.value.status == reply.status and raised.value.message == reply.body["message"]
    assert raised.value.body == reply.body
    assert_on_contract(server, operation)


def test_unknown_fields_and_enum_values_pass_through(client, server):
    future = {**DESCRIBED, "imageBuildStatus": "BUILD_PAUSED", "someNewField": {"x": 1}}
    server.script(Reply(200, future))
    assert client.describe_image("hpc-base") == future


image_ids = st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9-]{1,20}\Z")
validators = st.lists(st.one_of(st.just("ALL"), st.from_regex(r"\Atype:[A-Za-z0-9]{1,12}\Z")), max_size=4)
optional_bool = st.none() | st.booleans()
free_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20)
segments = free_text.filter(lambda s: s not in (".", ".."))  # refused before sending: see test below


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(image_id=image_ids, suppress=st.none() | validators,
       level=st.none() | st.sampled_from(["INFO", "WARNING", "ERROR"]), dryrun=optional_bool, rollback=optional_bool,
       region=st.none() | free_text)
def test_fuzzed_build_requests_match_the_spec(client, server, image_id, suppress, level, dryrun, rollback, region):
    server.seen.clear()
    client.build_image(image_id, CONFIG, suppress_validators=suppress, validation_failure_level=level,
                       dryrun=dryrun, rollback_on_failure=rollback, region=region)
    assert_on_contract(server, "build_image")
    assert server.seen[0].json["imageId"] == image_id
    assert [v for k, v in server.seen[0].query if k == "suppressValidators"] == list(dict.fromkeys(suppress or []))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(image_id=image_ids, stream=segments, token=st.none() | free_text, head=optional_bool,
       limit=st.none() | st.integers(1, 10000))
def test_fuzzed_log_event_requests_match_the_spec(client, server, image_id, stream, token, head, limit):
    server.seen.clear()
    client.get_image_log_events(image_id, stream, next_token=token, start_from_head=head, limit=limit)
    assert_on_contract(server, "get_image_log_events")
    assert dict(server.seen[0].query).get("nextToken") == token


@pytest.mark.parametrize("name", ["", ".", ".."])
def test_names_a_url_cannot_carry_are_refused_before_sending(client, server, name):
    with pytest.raises(ValueError, match="cannot be sent"):
        client.get_image_log_events("hpc-base", name)
    assert server.seen == []


def test_the_contract_check_rejects_what_the_spec_forbids(client, server):
    """The checker has teeth: a validator name outside ALL|type:Name reaches the server and fails the spec."""
    client.build_image("hpc-base", CONFIG, suppress_validators=["InstanceTypeValidator"])
    with pytest.raises(Exception, match="(?i)invalid|pattern"):
        validate_request(server.seen[0].prepared())
