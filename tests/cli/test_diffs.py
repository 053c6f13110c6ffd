"""What `pulumi preview --diff` shows of a CustomImage on the package face, and what `ignoreChanges` does to it, under
the real CLI (issue 20, item 7).

The CLI shows a detailed diff by walking each reported path through the old and new inputs as objects
(pkg/engine/detailedDiff.go): a configuration given as an object must stay an object in the checked inputs and the
state for a path such as `imageConfiguration.Build.InstanceType` to show its old and new values, and for
`ignoreChanges` on it to work; a configuration given as YAML text changes as a whole."""

from __future__ import annotations

import yaml

from pulumi_pcimage import config
from pulumi_pcimage.emulator.catalog import official_ami_id

from .conftest import REGION, write_project

PARENT = official_ami_id(REGION)
PATH = "imageConfiguration.Build.InstanceType"
CONFIG_DECLARATION = """config:
  diffs:instanceType:
    type: string
    default: c6i.xlarge
"""
# The same configuration as YAML text: Pulumi YAML interpolates ${...} inside the string.
AS_TEXT = CONFIG_DECLARATION + f"""resources:
  hpcBase:
    type: pcimage:index:CustomImage
    properties:
      imageConfiguration: |
        Build:
          InstanceType: ${{diffs:instanceType}}
          ParentImage: {PARENT}
          UpdateOsPackages:
            Enabled: true
        Image:
          RootVolume:
            Size: 200
outputs:
  imageId: ${{hpcBase.imageId}}
"""
IGNORED = f"""    options:
      ignoreChanges:
        - {PATH}
"""


def as_object(options: str = "") -> str:
    """The program giving its configuration as an object; `options`: the resource's options, as YAML lines."""
    return CONFIG_DECLARATION + f"""resources:
  hpcBase:
    type: pcimage:index:CustomImage
    properties:
      imageConfiguration:
        Build:
          InstanceType: ${{diffs:instanceType}}
          ParentImage: {PARENT}
          UpdateOsPackages:
            Enabled: true
        Image:
          RootVolume:
            Size: 200
{options}outputs:
  imageId: ${{hpcBase.imageId}}
"""


def yaml_stack(make_stack, emulator, tmp_path, program: str):
    stack = make_stack(write_project(tmp_path / "program", "diffs", program, runtime="yaml"))
    stack.config_set("pcimage:apiUrl", emulator.url)
    return stack


def image_state(stack) -> dict:
    [image] = stack.resources("pcimage:index:CustomImage")
    return image


def test_preview_diff_shows_the_old_and_new_value_of_a_changed_configuration_leaf(make_stack, emulator, tmp_path):
    stack = yaml_stack(make_stack, emulator, tmp_path, as_object())
    stack.up()
    image = image_state(stack)
    given = {"Build": {"InstanceType": "c6i.xlarge", "ParentImage": PARENT, "UpdateOsPackages": {"Enabled": True}},
             "Image": {"RootVolume": {"Size": 200}}}
    # the object as the program gave it, in the inputs and in the outputs: no text, none of our ownership tags
    assert image["inputs"]["imageConfiguration"] == given
    assert image["outputs"]["imageConfiguration"] == given

    stack.config_set("diffs:instanceType", "c6i.2xlarge")
    shown = stack.run("preview", "--diff").stdout
    assert 'InstanceType: "c6i.xlarge" => "c6i.2xlarge"' in shown, shown
    step = stack.preview().step("hpcBase")
    assert step.op == "replace" and step.detailed_diff[PATH] == "update-replace"
    assert step.new_inputs["imageConfiguration"]["Build"]["InstanceType"] == "c6i.2xlarge"

    stack.up()
    assert len(emulator.images()) == 1 and emulator.images() != [image["id"]]


def test_ignore_changes_on_a_configuration_path_keeps_the_image(make_stack, emulator, tmp_path):
    stack = yaml_stack(make_stack, emulator, tmp_path, as_object(IGNORED))
    stack.up()
    built = image_state(stack)["id"]

    stack.config_set("diffs:instanceType", "c6i.2xlarge")
    preview = stack.preview()
    assert preview.document["changeSummary"] == {"same": 2}, preview.steps  # the stack and the image
    assert not [m for m in preview.diagnostics if PATH in m], preview.diagnostics  # none dropped
    stack.up()
    assert emulator.images() == [built] and emulator.counters()["builds_started"] == 1
    image = image_state(stack)
    assert image["id"] == built and image["inputs"]["imageConfiguration"]["Build"]["InstanceType"] == "c6i.xlarge"


def test_a_text_configuration_changes_as_a_whole(make_stack, emulator, tmp_path):
    stack = yaml_stack(make_stack, emulator, tmp_path, AS_TEXT)
    stack.up()
    assert isinstance(image_state(stack)["inputs"]["imageConfiguration"], str)

    stack.config_set("diffs:instanceType", "c6i.2xlarge")
    step = stack.preview().step("hpcBase")
    assert step.op == "replace"
    assert step.detailed_diff == {"imageConfiguration": "update-replace", "imageId": "update-replace"}
    shown = stack.run("preview", "--diff").stdout
    assert "c6i.xlarge" in shown and "c6i.2xlarge" in shown, shown


def test_a_state_holding_text_previews_the_same_configuration_as_an_object_as_no_change(
        make_stack, emulator, tmp_path):
    stack = yaml_stack(make_stack, emulator, tmp_path, AS_TEXT)
    stack.up()
    built = image_state(stack)
    assert config.canonical(built["inputs"]["imageConfiguration"]) == config.canonical(
        yaml.safe_load(AS_TEXT)["resources"]["hpcBase"]["properties"]["imageConfiguration"].replace(
            "${diffs:instanceType}", "c6i.xlarge"))

    (stack.project_dir / "Pulumi.yaml").write_text(f"name: diffs\nruntime: yaml\n{as_object()}")
    assert stack.preview().document["changeSummary"] == {"same": 2}
    stack.up()
    image = image_state(stack)
    assert image["id"] == built["id"] and isinstance(image["inputs"]["imageConfiguration"], dict)
    assert emulator.images() == [built["id"]] and emulator.counters()["builds_started"] == 1


def test_a_refreshed_failed_image_shows_its_status_in_the_diff(make_stack, emulator, tmp_path):
    stack = yaml_stack(make_stack, emulator, tmp_path, as_object())
    stack.up()
    built = image_state(stack)["id"]
    emulator.service.store.update(REGION, built, outcome="failed", reason="AMI deregistered")
    stack.refresh()
    assert image_state(stack)["outputs"]["imageBuildStatus"] == "BUILD_FAILED"

    step = stack.preview().step("hpcBase")
    assert step.op == "replace" and "imageBuildStatus" in step.detailed_diff
    assert step.raw["detailedDiff"]["imageBuildStatus"]["inputDiff"] is False
    shown = stack.run("preview", "--diff").stdout
    assert "imageBuildStatus" in shown and "BUILD_FAILED" in shown, shown
