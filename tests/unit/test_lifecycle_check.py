"""Check, the preview's dry run and diff, through Lifecycle: what a preview says and plans."""

import logging

from pulumi.output import Unknown

from pulumi_pcimage import config
from pulumi_pcimage.lifecycle import Lifecycle

from .fakeapi import validation_error
from .test_provider import CHANGED, CONFIG, inputs, urn

SECRET_CONFIG = ("Build:\n  InstanceType: c6i.xlarge\n  ParentImage: ami-0123456789abcdef0\n"
                 "  UpdateOsPackages: {Enabled: true}\n"
                 "  Components:\n  - {Type: arn, Value: 'arn:aws:imagebuilder:us-east-1:123456789012:component/x/1'}\n")


def failures_of(checked):
    return {f.property: f.reason for f in checked.failures}


def dry_runs(api):
    return [(image_id, kw) for _, image_id, kw in api.ops("build_image") if kw.get("dryrun")]


# ---------------------------------------------------------------- check

def test_a_missing_configuration_is_named_with_what_it_is():
    checked = Lifecycle().check({}, inputs(image_configuration=None))
    assert list(failures_of(checked)) == ["image_configuration"]
    assert failures_of(checked)["image_configuration"].startswith("image_configuration is required: ")


def test_a_missing_region_says_every_way_to_give_one(api):
    checked = Lifecycle(state=api.host_state()).check({}, inputs(region=None))
    assert failures_of(checked) == {"region": "the image's region could not be determined: pass region=..., or set "
                                              "`pulumi config set aws:region <region>`, AWS_REGION or "
                                              "AWS_DEFAULT_REGION"}
    assert api.calls == []


def test_an_unparseable_configuration_that_is_not_secret_is_quoted_in_full(api):
    checked = Lifecycle(state=api.host_state()).check({}, inputs(image_configuration="Build: [unclosed"))
    reason = failures_of(checked)["image_configuration"]
    assert reason.startswith("image_configuration is not valid YAML: while parsing a flow sequence")


def test_a_fixed_image_id_changed_with_the_same_configuration_is_the_users(api):
    core = Lifecycle(state=api.host_state())
    olds = core.check({}, inputs(validate_on_preview=False)).inputs
    checked = core.check(olds, inputs(image_id="hpc-renamed", validate_on_preview=False))
    assert checked.failures == [] and checked.inputs["image_id"] == "hpc-renamed"
    assert (checked.inputs["owner"], checked.inputs["generation"]) == (olds["owner"], olds["generation"])


def test_an_unknown_owner_in_a_preview_leaves_the_owner_and_derived_id_unknown(api):
    checked = Lifecycle(state=api.host_state()).check({}, inputs(owner=Unknown(), image_id=None))
    assert checked.failures == [] and api.calls == []
    assert isinstance(checked.inputs["owner"], Unknown) and isinstance(checked.inputs["image_id"], Unknown)


def test_state_of_a_release_without_generations_keeps_none_when_the_configuration_changes(api):
    core = Lifecycle(state=api.host_state())
    olds = {**core.check({}, inputs(validate_on_preview=False)).inputs, "generation": None}
    checked = core.check(olds, inputs(image_configuration=CHANGED))
    assert checked.failures == [] and checked.inputs["generation"] == ""
    (_, kw), = dry_runs(api)
    assert config.tag_of(config.load(kw["configuration"]), config.GENERATION_TAG) is None, "no generation tag"


# ---------------------------------------------------------------- the preview's dry run

def test_the_dry_run_carries_a_placeholder_generation_of_the_same_length(api):
    Lifecycle(state=api.host_state()).check({}, inputs())
    (image_id, kw), = dry_runs(api)
    sent = config.load(kw["configuration"])
    assert image_id == "hpc-base" and config.tag_of(sent, config.GENERATION_TAG) == "0" * 16
    assert config.owner_of(sent).startswith("proj/dev/hpc-base@")


def test_the_dry_run_sends_the_validators_to_suppress(api):
    Lifecycle(state=api.host_state()).check({}, inputs(suppress_validators=["type:InstanceTypeValidator"]))
    (_, kw), = dry_runs(api)
    assert kw["suppress_validators"] == ["type:InstanceTypeValidator"]


def test_a_taken_id_does_not_hide_the_configuration_problems_of_a_preview(api):
    from pulumi_pcimage.errors import ConflictError

    api.raise_on["build_image"] = [ConflictError("image hpc-base already exists"), validation_error(
        ("InstanceTypeValidator", "ERROR", "The instance type 'c6i.xlarge' is not supported."))]
    checked = Lifecycle(state=api.host_state()).check({}, inputs())
    assert failures_of(checked) == {
        "image_configuration": "InstanceTypeValidator (ERROR): The instance type 'c6i.xlarge' is not supported."}
    (first, _), (second, _) = dry_runs(api)
    assert first == "hpc-base" and second != "hpc-base", "validated under a throwaway id"


def test_a_rejected_configuration_is_rejected_again_from_the_cache_on_its_property(api):
    api.raise_on["build_image"] = [validation_error(("UrlValidator", "ERROR", "The S3 object does not exist."))]
    core = Lifecycle(state=api.host_state())
    first, second = core.check({}, inputs()), core.check({}, inputs())
    assert failures_of(first) == failures_of(second) == {
        "image_configuration": "UrlValidator (ERROR): The S3 object does not exist."}
    assert len(dry_runs(api)) == 1


def test_a_dry_run_answered_202_is_accepted(api):
    api.build_image = lambda image_id, configuration, **kw: api._record("build_image", image_id, **kw) or {}
    assert Lifecycle(state=api.host_state()).check({}, inputs()).failures == []


def test_a_finding_at_info_is_a_note_at_the_default_failure_level(api, caplog):
    api.raise_on["build_image"] = [validation_error(("AmiOsValidator", "INFO", "The OS is old."),
                                                    ("UrlValidator", "ERROR", "The S3 object does not exist."))]
    with caplog.at_level(logging.WARNING, logger="pulumi_pcimage"):
        checked = Lifecycle(state=api.host_state()).check({}, inputs())
    assert failures_of(checked) == {"image_configuration": "UrlValidator (ERROR): The S3 object does not exist."}
    assert "image hpc-base: AmiOsValidator (INFO): The OS is old." in caplog.text


def test_a_secret_configurations_values_are_masked_in_the_apis_findings_but_booleans_are_not(api):
    api.raise_on["build_image"] = [validation_error((
        "ComponentsValidator", "ERROR",
        "Component arn:aws:imagebuilder:us-east-1:123456789012:component/x/1 needs UpdateOsPackages True, "
        "found True"))]
    checked = Lifecycle(state=api.host_state()).check({}, inputs(image_configuration=SECRET_CONFIG,
                                                                 secret_configuration=True))
    assert failures_of(checked) == {
        "image_configuration": "ComponentsValidator (ERROR): Component *** needs UpdateOsPackages True, found True"}


# ---------------------------------------------------------------- diff

def test_a_configuration_change_is_planned_down_to_the_property_that_changed(api):
    core = Lifecycle(state=api.host_state())
    olds = core.check({}, inputs(image_configuration=config.load(CONFIG), validate_on_preview=False)).inputs
    assert olds["image_configuration"] == config.load(CONFIG), "a mapping stays a mapping, without our tags"
    news = core.check(olds, inputs(image_configuration=config.load(CHANGED), validate_on_preview=False)).inputs
    plan = core.diff("hpc-base", olds, news)
    assert plan.replaces == ["image_configuration"] and plan.configuration_paths == {"Build.InstanceType": "update"}


def test_a_text_configuration_changes_as_a_whole(api):
    core = Lifecycle(state=api.host_state())
    olds = core.check({}, inputs(validate_on_preview=False)).inputs
    news = core.check(olds, inputs(image_configuration=CHANGED, validate_on_preview=False)).inputs
    assert (olds["image_configuration"], news["image_configuration"]) == (CONFIG, CHANGED), "text stays as given"
    plan = core.diff("hpc-base", olds, news)
    assert plan.replaces == ["image_configuration"] and plan.configuration_paths == {}, "no path into a string"
    mixed = core.check(olds, inputs(image_configuration=config.load(CHANGED), validate_on_preview=False)).inputs
    assert core.diff("hpc-base", olds, mixed).configuration_paths == {}


def test_the_same_configuration_as_text_then_as_a_mapping_keeps_the_image(api):
    core = Lifecycle(state=api.host_state())
    text = CONFIG + "Image:\n  RootVolume:\n    Size: 200\n"
    olds = core.check({}, inputs(image_configuration=text, image_id=None, validate_on_preview=False)).inputs
    # as a mapping over the Pulumi wire, where every number is a double
    mapping = {**config.load(CONFIG), "Image": {"RootVolume": {"Size": 200.0}}}
    checked = core.check(olds, inputs(image_configuration=mapping, image_id=None, validate_on_preview=False))
    assert checked.failures == [] and checked.inputs["image_configuration"] == mapping
    assert (checked.inputs["image_id"], checked.inputs["generation"]) == (olds["image_id"], olds["generation"])
    plan = core.diff(olds["image_id"], olds, checked.inputs)
    assert (plan.changes, plan.replaces) == (False, [])
    again = core.check(checked.inputs, inputs(image_configuration=text, image_id=None,
                                              validate_on_preview=False)).inputs
    assert again["image_id"] == olds["image_id"]
    assert core.diff(olds["image_id"], checked.inputs, again).changes is False and api.calls == []


def test_a_region_change_alone_names_no_configuration_path(api):
    core = Lifecycle(state=api.host_state())
    olds = core.check({}, inputs(validate_on_preview=False)).inputs
    news = core.check(olds, inputs(region="eu-west-1", validate_on_preview=False)).inputs
    plan = core.diff("hpc-base", olds, news)
    assert plan.replaces == ["region"] and plan.configuration_paths == {}


def test_state_of_a_release_without_owner_tags_plans_no_change(api):
    core = Lifecycle(state=api.host_state())
    olds = {k: v for k, v in core.check({}, inputs(validate_on_preview=False)).inputs.items()
            if k not in ("owner", "generation")}
    news = core.check(olds, inputs(owner=urn(), validate_on_preview=False)).inputs
    plan = core.diff("hpc-base", olds, news)
    assert (plan.changes, plan.replaces, plan.updates) == (False, [], [])
    assert api.calls == []


def test_an_update_whose_configuration_holds_an_unknown_value_plans_a_replacement_without_paths(api):
    core = Lifecycle(state=api.host_state())
    olds = core.check({}, inputs(validate_on_preview=False)).inputs
    pending = {"Build": {"InstanceType": Unknown(), "ParentImage": "ami-0123456789abcdef0"}}
    checked = core.check(olds, inputs(image_configuration=pending, validate_on_preview=False))
    assert checked.failures == [] and api.calls == []
    plan = core.diff("hpc-base", olds, checked.inputs)
    assert (plan.replaces, plan.configuration_paths) == (["image_configuration"], {})
