"""CustomImageProvider's operations against a scripted API (the engine tests use the emulator)."""

import logging

import pytest
from pulumi.dynamic import ReadResult
from pulumi.output import Unknown

from pulumi_pcimage import config
from pulumi_pcimage.errors import MissingCredentialsError
from pulumi_pcimage.errors import AuthError, BadRequestError, TransportError, UnknownOutcomeError
from pulumi_pcimage.fields import FIELDS, INPUTS
from pulumi_pcimage.lifecycle import DERIVED, BuildFailed, DeleteFailed, ImageClash
from pulumi_pcimage.provider import CustomImageProvider

from .fakeapi import validation_error

CONFIG = "Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n"
REFORMATTED = "# same image\nBuild: {ParentImage: 'ami-0123456789abcdef0', InstanceType: c6i.xlarge}\n"
CHANGED = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")


def urn(name="hpc-base", project="proj", stack="dev"):
    return f"urn:pulumi:{stack}::{project}::pulumi-python:dynamic/pcimage:CustomImage::{name}"


def inputs(**overrides):
    base = {"image_configuration": CONFIG, "image_id": "hpc-base", "region": "us-east-1",
            "api_url": "http://127.0.0.1:1/prod", "owner": urn()}
    return {**base, **overrides}


@pytest.fixture
def prov(api):
    return CustomImageProvider(api.state)


def checked(prov, olds=None, **overrides):
    result = prov.check(olds or {}, inputs(**overrides))
    return result.inputs, {f.property: f.reason for f in result.failures}


# ---------------------------------------------------------------- check

def test_check_fills_defaults_and_normalises_numbers(prov, api):
    values, failures = checked(prov, build_timeout_minutes=90.0, delete_timeout_minutes=0.5)
    assert failures == {}
    assert values["build_timeout_minutes"] == 90 and isinstance(values["build_timeout_minutes"], int)
    assert values["delete_timeout_minutes"] == 0.5
    assert values["rollback_on_failure"] is True and values["validation_failure_level"] == "ERROR"
    assert values["suppress_validators"] == [] and values["force_delete"] is False


@pytest.mark.parametrize("prop, value, message", [
    ("image_id", "1-bad_id", "image_id '1-bad_id' is not valid: must start with a letter; underscores are not allowed"),
    ("image_id", "x", "image_id 'x' is not valid: must be at least 2 characters long"),
    ("image_id", "a" * 129, "is not valid: must be at most 128 characters long"),
    ("validation_failure_level", "FATAL", "is 'FATAL' but must be one of INFO, WARNING, ERROR"),
    ("suppress_validators", ["type:Foo", "everything"], "items ['everything'] must be strings matching"),
    ("build_timeout_minutes", 0, "must be greater than 0"),
    ("rollback_on_failure", "yes", "rollback_on_failure must be true or false"),
    ("role_arn", "admin", "role_arn 'admin' must match"),
    ("image_configuration", "- just a list", "must be a YAML mapping"),
    ("image_configuration", "Build: {InstanceType: t3.large}", "Build.ParentImage: is required"),
    ("image_configuration", CONFIG + "Imagee: {}", "Imagee: unknown key; did you mean Image?"),
    ("image_configuration", CONFIG + "Region: eu-west-1", "remove Region from the configuration or make them equal"),
])
def test_check_reports_each_problem_on_its_property(prov, api, prop, value, message):
    _, failures = checked(prov, **{prop: value})
    assert list(failures) == [prop] and message in failures[prop]
    assert api.calls == [], "nothing is sent while the inputs are invalid"


@pytest.mark.parametrize("value, reason", [
    (CONFIG + "  UpdateOsPackage: {Enabled: true}\n",
     "Build.UpdateOsPackage: unknown key; did you mean UpdateOsPackages?"),
    (CONFIG.replace("c6i.xlarge", "c6i.xlarg"),
     "Build.InstanceType: 'c6i.xlarg' is not a known EC2 instance type; did you mean c6i.xlarge?"),
])
def test_a_configuration_problem_is_said_once_on_its_property(prov, api, value, reason):
    # The engine prints "property 'image_configuration' ... has a problem: <reason>": no second prefix.
    _, failures = checked(prov, image_configuration=value)
    assert failures == {"image_configuration": reason}


def test_check_rejects_unknown_properties(prov, api):
    result = prov.check({}, {**inputs(), "imageId": "x"})
    assert [(f.property, "unknown property" in f.reason) for f in result.failures] == [("imageId", True)]


def test_check_tolerates_unknowns_and_sends_nothing(prov, api):
    values, failures = checked(prov, image_configuration=Unknown(), image_id=Unknown(), region=Unknown())
    assert failures == {} and isinstance(values["image_configuration"], Unknown)
    _, failures = checked(prov, region=Unknown())
    assert failures == {} and api.calls == []


def test_check_turns_a_dict_configuration_into_yaml_text(prov, api):
    # The dynamic face keeps one form, as CustomImage sends it (the lifecycle keeps the form it is given).
    values, failures = checked(prov, image_configuration=config.load(CONFIG))
    assert failures == {} and values["image_configuration"] == config.canonical(CONFIG)


def test_a_dict_configuration_still_partly_unknown_or_refused_is_left_as_it_is(prov, api):
    pending = {"Build": {"InstanceType": Unknown(), "ParentImage": "ami-0123456789abcdef0"}}
    values, failures = checked(prov, image_configuration=pending)
    assert failures == {} and values["image_configuration"] is pending
    deep: dict = {}
    node = deep
    for _ in range(5000):  # far past the depth limit: refused by check, never written out
        node["Build"] = {}
        node = node["Build"]
    values, failures = checked(prov, image_configuration=deep)
    assert "nested more than" in failures["image_configuration"] and values["image_configuration"] is deep


def test_check_dry_runs_a_new_configuration_once(prov, api):
    _, failures = checked(prov)
    assert failures == {}
    (op, image_id, kw), = api.ops("build_image")
    assert kw["dryrun"] is True and kw["rollback_on_failure"] is True
    assert config.owner_of(config.load(kw["configuration"])).startswith("proj/dev/hpc-base@")
    checked(prov)
    checked(prov, image_configuration=REFORMATTED)
    assert len(api.ops("build_image")) == 1, "same content: answered from the cache"


def test_check_skips_the_dry_run_when_the_configuration_did_not_change(prov, api):
    checked(prov, olds=inputs(image_configuration=REFORMATTED))
    checked(prov, validate_on_preview=False)
    assert api.calls == []


def test_check_reports_the_findings_that_fail_and_logs_the_rest_as_notes(prov, api, caplog):
    api.raise_on["build_image"] = [validation_error(
        ("InstanceTypeValidator", "ERROR", "The instance type 'c6i.xlarge' is not supported."),
        ("UrlValidator", "WARNING", "The S3 object does not exist.")) for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="pulumi_pcimage"):
        result = prov.check({}, inputs())
    assert [(f.property, f.reason) for f in result.failures] == [
        ("image_configuration", "InstanceTypeValidator (ERROR): The instance type 'c6i.xlarge' is not supported.")]
    assert "UrlValidator (WARNING): The S3 object does not exist." in caplog.text, "a note, not a failure"
    assert len(prov.check({}, inputs()).failures) == 1 and len(api.ops("build_image")) == 1, "cached"
    # at validation_failure_level=WARNING the same answer fails on both
    warning_level = prov.check({}, inputs(validation_failure_level="WARNING"))
    assert [f.reason.split(" ")[0] for f in warning_level.failures] == ["InstanceTypeValidator", "UrlValidator"]


def test_an_unreachable_api_is_a_warning_not_a_failure(prov, api, caplog):
    error = TransportError("connection refused")
    api.raise_on["build_image"] = [error, error]
    with caplog.at_level(logging.WARNING, logger="pulumi_pcimage"):
        _, failures = checked(prov)
    assert failures == {} and "could not validate the configuration" in caplog.text
    checked(prov)
    assert len(api.ops("build_image")) == 2, "warnings are not cached: the next preview tries again"


@pytest.mark.parametrize("error", [
    AuthError("HTTP 403: Missing Authentication Token", hint="is the URL the API's invoke URL with its stage?"),
    MissingCredentialsError("no AWS credentials found", hint="set AWS_PROFILE or run `aws sso login`")])
def test_a_certain_mistake_fails_the_preview(prov, api, error):
    api.raise_on["build_image"] = [error]
    _, failures = checked(prov)
    assert failures == {"api_url": f"the API refused the dry run of image hpc-base: {error}"}
    assert error.hint in failures["api_url"], "the hint says what to check"


# ---------------------------------------------------------------- diff

def outs(**overrides):
    return {**inputs(**overrides), "ami_id": "ami-0f00", "image_build_status": "BUILD_COMPLETE",
            "rollback_on_failure": True, "build_timeout_minutes": 180.0}


def test_diff_ignores_formatting_and_float_numbers(prov):
    result = prov.diff("hpc-base", outs(), inputs(image_configuration=REFORMATTED, build_timeout_minutes=180))
    assert result.changes is False and result.replaces == []


def test_diff_replaces_on_a_real_configuration_change_and_deletes_first_when_the_id_is_fixed(prov):
    result = prov.diff("hpc-base", outs(), inputs(image_configuration=CHANGED))
    assert result.changes is True and result.replaces == ["image_configuration"]
    assert result.delete_before_replace is True


def test_diff_with_a_new_derived_id_creates_before_deleting(prov):
    result = prov.diff("hpc-base-1", outs(image_id="hpc-base-1"),
                       inputs(image_configuration=CHANGED, image_id="hpc-base-2"))
    assert result.replaces == ["image_configuration", "image_id"] and result.delete_before_replace is False


def test_diff_treats_an_unknown_configuration_as_a_replacement(prov):
    result = prov.diff("hpc-base", outs(), inputs(image_configuration=Unknown(), image_id=Unknown()))
    assert result.replaces == ["image_configuration", "image_id"] and result.delete_before_replace is False


SAMPLE_CHANGES = {str: "changed-value", bool: None, float: 7, list: ["ALL"]}


@pytest.mark.parametrize("field", [f for f in INPUTS if f.name not in ("image_configuration", *DERIVED)],
                         ids=lambda f: f.name)
def test_the_field_table_decides_replace_or_update(prov, field):
    if field.type is bool:
        new = not field.default
    elif field.name == "image_id":
        new = "other-id"
    elif field.name == "region":
        new = "eu-west-1"
    else:
        new = SAMPLE_CHANGES[field.type]
    result = prov.diff("hpc-base", outs(), inputs(**{field.name: new}))
    assert result.changes is True
    assert result.replaces == ([field.name] if field.replaces else [])


def test_replacing_fields_are_exactly_configuration_id_and_region():
    assert [f.name for f in FIELDS if f.replaces] == ["image_configuration", "image_id", "region"]


# ---------------------------------------------------------------- create

def create(prov, **overrides):
    return prov.create(prov.check({}, inputs(validate_on_preview=False, **overrides)).inputs)


def test_create_builds_with_every_option_and_returns_inputs_and_ami(prov, api):
    result = create(prov, suppress_validators=["type:InstanceTypeValidator"], validation_failure_level="WARNING")
    (_, image_id, kw), = api.ops("build_image")
    assert (image_id, kw["suppress_validators"], kw["validation_failure_level"], kw["rollback_on_failure"],
            kw["region"]) == ("hpc-base", ["type:InstanceTypeValidator"], "WARNING", True, "us-east-1")
    assert "dryrun" not in kw or not kw["dryrun"]
    assert result.id == "hpc-base"
    assert result.outs["ami_id"] == "ami-0f00" and result.outs["image_build_status"] == "BUILD_COMPLETE"
    assert result.outs["image_configuration"] == CONFIG, "the user's text, not the tagged one"
    assert {f.name for f in INPUTS} <= set(result.outs) | {"aws_profile", "role_arn"}
    assert api.config_server.url not in str(result.outs), "never the (presigned) configuration URL"


def test_failed_build_reports_why_and_cleans_up(prov, api):
    api.build_script = ["BUILD_IN_PROGRESS", "BUILD_FAILED"]
    api.stack_events = [
        {"logicalResourceId": "InstanceRole", "resourceStatus": "CREATE_COMPLETE", "resourceStatusReason": "ok"},
        {"logicalResourceId": "ParallelClusterImage", "resourceStatus": "CREATE_FAILED",
         "resourceStatusReason": "Image build failed: component install-slurm exited 1"}]
    api.log_lines = [f"line {n}" for n in range(29)] + ["line 29 " + "x" * 5000]
    original = api.build_image

    def build_with_reasons(image_id, *a, **k):
        answer = original(image_id, *a, **k)
        api.images[image_id].extra = {"cloudformationStackStatusReason": "The following resource(s) failed"}
        return answer

    api.build_image = build_with_reasons
    with pytest.raises(BuildFailed) as failure:
        create(prov)
    message = str(failure.value)
    assert "'hpc-base' build failed (BUILD_FAILED)" in message
    assert "The following resource(s) failed" in message
    assert "ParallelClusterImage CREATE_FAILED: Image build failed: component install-slurm exited 1" in message
    assert "InstanceRole" not in message
    assert "line 29" in message and "line 10" in message and "line 9\n" not in message, "last 20 log lines"
    assert "3.16.1/1" in message, "the newest log stream"
    assert "x" * 300 not in message and len(message) < 16_000, "long lines are cut: gRPC drops errors over 16 KB"
    assert "the failed image was deleted, so the next `pulumi up` builds it again" in message
    assert api.ops("delete_image") and "hpc-base" not in api.images


def test_failed_build_is_kept_on_request(prov, api):
    api.build_script = ["BUILD_FAILED"]
    with pytest.raises(BuildFailed, match="kept for inspection"):
        create(prov, keep_failed_image=True)
    assert api.ops("delete_image") == [] and "hpc-base" in api.images


def test_build_timeout_says_the_build_continues(prov, api):
    api.build_script = ["BUILD_IN_PROGRESS"]
    with pytest.raises(BuildFailed, match=r"still BUILD_IN_PROGRESS after build_timeout_minutes=0.0001\. "
                                          r"The build continues server-side; the next `pulumi up` finds it, adopts"):
        create(prov, build_timeout_minutes=0.0001)


def test_conflict_with_our_own_interrupted_build_adopts_it(prov, api):
    create(prov)
    api.images["hpc-base"].script = ["BUILD_IN_PROGRESS", "BUILD_COMPLETE"]
    result = create(prov, image_configuration=REFORMATTED)
    assert result.outs["ami_id"] == "ami-0f00"
    assert len(api.ops("build_image")) == 2 and len(api.images) == 1


def test_conflict_with_a_foreign_image_explains_the_choices(prov, api):
    create(prov, owner=urn("res", "other", "stack"))
    with pytest.raises(ImageClash,
                       match="already taken .* built by 'other/stack/res@[0-9a-f]{16}'. Choices: set adopt_existing"):
        create(prov)
    with pytest.raises(ImageClash, match="built from a different configuration. Choices: adopt_existing=True only "
                                         "takes over an image built from the same configuration"):
        create(prov, image_configuration=CHANGED, adopt_existing=True)


def test_adopt_existing_takes_a_foreign_image(prov, api):
    create(prov, owner=urn("entirely", "someone", "else"))
    result = create(prov, adopt_existing=True)
    assert result.id == "hpc-base" and result.outs["adopt_existing"] is True


def test_conflict_with_our_failed_build_deletes_and_rebuilds(prov, api):
    create(prov)
    api.images["hpc-base"].script = ["BUILD_FAILED"]
    result = create(prov)
    assert result.outs["image_build_status"] == "BUILD_COMPLETE"
    assert [c[0] for c in api.calls if c[0] in ("build_image", "delete_image")] == [
        "build_image", "build_image", "delete_image", "build_image"]


def test_unknown_outcome_that_never_arrived_is_built_again(prov, api):
    api.raise_on["build_image"] = [UnknownOutcomeError("connection reset")]
    result = create(prov)
    assert result.outs["ami_id"] == "ami-0f00" and len(api.ops("build_image")) == 2


# ---------------------------------------------------------------- read, update, delete

def test_read_of_a_deleted_image_removes_it_from_the_state(prov, api):
    assert vars(prov.read("hpc-base", outs())) == vars(ReadResult("", {}))


@pytest.mark.parametrize("status", ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"])
def test_read_of_an_image_being_deleted_removes_it_from_the_state(prov, api, status):
    created = create(prov)
    api.images["hpc-base"].script = [status]
    assert vars(prov.read("hpc-base", created.outs)) == vars(ReadResult("", {}))


def test_read_reports_current_outputs(prov, api):
    created = create(prov)
    read = prov.read("hpc-base", created.outs)
    assert read.id == "hpc-base" and read.outs == created.outs


def test_update_sends_nothing_and_keeps_outputs(prov, api):
    new = prov.check({}, inputs(force_delete=True, validate_on_preview=False)).inputs
    result = prov.update("hpc-base", outs(), new)
    assert api.calls == []
    assert result.outs["force_delete"] is True and result.outs["ami_id"] == "ami-0f00"


def test_delete_waits_until_gone(prov, api):
    created = create(prov)
    prov.delete("hpc-base", created.outs)
    assert "hpc-base" not in api.images and api.ops("delete_image")[0][2]["force"] is False


def test_delete_of_a_missing_image_is_done(prov, api):
    prov.delete("hpc-base", outs())
    assert api.ops("delete_image") == []


def test_delete_waits_for_a_running_build_first(prov, api):
    create(prov)
    api.images["hpc-base"].script = ["BUILD_IN_PROGRESS", "BUILD_IN_PROGRESS", "BUILD_COMPLETE"]
    api.calls.clear()
    prov.delete("hpc-base", outs())
    assert "hpc-base" not in api.images
    assert [c[0] for c in api.calls[:4]] == ["describe_image"] * 3 + ["delete_image"]


IN_USE = "Image is used by running instances."
PCLUSTER_FORCE = "`pcluster delete-image --image-id hpc-base --region us-east-1 --force true`"


def test_delete_of_an_image_in_use_says_what_to_do(prov, api):
    created = create(prov)
    api.raise_on["delete_image"] = [BadRequestError(IN_USE)]
    with pytest.raises(DeleteFailed) as refused:
        prov.delete("hpc-base", created.outs)  # `pulumi destroy`: the resource's current image
    assert str(refused.value) == (
        "the API refused to delete image 'hpc-base': Image is used by running instances. Stop what uses the AMI "
        "(instances, launch templates, shares) and run `pulumi destroy` or `pulumi up` again; or delete it whatever "
        f"uses it, {PCLUSTER_FORCE}, and run the command again, which finds it gone. If the resource is still in "
        "your program, setting force_delete=True and running `pulumi up` lets the next `pulumi destroy` delete it "
        "anyway; not so an image it had before a replacement (the CLI shows its step as `deleting original`), "
        "which is deleted with the inputs it was built with.")
    api.raise_on["delete_image"] = [BadRequestError(IN_USE)]
    with pytest.raises(DeleteFailed) as refused:
        prov.delete("hpc-base", {**created.outs, "force_delete": True})
    assert "force" not in str(refused.value), "already set: no advice to set it, nor to force it otherwise"


REPLACED_IN_USE = (
    "the API refused to delete image 'hpc-base': Image is used by running instances. It is the image this resource "
    "had before a replacement, which the engine deletes with the inputs it was built with, also when a later "
    "`pulumi up` retries: setting force_delete on the resource does not reach it. Stop what uses the AMI "
    f"(instances, launch templates, shares) and run `pulumi up` again; or delete it whatever uses it, "
    f"{PCLUSTER_FORCE}, and run `pulumi up` again, which finds it gone.")


def replace(prov, old_outputs, **overrides):
    """The engine's replacement: Check with the old inputs, Diff, Check again with none, Create."""
    news = inputs(validate_on_preview=False, image_id=None, **overrides)
    first = prov.check(old_outputs, news).inputs
    assert prov.diff("hpc-base", old_outputs, first).replaces
    return prov.create(prov.check({}, news).inputs)


def test_a_replaced_image_in_use_is_told_apart_from_the_resources_current_image(prov, api):
    old = create(prov, image_id=None)
    new = replace(prov, old.outs, image_configuration=CHANGED, force_delete=True)
    api.raise_on["delete_image"] = [BadRequestError(IN_USE)]
    with pytest.raises(DeleteFailed) as refused:
        prov.delete(old.id, {**old.outs, "image_id": old.id})  # the engine's delete of the replaced image
    assert str(refused.value) == REPLACED_IN_USE.replace("'hpc-base'", repr(old.id)).replace(
        "--image-id hpc-base", f"--image-id {old.id}")

    # A later `pulumi up`, in a new provider process: the program's Check comes first, then the pending delete.
    later = CustomImageProvider(api.host_state())
    later.check(new.outs, inputs(validate_on_preview=False, image_id=None, image_configuration=CHANGED,
                                 force_delete=True))
    api.raise_on["delete_image"] = [BadRequestError(IN_USE)]
    with pytest.raises(DeleteFailed, match="had before a replacement") as again:
        later.delete(old.id, old.outs)
    assert str(again.value) == str(refused.value), "force_delete=True in the program changed nothing: it says so"
    (_, _, kw), = api.ops("delete_image")[-1:]
    assert kw["force"] is False

    # `pulumi destroy` (a new process, no Check): the current image gets the destroy advice.
    api.raise_on["delete_image"] = [BadRequestError(IN_USE)]
    with pytest.raises(DeleteFailed) as destroyed:
        CustomImageProvider(api.host_state()).delete(new.id, {**new.outs, "force_delete": False})
    assert "run `pulumi destroy` or `pulumi up` again" in str(destroyed.value)


def test_delete_failed_reports_the_reason(prov, api):
    created = create(prov)
    api.delete_script = ["DELETE_FAILED"]
    api.images["hpc-base"].extra = {"cloudformationStackStatusReason": "snapshot in use"}
    with pytest.raises(DeleteFailed, match=r"deleting image 'hpc-base' failed \(DELETE_FAILED\): snapshot in use"):
        prov.delete("hpc-base", created.outs)


def test_unknowns_nested_in_lists_and_mappings_are_tolerated(prov, api):
    _, failures = checked(prov, suppress_validators=["ALL", Unknown()],
                          image_configuration={"Build": {"InstanceType": Unknown(), "ParentImage": "ami-1"}})
    assert failures == {} and api.calls == []
    result = prov.diff("hpc-base", outs(), inputs(suppress_validators=[Unknown()]))
    assert result.changes is True and result.replaces == []


def test_unknown_outcome_that_did_arrive_is_adopted_without_a_second_build(prov, api):
    original = api.build_image

    def lost_answer(image_id, *args, **kwargs):
        original(image_id, *args, **kwargs)
        if not kwargs.get("dryrun"):
            api.build_image = original
            raise UnknownOutcomeError("connection reset after the request was sent")

    api.build_image = lost_answer
    result = create(prov)
    assert result.outs["ami_id"] == "ami-0f00"
    assert len(api.ops("build_image")) == 1 and len(api.images) == 1


def test_state_from_before_regions_were_pinned_is_pinned_in_place(prov):
    result = prov.diff("hpc-base", {k: v for k, v in outs().items() if k != "region"}, inputs())
    assert (result.changes, result.replaces) == (True, []), "an update that records the region, not a rebuild"
