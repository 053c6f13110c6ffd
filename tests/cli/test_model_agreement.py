"""The model and the real Pulumi CLI play the same scenarios and must agree on every step.

Each scenario tests/faces (both faces), tests/engine (the dynamic face) or tests/package (the package face) plays on
the model (`pulumi_pcimage.testing.Stack` over a `ProviderHost`) is written here once, as data
(tests/cli/agreement.py), and played both ways, each against an emulator of its own: after every command both must
report the same planned ops, replace reasons and detailed diffs, the same completed and failed steps in the same
order, the same state (ids, pending deletes, pending replacements, unfinished resources) and the same images at the
API. The model test each scenario mirrors is named above it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pulumi_pcimage.package.schema import camel

from .agreement import (
    OTHER_API, WRONG_STAGE, Aws, Destroy, Image, Import, Preview, Refresh, RenameStack, Up, break_image,
    built_elsewhere, delete_image, finish_builds, free_all, play, set_in_use, throttling,
)

BASE = Image()
BIGGER = replace(BASE, instance_type="c6i.2xlarge")
FIXED = replace(BASE, inputs={"image_id": "team-base"})
FIXED_BIGGER = replace(FIXED, instance_type="c6i.2xlarge")
CBD = ["create-replacement", "replace", "delete-replaced"]  # a replacement, create before delete
DBR = ["delete-replaced", "replace", "create-replacement"]  # delete before replace
FACES = ["dynamic", "package"]


def named(face: str, *names: str) -> list[str]:
    """Property names as the face spells them."""
    return [camel(n) if face == "package" else n for n in names]


@pytest.fixture
def agree(make_stack, tmp_path):
    def run(face, acts, **kwargs):
        return play(face, acts, make_stack=make_stack, folder=tmp_path, **kwargs)
    return run


# ---------------------------------------------------------------- the common path
# tests/faces/test_lifecycle.py::test_lifecycle_of_an_image


@pytest.mark.parametrize("face", FACES)
def test_lifecycle_of_an_image(agree, face):
    forced = replace(BASE, inputs={"force_delete": True})
    bigger = replace(BIGGER, inputs={"force_delete": True})
    agree(face, [
        Preview(BASE, expect=dict(ops={"base": "create"}, builds=0)),
        Up(BASE, expect=dict(applied={"base": ["create"]}, builds=1)),
        Preview(BASE, expect=dict(ops={"base": "same"})),
        Up(forced, expect=dict(ops={"base": "update"}, applied={"base": ["update"]}, builds=1)),
        Preview(bigger, expect=dict(ops={"base": "replace"},
                                    replaces={"base": named(face, "image_configuration", "image_id")})),
        Up(bigger, expect=dict(applied={"base": CBD}, builds=2)),
        Aws(delete_image("base")),
        Refresh(expect=dict(live={}, applied={"base": ["delete"]})),
        Preview(bigger, expect=dict(ops={"base": "create"})),
        Up(bigger),
        Destroy(expect=dict(live={}, images=[], applied={"base": ["delete"]})),
    ])


# tests/faces/test_lifecycle.py::test_a_fixed_image_id_is_deleted_before_its_replacement


@pytest.mark.parametrize("face", FACES)
def test_a_fixed_image_id_is_deleted_before_its_replacement(agree, face):
    agree(face, [
        Up(FIXED),
        Up(FIXED_BIGGER, expect=dict(replaces={"base": named(face, "image_configuration")}, applied={"base": DBR},
                                     live={"base": "team-base"}, images=["team-base"], builds=2)),
    ])


# A delete-before-replace whose new build fails: the engine keeps the deleted resource as a pending replacement,
# and the next `up` replaces it without deleting again (the model used to forget it and plan a create).


@pytest.mark.parametrize("face", FACES)
def test_a_delete_before_replace_whose_build_fails_is_replaced_again(agree, face):
    agree(face, [
        Up(FIXED),
        Up(FIXED_BIGGER, build="fails",
           expect=dict(ok=False, applied={"base": ["delete-replaced", "replace"]},
                       failed={"base": ["create-replacement"]}, live={"base": "team-base"},
                       pending_replacements=["base"], images=[]),
           says="component install-slurm exited with status 1"),
        Preview(FIXED_BIGGER, expect=dict(ops={"base": "replace"})),
        Up(FIXED_BIGGER, expect=dict(applied={"base": ["replace", "create-replacement"]}, pending_replacements=[],
                                     images=["team-base"], builds=3)),
    ])


# tests/faces/test_identity.py: test_a_targeted_replacement_never_deletes_the_live_image,
# test_a_second_targeted_replacement_keeps_the_image_too, test_a_targeted_replacement_with_delete_before_replace_-
# rebuilds


@pytest.mark.parametrize("face", FACES)
def test_targeted_replacements(agree, face):
    agree(face, [
        Up(BASE),
        Up(BASE, replace=("base",),
           expect=dict(ops={"base": "replace"}, replaces={"base": ["id"]}, applied={"base": CBD}, builds=1),
           says="not deleted: its replacement has the same configuration and image id"),
        Up(BASE, replace=("base",), expect=dict(applied={"base": CBD}, builds=1)),
        Up(replace(BASE, delete_before_replace=True), replace=("base",), expect=dict(applied={"base": DBR}, builds=2)),
        # a --replace target is checked with the program's own inputs: ignore_changes does not apply
        Up(replace(BIGGER, ignore_changes=("image_configuration",)), replace=("base",),
           expect=dict(applied={"base": CBD}, builds=3)),
    ])


# tests/faces/test_identity.py::test_a_fixed_id_never_adopts_its_previous_configuration


@pytest.mark.parametrize("face", FACES)
def test_a_fixed_id_never_adopts_its_previous_configuration(agree, face):
    adopting = replace(FIXED, inputs={**FIXED.inputs, "adopt_existing": True})
    agree(face, [
        Up(adopting),
        Up(replace(adopting, instance_type="c6i.2xlarge", delete_before_replace=False),
           expect=dict(ok=False, failed={"base": ["create-replacement"]}, live={"base": "team-base"},
                       images=["team-base"], builds=1),
           says="built from its previous configuration"),
    ])


# tests/faces/test_lifecycle.py::test_preview_reports_the_validators_messages, tests/faces/test_identity.py::
# test_preview_validates_a_changed_configuration_of_a_fixed_id


@pytest.mark.parametrize("face", FACES)
def test_preview_validates_the_configuration(agree, face):
    rule = "InstanceTypeBaseAMICompatibleValidator (ERROR): The instance type 'huge-machine' is not supported."
    agree(face, [
        Preview(replace(BASE, instance_type="huge-machine"), expect=dict(ok=False), says=rule),
        Up(FIXED),
        Preview(replace(FIXED, instance_type="huge-machine"), expect=dict(ok=False, builds=1), says=rule),
    ])


# tests/faces/test_identity.py::test_ignore_changes_rebuilds_nothing


@pytest.mark.parametrize("face", FACES)
def test_ignore_changes_rebuilds_nothing(agree, face):
    moved = replace(BIGGER, inputs={"region": "eu-west-1"}, ignore_changes=("image_configuration", "region"))
    agree(face, [
        Up(BASE),
        Preview(moved, expect=dict(ops={"base": "same"})),
        Up(moved, expect=dict(applied={"base": ["same"]}, builds=1)),
    ])


# ignoreChanges on a path inside the configuration: the engine resets it inside the object (the model used to
# apply top-level keys only); a path whose element was added or removed is reported and not applied.
# tests/cli/test_diffs.py::test_ignore_changes_on_a_configuration_path_keeps_the_image plays the first part alone.

NAMED = replace(BASE, configuration={"Build": {"InstanceType": "c6i.xlarge", "ParentImage": BASE.configuration_value()[
    "Build"]["ParentImage"]}, "Image": {"Name": "hpc-base"}})


def test_ignore_changes_inside_the_configuration(agree):
    path = "image_configuration.Build.InstanceType"
    bigger = replace(NAMED, configuration={**NAMED.configuration, "Build": {
        **NAMED.configuration["Build"], "InstanceType": "c6i.2xlarge"}})
    unnamed = replace(bigger, configuration={"Build": bigger.configuration["Build"]})
    agree("package", [
        Up(NAMED),
        Preview(replace(bigger, ignore_changes=(path,)), expect=dict(ops={"base": "same"})),
        Up(replace(bigger, ignore_changes=(path,)), expect=dict(applied={"base": ["same"]}, builds=1)),
        # Image is gone from the program: its Name cannot be put back, the rest of the change shows
        Preview(replace(unnamed, ignore_changes=("image_configuration.Image.Name",)),
                expect=dict(ops={"base": "replace"}),
                says='cannot ignore changes in added or removed elements of the path: "imageConfiguration.Image.'
                     'Name"'),
    ])


def test_ignore_changes_inside_a_text_configuration_is_no_ignore_at_all(agree):
    # the dynamic face keeps the configuration as YAML text: the engine walks no path into a string
    agree("dynamic", [
        Up(BASE),
        Preview(replace(BIGGER, ignore_changes=("image_configuration.Build.InstanceType",)),
                expect=dict(ops={"base": "replace"}), never_says="cannot ignore changes"),
    ])


# tests/faces/test_identity.py::test_renames_rebuild_nothing (a new name, stack, project, parent)


@pytest.mark.parametrize("face", FACES)
def test_renames_rebuild_nothing(agree, face):
    renamed = replace(BASE, name="renamed", aliases=(("base", None),))
    moved = replace(BASE, name="renamed", parent="Images", aliases=(("renamed", None),))
    agree(face, [
        Up(BASE),
        Up(renamed, expect=dict(ops={"renamed": "same"}, applied={"renamed": ["same"]}, builds=1)),
        RenameStack("prod"),
        Up(replace(renamed, aliases=()), expect=dict(ops={"renamed": "same"}, builds=1)),
        RenameStack("prod", project="agree2"),
        Up(replace(renamed, aliases=()), expect=dict(ops={"renamed": "same"}, builds=1)),
        Up(moved, expect=dict(ops={"Images/renamed": "same"}, builds=1)),
    ])


# tests/faces/test_identity.py::test_refresh_and_destroy_use_the_pinned_region, tests/faces/test_lifecycle.py::
# test_an_image_in_another_region_than_the_api, tests/package/test_lifecycle.py::test_the_region_is_resolved_by_the_-
# plugin_and_pinned, test_the_region_comes_from_the_provider_configuration


def in_region(region: str, count: int = 1):
    """`expect` of images: `count` images, all in `region`."""
    return lambda images: len(images) == count and all(i.startswith(f"{region}/") for i in images)


def test_the_region_is_pinned_in_the_state(agree):
    agree("dynamic", [
        Up(replace(BASE, inputs={"region": "eu-west-1"}), expect=dict(images=in_region("eu-west-1"))),
        Refresh(expect=dict(applied={"base": ["same"]})),
        Destroy(expect=dict(images=[])),
    ])


def test_the_region_comes_from_the_provider_configuration(agree):
    agree("package", [
        Up((BASE, replace(BASE, name="other", inputs={"region": "us-west-2"})),
           expect=dict(images=lambda images: sorted(i.split("/")[0] for i in images) == ["eu-west-1", "us-west-2"])),
        Refresh(expect=dict(applied={"base": ["same"], "other": ["same"]})),
        Destroy(expect=dict(images=[])),
    ], settings={"region": "eu-west-1"})


# tests/faces/test_identity.py::test_same_name_under_different_parents_are_different_images:
# the model's `up` of one resource is `pulumi up --target`, its `destroy` of one `pulumi destroy --target`.
# tests/cli/test_dynamic_face.py plays parents (nested too) without targets.


@pytest.mark.parametrize("face", FACES)
def test_same_name_under_different_parents_are_different_images(agree, face):
    both = (replace(BASE, parent="Gpu"), replace(BASE, parent="Cpu"))
    agree(face, [
        # what --target leaves out is reported as `same`, created or not
        Up(both, target=("Gpu/base",), expect=dict(applied={"Gpu/base": ["create"], "Cpu/base": ["same"]}, builds=1)),
        Up(both, target=("Cpu/base",), expect=dict(applied={"Gpu/base": ["same"], "Cpu/base": ["create"]}, builds=2)),
        Preview(both, expect=dict(ops={"Gpu/base": "same", "Cpu/base": "same"})),
        Destroy(target=("Gpu/base",), expect=dict(applied={"Gpu/base": ["delete"], "Cpu/base": ["same"]},
                                                  live=lambda live: list(live) == ["Cpu/base"])),
    ])


# tests/faces/test_identity.py::test_an_endpoint_that_cannot_see_the_image_is_refused


@pytest.mark.parametrize("face", FACES)
def test_an_endpoint_that_cannot_see_the_image_is_refused(agree, face):
    agree(face, [
        Up(BASE),
        Up(replace(BASE, inputs={"api_url": OTHER_API}),
           expect=dict(ok=False, failed={"base": ["update"]}, builds=1),
           says="cannot be found through the new api_url" if face == "dynamic" else "cannot be found through the "
                                                                                    "new apiUrl"),
        Refresh(expect=dict(ok=True, applied={"base": ["same"]})),
    ])


# tests/faces/test_identity.py::test_refresh_of_a_failed_image_plans_a_rebuild (tests/cli/test_diffs.py::
# test_a_refreshed_failed_image_shows_its_status_in_the_diff shows its diff)


@pytest.mark.parametrize("face", FACES)
def test_refresh_of_a_failed_image_plans_a_rebuild(agree, face):
    status = named(face, "image_build_status")
    agree(face, [
        Up(BASE),
        Aws(break_image("base")),
        Refresh(expect=dict(applied={"base": ["update"]})),
        Preview(BASE, expect=dict(ops={"base": "replace"}, replaces={"base": status})),
        Up(BASE, expect=dict(applied={"base": DBR}, builds=2)),
    ])


# tests/faces/test_identity.py::test_a_replaced_image_in_use_stays_pending_until_freed (tests/cli/
# test_images_in_use.py plays it with the messages in full). Each command is a provider process of its own: a
# destroy runs no program, so nothing tells its process that the pending delete is a replaced image (the model,
# one process for all its commands, used to say so).


@pytest.mark.parametrize("face", FACES)
def test_a_replaced_image_in_use_stays_pending_until_freed(agree, face):
    forced = replace(BIGGER, inputs={"force_delete": True})
    agree(face, [
        Up(BASE),
        Aws(set_in_use("base")),
        Up(BIGGER, expect=dict(ok=False, applied={"base": ["create-replacement", "replace"]},
                               failed={"base": ["delete-replaced"]}, pending_deletes=lambda ids: len(ids) == 1),
           says="It is the image this resource had before a replacement"),
        Up(forced, expect=dict(ok=False, ops={"base": "update"}, applied={"base": ["update"]},
                               failed={"base": ["delete-replaced"]}),
           says="does not reach it"),
        Destroy(expect=dict(ok=False, applied={"base": ["delete"]}, failed={"base": ["delete-replaced"]},
                            live={}, pending_deletes=lambda ids: len(ids) == 1),
                says="If the resource is still in your program", never_says="before a replacement, which"),
        Aws(free_all),
        # the program's steps first, then the pending delete
        Up(forced, expect=dict(applied={"base": ["create", "delete-replaced"]}, pending_deletes=[])),
    ])


# Two images replaced at once, the old one of the first in use: the engine deletes replaced images after every
# resource's steps, so the second is replaced all the same (DESIGN: pending deletes after the program's steps).


def test_replaced_images_are_deleted_after_every_resource_is_replaced(agree):
    first, second = BASE, replace(BASE, name="second")
    agree("dynamic", [
        Up((first, second)),
        Aws(set_in_use("base")),
        Up((replace(first, instance_type="c6i.2xlarge"), replace(second, instance_type="c6i.2xlarge")),
           expect=dict(ok=False, applied={"base": ["create-replacement", "replace"], "second": CBD},
                       failed={"base": ["delete-replaced"]}, builds=4, pending_deletes=lambda ids: len(ids) == 1)),
        # deleted behind Pulumi's back: a refresh reads pending deletes too, and drops this one
        Aws(force_delete_pending),
        Refresh(expect=dict(applied={"base": ["delete", "same"], "second": ["same"]}, pending_deletes=[])),
    ])


def force_delete_pending(emulator, ids):
    """`pcluster delete-image --force true` of every image the state's live resources do not hold."""
    from pulumi_pcimage.client import ParallelClusterClient

    for image_id in set(emulator.images()) - set(ids.values()):
        ParallelClusterClient(emulator.url).delete_image(image_id, region="us-east-1", force=True)


# tests/faces/test_lifecycle.py::test_an_image_in_use_is_deleted_only_with_force_delete


@pytest.mark.parametrize("face", FACES)
def test_an_image_in_use_is_deleted_only_with_force_delete(agree, face):
    forced = replace(BASE, inputs={"force_delete": True})
    agree(face, [
        Up(BASE),
        Aws(set_in_use("base")),
        Destroy(expect=dict(ok=False, failed={"base": ["delete"]}),
                says="force_delete=True" if face == "dynamic" else "forceDelete=True",
                never_says="" if face == "dynamic" else "Traceback"),
        Up(forced, expect=dict(applied={"base": ["update"]})),
        Destroy(expect=dict(images=[], live={})),
    ])


# tests/faces/test_lifecycle.py::test_someone_elses_image_with_the_same_id_is_adopted_only_on_request


@pytest.mark.parametrize("face", FACES)
def test_someone_elses_image_is_adopted_only_on_request(agree, face):
    shared = replace(BASE, inputs={"image_id": "shared-base"})
    agree(face, [
        Aws(built_elsewhere("shared-base", owner="other-project/prod/base")),
        Up(shared, expect=dict(ok=False, failed={"base": ["create"]}, live={}),
           says="'shared-base' is already taken"),
        Up(replace(shared, inputs={**shared.inputs, "adopt_existing": True}),
           expect=dict(applied={"base": ["create"]}, live={"base": "shared-base"}, builds=1)),
    ])


# tests/faces/test_lifecycle.py::test_a_failed_build_explains_why_and_leaves_nothing_behind


@pytest.mark.parametrize("face", FACES)
def test_a_failed_build_leaves_nothing_and_the_next_up_builds_again(agree, face):
    agree(face, [
        Up(BASE, build="fails", expect=dict(ok=False, failed={"base": ["create"]}, live={}, images=[]),
           says="component install-slurm exited with status 1"),
        Up(BASE, expect=dict(applied={"base": ["create"]}, builds=2)),
    ])


# tests/faces/test_lifecycle.py::test_an_interrupted_up_is_adopted_by_the_next_one: the engine and its provider
# killed during a build (`kill -9`, a lost laptop lid); the next `up` adopts the running build


def test_a_killed_up_is_adopted_by_the_next_one(agree):
    agree("dynamic", [
        Up(BASE, build="killed", expect=dict(ok=False, live={}, builds=1)),
        Aws(finish_builds),
        Up(BASE, expect=dict(applied={"base": ["create"]}, builds=1), says="adopting the existing image"),
    ])


# tests/package/test_engine_features.py::test_cancel_stops_waiting_within_seconds_and_the_next_up_finishes_the_-
# build (tests/cli/test_package_face.py::test_ctrl_c_during_a_build_then_up_again_builds_once plays it alone):
# Ctrl-C ends the create as a partial failure, kept in the state; the next `up` finishes it in place


def test_ctrl_c_during_a_build_then_up_again_finishes_it(agree):
    agree("package", [
        Up(BASE, build="interrupted", expect=dict(ok=False, failed={"base": ["create"]}, unfinished=["base"],
                                                  builds=1)),
        Aws(finish_builds),
        Up(BASE, expect=dict(ops={"base": "update"}, applied={"base": ["update"]}, unfinished=[], builds=1)),
    ])


# tests/package/test_engine_features.py::test_custom_timeouts_win_over_the_inputs_minutes (tests/cli/
# test_package_face.py::test_a_create_timeout_keeps_the_image_in_the_state_and_destroy_deletes_it plays the destroy)


def test_a_create_timeout_keeps_the_image_and_the_next_up_finishes_it(agree):
    timed = replace(BASE, custom_timeouts={"create": "2s"})
    agree("package", [
        Up(timed, build="hangs", expect=dict(ok=False, failed={"base": ["create"]}, unfinished=["base"], builds=1),
           says="after the create timeout (2s, customTimeouts)"),
        Aws(finish_builds),
        Up(timed, expect=dict(applied={"base": ["update"]}, unfinished=[], builds=1)),
        Destroy(expect=dict(images=[])),
    ])


# tests/cli/test_package_face.py::test_a_failed_build_kept_for_inspection_stays_in_the_state_and_the_next_up_-
# rebuilds_it, which has no model twin until now: a partial failure, then a delete-before-replace of the same id


def test_a_failed_build_kept_for_inspection_is_rebuilt_by_the_next_up(agree):
    kept = replace(BASE, inputs={"keep_failed_image": True})
    agree("package", [
        Up(kept, build="fails", expect=dict(ok=False, failed={"base": ["create"]}, unfinished=["base"],
                                            images=lambda ids: len(ids) == 1)),
        Preview(kept, expect=dict(ops={"base": "replace"}, replaces={"base": ["imageBuildStatus"]})),
        Up(kept, expect=dict(applied={"base": DBR}, unfinished=[], builds=2)),
    ])


# tests/package/test_engine_features.py: test_import_reads_an_existing_image_and_the_next_preview_is_a_no_op,
# test_importing_an_id_that_does_not_exist_fails (tests/cli/test_package_face.py plays both, and the code written)


def test_import_then_previews(agree):
    legacy = replace(BASE, name="legacy", inputs={"image_id": "legacy-base"})
    agree("package", [
        Aws(built_elsewhere("legacy-base")),
        Import("legacy", "legacy-base", expect=dict(applied={"legacy": ["import"]}, live={"legacy": "legacy-base"})),
        Preview(legacy, expect=dict(ops={"legacy": "same"})),
        Preview(replace(legacy, inputs={}), expect=dict(ops={"legacy": "same"})),
        # import reads the configuration as YAML text (its presigned URL's), and text changes as a whole
        Preview(replace(legacy, instance_type="c6i.2xlarge"),
                expect=dict(ops={"legacy": "replace"}, diffs={"legacy": {"imageConfiguration": "update-replace"}})),
        Import("ghost", "no-such-image", expect=dict(ok=False, live={"legacy": "legacy-base"}),
               says="'no-such-image' does not exist"),
        # `pulumi import` protects what it imports, until an `up` of a program that does not
        Destroy(expect=dict(ok=False, applied={}, images=["legacy-base"]), says="because it is protected"),
        Up(legacy, expect=dict(applied={"legacy": ["same"]})),
        Destroy(expect=dict(images=[], builds=1)),
    ])


# tests/package/test_lifecycle.py::test_an_object_configuration_is_diffed_down_to_the_keys_that_changed
# (tests/cli/test_diffs.py shows the first change with its values)


def test_an_object_configuration_is_diffed_down_to_the_keys_that_changed(agree):
    build = BASE.configuration_value()["Build"]
    with_updates = replace(BASE, configuration={"Build": {**build, "UpdateOsPackages": {"Enabled": True}}})
    with_role = replace(BASE, configuration={"Build": {**build, "Iam": {
        "InstanceRole": "arn:aws:iam::123456789012:role/x"}}})
    agree("package", [
        Up(with_updates),
        Preview(replace(with_updates, instance_type="c6i.2xlarge", configuration={"Build": {
            **with_updates.configuration["Build"], "InstanceType": "c6i.2xlarge"}}),
            expect=dict(diffs={"base": {"imageConfiguration.Build.InstanceType": "update-replace",
                                        "imageId": "update-replace"}})),
        Preview(with_role, expect=dict(diffs={"base": {"imageConfiguration.Build.Iam": "add-replace",
                                                       "imageConfiguration.Build.UpdateOsPackages": "delete-replace",
                                                       "imageId": "update-replace"}})),
        Preview(replace(with_updates, as_text=True), expect=dict(ops={"base": "same"})),
    ])


# tests/engine/test_identity.py::test_a_secret_configuration_is_never_quoted, tests/package/test_engine_features.py::
# test_outputs_of_a_secret_configuration_stay_secret_and_no_message_quotes_it (its refusal)


@pytest.mark.parametrize("face", FACES)
def test_a_refused_secret_configuration_is_never_quoted(agree, face):
    agree(face, [
        Preview(replace(BASE, instance_type="secret-machine-type", secret=True),
                expect=dict(ok=False), says="InstanceTypeBaseAMICompatibleValidator (ERROR)",
                never_says="secret-machine-type"),
    ])


# tests/faces/test_lifecycle.py: test_a_preview_against_a_throttling_api_warns_and_moves_on,
# test_a_preview_against_the_wrong_stage_fails_with_what_to_check


@pytest.mark.parametrize("face", FACES)
def test_previews_against_a_throttling_api_and_a_wrong_stage(agree, face):
    agree(face, [
        Aws(throttling(1.0)),
        Preview(BASE, expect=dict(ok=True, ops={"base": "create"}, builds=0),
                says="could not validate the configuration against the API"),
        Aws(throttling(0.0)),
        Preview(replace(BASE, inputs={"api_url": WRONG_STAGE}), expect=dict(ok=False, builds=0),
                says="Missing Authentication Token"),
    ])


# A create-before-delete replacement whose create stops as a partial failure: the new image is kept, unfinished,
# and the old one becomes a pending delete (step.go `CreateStep.Apply` marks it before it reports the failure);
# the next `up` finishes the new one and deletes the old one


def test_a_replacement_that_times_out_keeps_both_images_until_the_next_up(agree):
    timed = replace(BIGGER, custom_timeouts={"create": "2s"})
    agree("package", [
        Up(BASE),
        Up(timed, build="hangs", expect=dict(ok=False, applied={}, failed={"base": ["create-replacement"]},
                                             unfinished=["base"], pending_deletes=lambda ids: len(ids) == 1,
                                             images=lambda ids: len(ids) == 2)),
        Aws(finish_builds),
        Up(timed, expect=dict(applied={"base": ["update", "delete-replaced"]}, unfinished=[], pending_deletes=[],
                              images=lambda ids: len(ids) == 1, builds=2)),
    ])


# One provider process per command, and two for `pulumi up`: its preview runs in a process of its own, so the
# update's Check dry-runs the configuration again (a process remembers its dry runs; the model's `up` is the update)


def test_up_previews_in_a_provider_process_of_its_own(make_stack, emulator, tmp_path):
    from .agreement import write_program

    write_program(tmp_path / "program", "dynamic", (BASE,), "agree", "dev", {}, "python")
    stack = make_stack(tmp_path / "program")
    stack.config_set("pcimage:apiUrl", emulator.url)
    stack.up()
    assert emulator.counters()["build_image"] == 3, "the preview's dry run, the update's, the build"
    stack.destroy()
    emulator.reset_counters()
    stack.up("--skip-preview")
    assert emulator.counters()["build_image"] == 2
