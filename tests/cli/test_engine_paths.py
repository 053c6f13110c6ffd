"""Engine paths under the real CLI that the other CLI files do not walk: Ctrl-C on the dynamic face, secrets of a
Python program, and the region rules docs/installation-configuration.md states for both faces."""

from __future__ import annotations

import json
import time

from .conftest import REGION, write_project

PARENT = "ami-3b2b1d0a9db94bc95"  # the emulator's official alinux2023 x86_64 AMI in us-east-1
DYNAMIC_TYPE = "pulumi-python:dynamic/pcimage:CustomImage"
PACKAGE_TYPE = "pcimage:index:CustomImage"
ONE_IMAGE = f"""\
import pulumi
from pulumi_pcimage import CustomImage

image = CustomImage("base", image_configuration={{
    "Build": {{"InstanceType": "c6i.xlarge", "ParentImage": "{PARENT}"}}}})
pulumi.export("image_id", image.image_id)
pulumi.export("region", image.region)
"""


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_ctrl_c_twice_during_a_dynamic_build_then_up_again_builds_once(make_stack, tmp_path, held_builds):
    """The dynamic host ignores Cancel, so the first Ctrl-C waits for the build; the second ends the CLI. The state
    holds nothing (the dynamic host cannot report a partial failure), and the next up adopts the build it left."""
    project = write_project(tmp_path / "program", "ctrlc", ONE_IMAGE)
    stack = make_stack(project, env={"PCLUSTER_API_URL": held_builds.url})
    stack.start("up", "--yes", "--skip-preview", "--json")
    wait_until(lambda: held_builds.images() != [], "the build to start")
    time.sleep(1)
    stack.interrupt()
    time.sleep(2)
    assert stack.background is not None and stack.background.poll() is None, "the first Ctrl-C waits"
    stack.interrupt()
    stopped = stack.finish()
    assert stopped.returncode != 0
    assert stack.resources(DYNAMIC_TYPE) == []
    [building] = held_builds.images()

    held_builds.complete_build(building)
    resumed = stack.up()
    assert resumed.applied() == [("base", "create")]
    [image] = stack.resources(DYNAMIC_TYPE)
    assert image["id"] == building and held_builds.counters()["builds_started"] == 1
    stack.destroy()
    assert held_builds.images() == []


def test_a_secret_configuration_of_a_python_program_is_nowhere_in_plain_text(make_stack, tmp_path, emulator):
    program = f"""\
import pulumi
from pulumi_pcimage import CustomImage

token = pulumi.Config().require_secret("licenseServer")
image = CustomImage("base", image_configuration=token.apply(lambda server: {{
    "Build": {{"InstanceType": "c6i.xlarge", "ParentImage": "{PARENT}"}},
    "Image": {{"Tags": [{{"Key": "license-server", "Value": server}}]}}}}))
pulumi.export("ami_id", image.ami_id)
"""
    stack = make_stack(write_project(tmp_path / "program", "secrets", program), env={"PCLUSTER_API_URL": emulator.url})
    secret = "lic-7f3a9c.internal.example"
    stack.config_set("licenseServer", secret, secret=True)
    shown = [stack.preview().text, stack.up().text]
    stack.config_set("licenseServer", "lic-9e1b2d.internal.example", secret=True)
    shown += [stack.run("preview", "--diff").text, stack.up().text]
    exported = json.dumps(stack.export())
    assert secret not in exported and "lic-9e1b2d" not in exported
    [image] = stack.resources(DYNAMIC_TYPE)
    assert "ciphertext" in image["inputs"]["image_configuration"]
    assert "ciphertext" in image["outputs"]["image_configuration"]
    shown.append(stack.destroy().text)
    assert not [text for text in shown if "lic-" in text]
    assert emulator.images() == []


ELSEWHERE = "eu-west-1"  # the images' region; the API (and the signing region) stays in us-east-1


def test_the_dynamic_face_takes_the_stacks_aws_region_before_the_environment(make_stack, tmp_path, emulator):
    emulator.register_parent_image(PARENT, region=ELSEWHERE)
    stack = make_stack(write_project(tmp_path / "program", "regions", ONE_IMAGE),
                       env={"PCLUSTER_API_URL": emulator.url, "AWS_DEFAULT_REGION": REGION})
    stack.config_set("aws:region", ELSEWHERE)  # the program reads it: it wins over AWS_DEFAULT_REGION
    stack.up()
    [image] = stack.resources(DYNAMIC_TYPE)
    assert image["inputs"]["region"] == ELSEWHERE and emulator.images(ELSEWHERE) == [image["id"]]
    # The region is an input: the program resolving another one is a replacement, which preview names...
    stack.config_rm("aws:region")
    assert "region" in stack.preview().step("base").replace_reasons
    # ...while refresh and destroy use the region kept in the state, whatever the machine is configured for.
    assert stack.refresh().applied() == [("base", "same")]
    stack.destroy()
    assert emulator.images(ELSEWHERE) == []


def test_the_package_face_takes_its_own_region_setting_before_the_environment(make_stack, tmp_path, emulator):
    emulator.register_parent_image(PARENT, region=ELSEWHERE)
    program = f"""\
resources:
  base:
    type: {PACKAGE_TYPE}
    properties:
      imageConfiguration:
        Build: {{InstanceType: c6i.xlarge, ParentImage: {PARENT}}}
"""
    stack = make_stack(write_project(tmp_path / "program", "regions", program, runtime="yaml"),
                       env={"AWS_DEFAULT_REGION": REGION})
    stack.config_set("pcimage:apiUrl", emulator.url)
    stack.config_set("aws:region", "ap-south-1")  # another package's setting: never reaches the plugin
    stack.config_set("pcimage:region", ELSEWHERE)
    stack.up()
    [image] = stack.resources(PACKAGE_TYPE)
    assert image["inputs"]["region"] == ELSEWHERE and emulator.images(ELSEWHERE) == [image["id"]]
    stack.config_rm("pcimage:region")
    assert "region" in stack.preview().step("base").replace_reasons
    assert stack.refresh().applied() == [("base", "same")]  # the region kept in the state
    stack.destroy()
    assert emulator.images(ELSEWHERE) == []
