"""The package face (`pulumi-resource-pcimage`) under the real Pulumi CLI: provider configuration, secrets, import,
plans, partial failures, unknowns. Each test here failed on the code before it (issue 20's list)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.testing.cli import CliError

from .conftest import REGION, write_project

PARENT = "ami-3b2b1d0a9db94bc95"  # the emulator's official alinux2023 x86_64 AMI in us-east-1
TYPE = "pcimage:index:CustomImage"
ONE_IMAGE = f"""\
config:
  instanceType: {{type: string, default: c6i.xlarge}}
resources:
  base:
    type: {TYPE}
    properties:
      imageConfiguration:
        Build: {{InstanceType: "${{instanceType}}", ParentImage: {PARENT}}}
outputs:
  amiId: ${{base.amiId}}
  imageId: ${{base.imageId}}
"""
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # how the CLI's JSON spells a value not known before up


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "program", "pkg", ONE_IMAGE, runtime="yaml")


@pytest.fixture
def stack(make_stack, project, emulator):
    made = make_stack(project)
    made.config_set("pcimage:apiUrl", emulator.url)
    return made


def images_in(stack) -> list[dict]:
    return stack.resources(TYPE)


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# ---------------------------------------------------------------- provider configuration


def test_a_changed_provider_setting_takes_effect_in_the_same_run(stack, emulator):
    stack.up()
    other_url = emulator.url.replace("127.0.0.1", "localhost")  # the same API under another address
    stack.config_set("pcimage:apiUrl", other_url)

    preview = stack.preview()  # the default provider's own step is not listed; its new settings reach Check
    step = preview.step("base")
    assert step.op == "update" and step.new_inputs["apiUrl"] == other_url

    stack.up()
    [image] = images_in(stack)
    assert image["inputs"]["apiUrl"] == other_url and image["outputs"]["apiUrl"] == other_url
    assert emulator.counters()["builds_started"] == 1  # an endpoint change rebuilds nothing


def test_secret_provider_settings_stay_secret_in_the_state_and_every_message(make_stack, project, emulator):
    stack = make_stack(project)
    stack.config_set("pcimage:apiUrl", emulator.url, secret=True)
    stack.config_set("pcimage:region", REGION, secret=True)
    shown = [stack.preview().text, stack.up().text]
    exported = json.dumps(stack.export())
    assert emulator.url not in exported
    [image] = images_in(stack)
    for where in ("inputs", "outputs"):
        for key in ("apiUrl", "region"):
            assert image[where][key].get("4dabf18193072939515e22adb298388d") == "1b47061264138c4ac30d75fd1eb44270", \
                (where, key, image[where][key])
    shown.append(stack.destroy().text)
    assert not [text for text in shown if emulator.url in text]
    assert emulator.images() == []


def reasons_quoting(text: str, result) -> list[str]:
    """The provider's part of each check failure (the engine prefixes a plain setting's value: the user's own)."""
    return [d for d in result.diagnostics if text in d.partition("has a problem: ")[2]]


def test_no_check_failure_of_a_setting_quotes_its_value(stack):
    # CheckConfig receives every setting in plain text, secrets unmarked: no value may be repeated. (The CLI masks
    # a secret's exact value in messages; a password inside a plain setting is nobody's to mask.)
    stack.config_set("pcimage:apiUrl", "ftp://deployer:pw0rd@api.example.com/prod")
    failed = stack.preview(check=False)
    assert failed.returncode != 0 and "pcimage:apiUrl: apiUrl must match ^https?://" in failed.text
    assert not reasons_quoting("pw0rd", failed)
    stack.config_set("pcimage:apiUrl", "https://deployer:pw0rd@abc123.execute-api.us-east-1.amazonaws.com/prod")
    failed = stack.preview(check=False)
    assert failed.returncode != 0 and "pcimage:apiUrl: apiUrl must not carry user:password@" in failed.text
    assert not reasons_quoting("pw0rd", failed)
    stack.config_set("pcimage:roleArn", "arn:aws:iam::12345:role/deploy", secret=True)
    failed = stack.preview(check=False)
    assert r"pcimage:roleArn: roleArn must match ^arn:aws[a-z-]*:iam::\\d{12}:role/.+$" in failed.text, failed.text


def test_the_stacks_aws_region_never_reaches_the_plugin_and_no_message_says_it_does(make_stack, project, emulator,
                                                                                  monkeypatch):
    stack = make_stack(project, env={"AWS_DEFAULT_REGION": "", "AWS_REGION": ""})
    stack.config_set("pcimage:apiUrl", emulator.url)  # 127.0.0.1: no region in the host name
    stack.config_set("aws:region", REGION)  # another package's setting: the engine keeps it from the plugin
    failed = stack.preview(check=False)
    assert failed.returncode != 0
    [message] = [d for d in failed.diagnostics if "region could not be determined" in d]
    assert "`pulumi config set pcimage:region <region>`" in message and "aws:region" not in message

    stack.config_set("pcimage:region", REGION)
    stack.up()
    [image] = images_in(stack)
    assert image["inputs"]["region"] == REGION


def test_configure_reads_the_variables_the_engine_really_sends(make_stack, project, emulator, tmp_path):
    """The engine's Configure request, recorded by a plugin wrapper: its `variables` keys are the ones the
    provider falls back on when an engine sends no `args`."""
    record = tmp_path / "configure.json"
    wrapper_bin = tmp_path / "bin"
    wrapper_bin.mkdir()
    plugin = wrapper_bin / "pulumi-resource-pcimage"
    plugin.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).with_name('recording_plugin.py')} \"$@\"\n")
    plugin.chmod(0o755)
    stack = make_stack(project, env={"PCIMAGE_RECORD_CONFIGURE": str(record),
                                     "PATH": f"{wrapper_bin}{os.pathsep}{os.environ['PATH']}"})
    stack.config_set("pcimage:apiUrl", emulator.url)
    stack.preview()
    variables = json.loads(record.read_text())
    assert variables == {"pcimage:config:apiUrl": emulator.url}

    import asyncio

    from pulumi.provider.experimental import provider as p

    from pulumi_pcimage.package.server import PcImageProvider

    provider = PcImageProvider()
    asyncio.run(provider.configure(p.ConfigureRequest(variables, {}, True, True)))
    assert provider.settings == {"apiUrl": emulator.url}


# ---------------------------------------------------------------- plans, unknowns


def test_a_saved_plan_is_what_up_does(stack, tmp_path):
    plan = tmp_path / "plan.json"
    stack.run("preview", "--save-plan", str(plan))
    up = stack.run("up", "--yes", "--plan", str(plan), "--json")
    assert up.applied() == [("base", "create")]


def test_an_image_id_derived_from_a_configuration_not_yet_known_is_an_unknown_string(make_stack, tmp_path,
                                                                                    emulator):
    chained = f"""\
resources:
  base:
    type: {TYPE}
    properties:
      imageConfiguration:
        Build: {{InstanceType: c6i.xlarge, ParentImage: {PARENT}}}
  child:
    type: {TYPE}
    properties:
      imageConfiguration:
        Build: {{InstanceType: c6i.xlarge, ParentImage: "${{base.amiId}}"}}
"""
    stack = make_stack(write_project(tmp_path / "chained", "chained", chained, runtime="yaml"))
    stack.config_set("pcimage:apiUrl", emulator.url)
    child = stack.preview().step("child")
    assert child.op == "create" and child.new_inputs["imageId"] == UNKNOWN
    stack.up()
    ids = {r["urn"].rsplit("::", 1)[-1]: r["id"] for r in images_in(stack)}
    assert ids["child"].startswith("child-") and sorted(emulator.images()) == sorted(ids.values())


# ---------------------------------------------------------------- import


def test_import_of_an_existing_image_then_a_no_op_preview_and_generated_code_without_settings(stack, emulator,
                                                                                             tmp_path):
    client = ParallelClusterClient(emulator.url)
    client.build_image("legacy-base", f"Build: {{InstanceType: c6i.xlarge, ParentImage: {PARENT}}}\n",
                       rollback_on_failure=True, region=REGION)
    wait_until(lambda: client.describe_image("legacy-base", region=REGION)["imageBuildStatus"] == "BUILD_COMPLETE",
               "legacy-base built")
    code = tmp_path / "imported.yaml"
    stack.run("import", TYPE, "legacy", "legacy-base", "--yes", "--out", str(code))
    generated = code.read_text()
    assert "legacy-base" in generated and "InstanceType: c6i.xlarge" in generated
    for setting in ("apiUrl", "region", "buildTimeoutMinutes", "rollbackOnFailure", "owner", "generation",
                    emulator.url):
        assert setting not in generated, generated
    [imported] = [r for r in images_in(stack) if r["urn"].endswith("::legacy")]
    assert imported["id"] == "legacy-base"


def test_import_of_an_id_that_does_not_exist_fails_and_stores_nothing(stack):
    with pytest.raises(CliError) as raised:
        stack.run("import", TYPE, "ghost", "no-such-image", "--yes")
    assert "resource 'no-such-image' does not exist" in raised.value.result.text
    assert images_in(stack) == []


# ---------------------------------------------------------------- failed creates keep what exists


def test_a_create_timeout_keeps_the_image_in_the_state_and_destroy_deletes_it(make_stack, project, held_builds):
    stack = make_stack(project)
    stack.config_set("pcimage:apiUrl", held_builds.url)
    program = stack.project_dir / "Pulumi.yaml"
    program.write_text(program.read_text().replace(
        "    properties:\n", "    options:\n      customTimeouts: {create: 2s}\n    properties:\n", 1))
    failed = stack.up(check=False)
    assert failed.returncode != 0 and "after the create timeout (2s, customTimeouts)" in failed.text
    [image] = images_in(stack)
    [building] = held_builds.images()
    assert image["id"] == building and image["outputs"]["imageBuildStatus"] == "BUILD_IN_PROGRESS"
    assert image.get("initErrors")

    held_builds.complete_build(building)
    stack.destroy()
    assert held_builds.images() == [] and images_in(stack) == []


def test_ctrl_c_during_a_build_then_up_again_builds_once(make_stack, project, held_builds):
    stack = make_stack(project)
    stack.config_set("pcimage:apiUrl", held_builds.url)
    stack.start("up", "--yes", "--skip-preview", "--json")
    wait_until(lambda: held_builds.images() != [], "the build to start")
    time.sleep(1)  # the create is waiting on the build
    stack.interrupt()
    stopped = stack.finish()
    assert stopped.returncode != 0, stopped.text
    [image] = images_in(stack)
    assert image["outputs"]["imageBuildStatus"] == "BUILD_IN_PROGRESS"

    held_builds.complete_build(image["id"])
    resumed = stack.up()
    assert resumed.applied() == [("base", "update")]
    [image] = images_in(stack)
    assert image["outputs"]["imageBuildStatus"] == "BUILD_COMPLETE" and image["outputs"]["amiId"].startswith("ami-")
    assert held_builds.counters()["builds_started"] == 1
    stack.destroy()
    assert held_builds.images() == []


def test_a_failed_build_kept_for_inspection_stays_in_the_state_and_the_next_up_rebuilds_it(make_stack, project,
                                                                                           held_builds):
    emulator = held_builds
    stack = make_stack(project)
    stack.config_set("pcimage:apiUrl", emulator.url)
    program = stack.project_dir / "Pulumi.yaml"
    program.write_text(program.read_text().replace("      imageConfiguration:\n",
                                                   "      keepFailedImage: true\n      imageConfiguration:\n"))
    stack.start("up", "--yes", "--skip-preview", "--json")
    wait_until(lambda: emulator.images() != [], "the build to start")
    emulator.fail_build(emulator.images()[0])
    failed = stack.finish()
    assert failed.returncode != 0 and "build failed (BUILD_FAILED)" in failed.text
    [image] = images_in(stack)
    assert image["outputs"]["imageBuildStatus"] == "BUILD_FAILED"

    stack.start("up", "--yes", "--skip-preview", "--json")
    wait_until(lambda: emulator.counters()["builds_started"] == 2, "the rebuild to start")
    emulator.complete_build(emulator.images()[0])
    rebuilt = stack.finish()
    assert rebuilt.returncode == 0, rebuilt.text
    assert sorted(op for _, op in rebuilt.applied()) == ["create-replacement", "delete-replaced", "replace"]
    [image] = images_in(stack)
    assert image["outputs"]["imageBuildStatus"] == "BUILD_COMPLETE"
    assert emulator.counters()["builds_started"] == 2 and emulator.images() == [image["id"]]
