"""What only a package provider can do: import, customTimeouts, a live status line, secrets, cancel, functions
through Invoke, and many builds at once.

Where confirmed: import is a Read with an id and no inputs (pulumi/pulumi `step.go` `ImportStep.Apply`), the
ephemeral Log with a URN is the engine's `Engine.Log` service (`pulumi/runtime/proto/engine.proto`), secrets are
re-marked on outputs by `annotateSecrets` in `sdk/go/common/resource/plugin/provider_plugin.go`, and `timeout`
comes from customTimeouts in the Create/Delete requests of `provider.proto`."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from pulumi.runtime import rpc
from pulumi.runtime.proto import engine_pb2

from pulumi_pcimage import config
from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.package.server import PROGRESS_SECONDS
from pulumi_pcimage.testing import CheckRejected, HostError, Options, PartialFailure, Stack

from .conftest import CONFIG, Image, start_plugin, wait_for

BIGGER = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")


def built_elsewhere(emulator, image_id: str, configuration: str = CONFIG) -> None:
    client = ParallelClusterClient(emulator.url)
    client.build_image(image_id, configuration, rollback_on_failure=True)
    wait_for(lambda: client.describe_image(image_id)["imageBuildStatus"] == "BUILD_COMPLETE", f"{image_id} built")


# ---------------------------------------------------------------- import


def test_import_reads_an_existing_image_and_the_next_preview_is_a_no_op(plugin, emulator):
    built_elsewhere(emulator, "legacy-base")
    image = Image(plugin, "legacy")
    image.stack.import_(image.urn, "legacy-base")  # pulumi import pcimage:index:CustomImage legacy legacy-base
    assert image.id == "legacy-base" and image.outputs["amiId"].startswith("ami-")
    inputs = image.state.inputs
    assert config.canonical(inputs["imageConfiguration"]) == config.canonical(CONFIG)
    assert sorted(inputs) == ["generation", "imageConfiguration", "imageId", "owner"]
    assert inputs["imageId"] == "legacy-base"
    assert (image.outputs["region"], image.outputs["apiUrl"]) == ("us-east-1", emulator.url)

    emulator.reset_counters()
    assert image.preview(image.program(imageId="legacy-base")).op == "same"  # the code `pulumi import` writes
    assert image.preview(image.program()).op == "same"  # the id is kept while the configuration is the same
    step = image.preview(image.program(BIGGER, imageId="legacy-base"))
    # import reads the configuration as YAML text (its presigned URL's), and text changes as a whole
    assert step.op == "replace" and step.diff.detailed == {"imageConfiguration": "UPDATE_REPLACE"}
    assert emulator.counters()["builds_started"] == 0

    # `pulumi import` protects what it imports (the code it writes says `protect: true`): not deleted until an
    # `up` of a program that does not protect it
    with pytest.raises(HostError, match="cannot be deleted because it is protected"):
        image.destroy()
    assert image.up(image.program(imageId="legacy-base")).op == "same" and not image.state.protect
    image.destroy()  # then managed like any other
    assert emulator.images() == []


def test_importing_an_id_that_does_not_exist_fails(plugin):
    image = Image(plugin, "ghost")
    with pytest.raises(HostError, match="'no-such-image' does not exist"):
        image.stack.import_(image.urn, "no-such-image")
    assert image.state is None


# ---------------------------------------------------------------- customTimeouts


def test_custom_timeouts_win_over_the_inputs_minutes(held_builds):
    emulator = held_builds
    with start_plugin(emulator) as plugin:
        image = Image(plugin)
        # customTimeouts: {create: "1s"}; the held build would outlast buildTimeoutMinutes' default 180 minutes
        with pytest.raises(PartialFailure, match=r"still BUILD_IN_PROGRESS after the create timeout \(1s, "
                                                 r"customTimeouts\)\. The build continues server-side"):
            image.up(image.program(), Options(custom_timeouts={"create": 1}))
        [building] = emulator.images()
        # a partial failure: the engine keeps the building image, with the message as its initialization error
        assert image.id == building and image.outputs["imageBuildStatus"] == "BUILD_IN_PROGRESS"
        assert image.state.init_errors and "after the create timeout" in image.state.init_errors[0]

        emulator.complete_build(building)
        step = image.up(image.program(), Options(custom_timeouts={"delete": 1}))  # the next up finishes it
        assert step.op == "update" and image.state.init_errors == []
        assert image.id == building and image.outputs["imageBuildStatus"] == "BUILD_COMPLETE"
        assert emulator.counters()["builds_started"] == 1

        # customTimeouts: {delete: "1s"} (kept in the state): a build cannot be deleted while it runs, and the
        # default deleteTimeoutMinutes (60) are not waited for
        other = Image(plugin, "other", image.stack)
        checked = plugin.check(other.urn, {}, other.program()).inputs
        with pytest.raises(HostError, match=r"still BUILD_IN_PROGRESS after the create timeout"):
            plugin.create(other.urn, checked, timeout=1)
        with pytest.raises(HostError, match=r"still building after the delete timeout \(1s, customTimeouts\)"):
            plugin.delete(checked["imageId"], other.urn, checked, timeout=1)
        emulator.complete_build(checked["imageId"])
        plugin.delete(checked["imageId"], other.urn, checked, timeout=1)

        image.destroy()
        assert emulator.images() == []


# ---------------------------------------------------------------- progress


def test_the_resource_row_shows_live_progress_and_a_final_line(plugin, emulator):
    image = Image(plugin)
    image.up(image.program())
    assert {r.urn for r in plugin.log_requests} == {image.urn}, "every message is attached to its resource"
    live = [r for r in plugin.log_requests if r.ephemeral]
    assert live and all(r.message.startswith(f"building image {image.id}: ") for r in live)
    assert any(re.search(r"BUILD_IN_PROGRESS, \d+s elapsed, Image Builder: BUILDING$", r.message) for r in live)
    assert live[-1].message.startswith(f"building image {image.id}: BUILD_COMPLETE")
    stages = [m.group(1) for r in live if (m := re.search(r"Image Builder: (\w+)$", r.message))]
    order = ["PENDING", "BUILDING", "TESTING", "DISTRIBUTING"]  # Image Builder's, as the emulator plays them
    assert "BUILDING" in stages and stages == sorted(stages, key=order.index), stages
    final = [r for r in plugin.log_requests if not r.ephemeral and "ready after" in r.message]
    assert [r.severity for r in final] == [engine_pb2.INFO]
    assert final[0].message.endswith(f": {image.outputs['amiId']} (BUILD_COMPLETE)")

    image_id = image.id
    image.destroy()
    # AWS removes a completed image as soon as it accepts the delete (tests/conformance): nothing left to show
    assert emulator.images() == [] and not any(image_id in r.message and "DELETE_IN_PROGRESS" in r.message
                                               for r in plugin.log_requests)


# ---------------------------------------------------------------- secrets

LICENCE = "LIC-7731-SECRET"
SECRET_CONFIG = CONFIG + f"  Tags:\n    - {{Key: licence, Value: {LICENCE}}}\n"


def test_outputs_of_a_secret_configuration_stay_secret_and_no_message_quotes_it(plugin, emulator):
    image = Image(plugin)
    checked = plugin.check(image.urn, {}, image.program(rpc.wrap_rpc_secret(SECRET_CONFIG))).inputs
    assert rpc.is_rpc_secret(checked["imageConfiguration"]), "check keeps the input secret"
    image.up(image.program(rpc.wrap_rpc_secret(SECRET_CONFIG)))
    outputs = image.outputs
    assert rpc.is_rpc_secret(outputs["imageConfiguration"]) and rpc.is_rpc_secret(outputs["amiName"])
    assert rpc.unwrap_rpc_secret(outputs["imageConfiguration"]) == SECRET_CONFIG
    assert not rpc.is_rpc_secret(outputs["amiId"]) and outputs["amiId"].startswith("ami-")

    # a refused secret configuration names the validator, never the value
    bad = SECRET_CONFIG.replace("c6i.xlarge", "LIC-7731-SECRET-TYPE")
    with pytest.raises(CheckRejected) as refused:
        image.preview(image.program(rpc.wrap_rpc_secret(bad)))
    assert "InstanceTypeBaseAMICompatibleValidator" in str(refused.value.failures)
    image.destroy()

    said = [r.message for r in plugin.log_requests] + [reason for _, reason in refused.value.failures]
    assert said and not [m for m in said if LICENCE in m]
    assert LICENCE not in plugin.stderr_text()


# ---------------------------------------------------------------- cancel


def test_cancel_stops_waiting_within_seconds_and_the_next_up_finishes_the_build(held_builds):
    emulator = held_builds
    with start_plugin(emulator) as plugin, ThreadPoolExecutor(1) as pool:
        image = Image(plugin)
        up = pool.submit(image.up, image.program())
        wait_for(lambda: any(r.ephemeral for r in plugin.log_requests), "the plugin waits for the build")
        plugin.cancel()  # Ctrl-C
        with pytest.raises(PartialFailure, match=r"stopped waiting after .* \(cancelled; it was BUILD_IN_PROGRESS\)"
                                                 r"\. The build continues server-side; the next `pulumi up` finds it"):
            up.result(timeout=30)
        [building] = emulator.images()
        assert image.id == building, "the build goes on, and the state keeps it (a partial failure)"

        rerun = pool.submit(image.up, image.program())  # the next `pulumi up`, in a new plugin process
        wait_for(lambda: any("adopting the existing image (BUILD_IN_PROGRESS)" in r.message
                             for r in plugin.log_requests), "the running build adopted")
        emulator.complete_build(building)
        assert rerun.result(timeout=60).op == "update"
        assert image.id == building and image.outputs["imageBuildStatus"] == "BUILD_COMPLETE"
    assert emulator.counters()["builds_started"] == 1, "no second build"


# ---------------------------------------------------------------- functions


def test_functions_through_invoke(plugin, emulator):
    found, failures = plugin.invoke("pcimage:index:getOfficialImages", {"os": "alinux2023", "architecture": "arm64"})
    assert failures == [] and len(found["images"]) == 1
    assert (found["images"][0]["os"], found["images"][0]["architecture"]) == ("alinux2023", "arm64")
    assert found["images"][0]["amiId"].startswith("ami-")

    image = Image(plugin)
    image.up(image.program())
    listed, _ = plugin.invoke("pcimage:index:listImages", {"imageStatus": "AVAILABLE"})
    assert [i["imageId"] for i in listed["images"]] == [image.id]
    described, _ = plugin.invoke("pcimage:index:getImage", {"imageId": image.id})
    assert (described["amiId"], described["imageBuildStatus"]) == (image.outputs["amiId"], "BUILD_COMPLETE")

    _, failures = plugin.invoke("pcimage:index:getOfficialImages", {"os": "windows"})
    assert "getOfficialImages: os 'windows' is not one of the allowed values" in failures[0][1]
    _, failures = plugin.invoke("pcimage:index:listImages", {})
    assert "listImages: imageStatus is required" in failures[0][1]
    _, failures = plugin.invoke("pcimage:index:getImage", {"imageId": "no-such-image"})
    assert failures and "no-such-image" in failures[0][1]


# ---------------------------------------------------------------- concurrency

BUILDS = 64


def test_64_builds_at_once_and_check_still_answers(held_builds):
    emulator = held_builds
    with start_plugin(emulator, call_timeout=120) as plugin, ThreadPoolExecutor(BUILDS) as engine:
        stack = Stack(plugin)
        batch = [Image(plugin, f"build-{n}", stack) for n in range(BUILDS)]
        checked = [plugin.check(image.urn, {}, image.program()).inputs for image in batch]
        pending = [engine.submit(plugin.create, image.urn, inputs)
                   for image, inputs in zip(batch, checked, strict=True)]
        wanted = {inputs["imageId"] for inputs in checked}
        wait_for(lambda: wanted <= set(emulator.images()), f"{BUILDS} builds running at once", timeout=120)

        # every build is being waited for; another resource's Check (with its dry run) is still answered
        bystander = Image(plugin, "bystander", stack)
        result = plugin.check(bystander.urn, {}, bystander.program())
        assert result.failures == [] and result.inputs["imageId"].startswith("bystander-")
        assert emulator.counters()["builds_started"] == BUILDS

        for inputs in checked:
            emulator.complete_build(inputs["imageId"])
        results = [done.result(timeout=120) for done in pending]
    assert {outputs["imageBuildStatus"] for _, outputs in results} == {"BUILD_COMPLETE"}
    assert sorted(id_ for id_, _ in results) == sorted(wanted)


def test_a_long_unchanged_status_is_shown_at_most_every_few_seconds(held_builds):
    emulator = held_builds
    with start_plugin(emulator) as plugin:
        image = Image(plugin)
        checked = plugin.check(image.urn, {}, image.program()).inputs
        pending = plugin.create_async(image.urn, checked)
        # polls every 0.3 s; wait for 40 of them (12 s) with the build held in one stage
        wait_for(lambda: emulator.counters()["describe_image"] >= 40, "40 polls of the held build")
        emulator.complete_build(checked["imageId"])
        pending.result(timeout=60)
    live = [r for r in plugin.log_requests if r.ephemeral]
    held = [r for r in live if "BUILD_IN_PROGRESS" in r.message]
    assert 2 <= len(held) <= 12 / PROGRESS_SECONDS + 2, [r.message for r in held]
    shown = [re.sub(r", \d+s elapsed", "", r.message) for r in held]
    gaps = [b.at - a.at for a, b, x, y in zip(held, held[1:], shown, shown[1:], strict=False) if x == y]
    assert gaps and all(gap >= PROGRESS_SECONDS for gap in gaps)
    assert live[-1].message.startswith(f"building image {checked['imageId']}: BUILD_COMPLETE")
