"""Every example program, run as `pulumi preview` and `pulumi up` would run it: under the SDK's mocks, each
CustomImage checked and created by the SDK's real provider host against a local emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pulumi_pcimage.testing import UNKNOWN, ProviderHost, Stack, destroy_program, run_program
from pulumi_pcimage.testing.cli import find_pulumi
from pulumi_pcimage.waiter import POLL_SCALE_ENV

from ..support.main_job import QUESTION, MainJob

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AMI_ID = re.compile(r"^ami-[0-9a-f]{17}$")
HOST_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", POLL_SCALE_ENV: "0.02"}
SUBNET = "subnet-0123456789abcdef0"


@pytest.fixture(scope="module")
def host():
    with ProviderHost(project="examples", env=HOST_ENV) as running:
        yield running


@pytest.fixture(autouse=True)
def api(pcluster_emulator, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    return pcluster_emulator


def up(example: str, host: ProviderHost, **config):
    """`pulumi preview` then `pulumi up` of one example; returns both runs."""
    config = {f"{example}:{key}": value for key, value in config.items()}
    preview = run_program(EXAMPLES / example, host, project=example, config=config, preview=True)
    return preview, run_program(EXAMPLES / example, host, project=example, config=config)


def test_quickstart_builds_from_the_official_parent_image(host, api):
    preview, run = up("quickstart", host)

    assert preview.outputs["ami_id"] == UNKNOWN and AMI_ID.match(preview.outputs["parent_ami_id"])
    assert AMI_ID.match(run.outputs["ami_id"])
    image = run.resource("hpc-base")
    assert image.outputs["ami_id"] == run.outputs["ami_id"] and image.outputs["architecture"] == "x86_64"
    build = yaml.safe_load(image.inputs["image_configuration"])["Build"]
    assert build["ParentImage"] == run.outputs["parent_ami_id"]  # chosen with get_official_images
    assert api.images() == [run.outputs["image_id"]]

    destroy_program(run, host)
    assert api.images() == []


def test_quickstart_on_arm64(host, api):
    _, run = up("quickstart", host, os="ubuntu2404", architecture="arm64")
    image = run.resource("hpc-base")
    assert image.outputs["architecture"] == "arm64" and AMI_ID.match(run.outputs["ami_id"])
    assert yaml.safe_load(image.inputs["image_configuration"])["Build"]["InstanceType"] == "c7g.xlarge"


def test_multi_arch_builds_both_architectures_from_one_base(host, api):
    preview, run = up("multi-arch", host)

    assert preview.outputs["ami_ids"] == {"x86_64": UNKNOWN, "arm64": UNKNOWN}
    assert run.outputs["architectures"] == {"x86_64": "x86_64", "arm64": "arm64"}
    amis = run.outputs["ami_ids"]
    assert all(AMI_ID.match(ami) for ami in amis.values()) and amis["x86_64"] != amis["arm64"]
    configs = {arch: yaml.safe_load(run.resource(f"hpc-{arch}").inputs["image_configuration"])
               for arch in ("x86_64", "arm64")}
    # the shared base is in both; only the build instance, the parent and the name differ
    for doc in configs.values():
        assert doc["Build"]["UpdateOsPackages"] == {"Enabled": True} and doc["Image"]["RootVolume"] == {"Size": 60}
    assert configs["x86_64"]["Build"]["ParentImage"] != configs["arm64"]["Build"]["ParentImage"]
    assert sorted(api.images()) == sorted(run.resource(f"hpc-{a}").id for a in ("x86_64", "arm64"))


def test_cluster_config_uses_the_built_ami(host, api):
    preview, run = up("cluster-config", host, subnetId=SUBNET, keyName="hpc-admin")

    assert preview.outputs["cluster_config"] == UNKNOWN
    cluster = yaml.safe_load(run.outputs["cluster_config"])
    assert AMI_ID.match(run.outputs["ami_id"])
    assert cluster["Image"] == {"Os": "alinux2023", "CustomAmi": run.outputs["ami_id"]}
    assert cluster["Region"] == "us-east-1"
    assert cluster["HeadNode"]["Networking"]["SubnetId"] == SUBNET and cluster["HeadNode"]["Ssh"] == {
        "KeyName": "hpc-admin"}
    [queue] = cluster["Scheduling"]["SlurmQueues"]
    assert cluster["Scheduling"]["Scheduler"] == "slurm" and queue["Networking"]["SubnetIds"] == [SUBNET]


def test_cluster_config_needs_a_subnet(host, api):
    with pytest.raises(Exception, match="cluster-config:subnetId"):
        run_program(EXAMPLES / "cluster-config", host, project="cluster-config", preview=True)
    assert api.counters()["build_image"] == 0


def test_run_local_runs_the_quickstart_end_to_end():
    without_cli = find_pulumi() is None  # tests/cli/test_main_job.py runs it with the CLI
    job = MainJob("--build-seconds", "1", "--yes", *([] if without_cli else ["--no-cli"]))
    assert job.finish() == 0, job.stdout + job.stderr()

    out = job.stdout
    assert out.startswith("engine: the Pulumi SDK's provider host, driven by pulumi_pcimage.testing\n")
    if without_cli:
        assert "The Pulumi CLI is not installed" in out and "scripts/build_pulumi_cli.sh" in out
    assert QUESTION not in out, "--yes: nothing asked"
    assert "preview:\n  create hpc-base\n" in out and "ami_id: (known after up)" in out
    assert "up with config {'instanceType': 'c6i.2xlarge'}:\n" in out
    assert "\n  replace hpc-base (image_configuration, image_id)\n    ami_id: " in out
    assert out.count("build started") == 2, "one replacement"
    new_image = re.findall(r"^    image_id: (\S+)$", out, re.MULTILINE)[-1]
    assert f"    images at the API: ['{new_image}']" in out, "the old image was deleted, none leaked"
    ami = re.search(r"^ami_id: (\S+)$", out, re.MULTILINE).group(1)
    assert AMI_ID.match(ami) and "BUILD_COMPLETE" in out
    assert f"OK: built {ami}, destroyed it, no image left." in out


def test_run_local_prints_the_build_progress_while_the_build_runs():
    job = MainJob("--no-cli", "--yes", "--build-seconds", "3")
    job.expect("\nup:\n")
    so_far = job.expect("build: BUILD_IN_PROGRESS after 0s\n")
    # printed as it came: the build had not completed, `up` had not returned, the job had not ended
    assert "BUILD_COMPLETE" not in so_far and "  create hpc-base\n    ami_id: ami-" not in so_far
    assert job.process.poll() is None
    job.expect("build: BUILD_COMPLETE after 3s\n")
    assert job.finish() == 0, job.stdout + job.stderr()


def test_run_local_config_sets_the_programs_configuration():
    job = MainJob("--no-cli", "--yes", "--build-seconds", "1", "--config", "instanceType=c6i.large",
                  "--config", "os=ubuntu2404")
    assert job.finish() == 0, job.stdout + job.stderr()
    out = job.stdout
    plan = out.split("\nup:\n")[0]
    assert "preview with config {'instanceType': 'c6i.large', 'os': 'ubuntu2404'}:\n  create hpc-base\n" in plan
    assert "        InstanceType: c6i.large\n" in plan, "the plan builds on the configured instance"
    # the job's configuration change is the next size of the configured instance
    assert "up with config {'instanceType': 'c6i.xlarge'}:\n" in out and "OK: built ami-" in out


@pytest.mark.parametrize("pair, named", [
    ("instanceTyp=c6i.large",
     "'instanceTyp=c6i.large': unknown key 'instanceTyp'; the program reads os, architecture, instanceType"),
    ("instanceType", "'instanceType' is malformed: expected KEY=VALUE"),
    ("architecture=sparc", "'architecture=sparc': architecture must be one of x86_64, arm64"),
    ("instanceType=huge", "'instanceType=huge': instanceType must be an EC2 instance type"),
])
def test_run_local_refuses_a_bad_config_naming_it(pair, named):
    job = MainJob("--no-cli", "--yes", "--config", "os=rocky9", "--config", pair)
    assert job.finish() == 2
    assert f"run_local.py: error: --config {named}" in job.stderr() and job.stdout == ""


def test_run_local_declined_builds_nothing():
    job = MainJob("--no-cli", "--build-seconds", "1", terminal=True)
    so_far = job.expect(QUESTION)
    assert "preview:\n  create hpc-base\n" in so_far, "the plan comes first"
    job.answer("n")
    assert job.finish() == 1, job.stdout + job.stderr()
    out = job.stdout
    assert "Declined: the update was not performed." in out and "\nup:" not in out and "build started" not in out
    assert "Stopped at your answer: no update left an image behind (images at the API: [])." in out


def test_run_local_ctrl_c_at_the_question_declines_and_cleans_up():
    job = MainJob("--no-cli", "--build-seconds", "1", terminal=True)
    job.expect(QUESTION)
    job.answer("y")
    job.expect(QUESTION)  # the first image is built
    job.interrupt()  # Ctrl-C at the question: the job's whole process group, as a terminal sends it
    assert job.finish() == 1, job.stdout + job.stderr()
    assert "Declined: the update was not performed." in job.stdout and "Traceback" not in job.stderr()
    assert "\ndestroy:\n  delete hpc-base\n" in job.stdout and "up with config" not in job.stdout
    assert "(images at the API: [])" in job.stdout, "what the first update built was destroyed"


def test_run_local_asks_before_each_update_at_a_terminal():
    job = MainJob("--no-cli", "--build-seconds", "1", terminal=True)
    job.expect(QUESTION)
    job.answer("y")
    so_far = job.expect(QUESTION)
    assert "up:\n" in so_far and "preview with config {'instanceType': 'c6i.2xlarge'}:\n  replace hpc-base" in so_far
    assert "up with config" not in so_far, "the replacement waits for the answer"
    job.answer("yes")
    assert job.finish() == 0, job.stdout + job.stderr()
    assert job.stdout.count(QUESTION) == 2 and "OK: built ami-" in job.stdout


def test_run_local_without_a_terminal_shows_the_plan_and_asks_for_yes():
    job = MainJob("--no-cli", "--build-seconds", "1")
    assert job.finish() == 2, job.stdout + job.stderr()
    assert "preview:\n  create hpc-base\n" in job.stdout and "build started" not in job.stdout
    assert "stdin is not a terminal" in job.stderr() and "pass --yes" in job.stderr()


def test_quickstart_rerun_against_a_kept_state_replaces_once_and_leaks_nothing(host, api, tmp_path):
    # `pulumi up`, a configuration change, `pulumi preview`, `pulumi up`, `pulumi destroy`, the state kept in a file
    # between runs as the CLI keeps it (the engine's sequences: pulumi_pcimage/testing/engine.py)
    state = Stack(host, tmp_path / "state.json")
    first = run_program(EXAMPLES / "quickstart", host, state=state)
    assert [step.op for step in first.steps] == ["create"]
    old_image = first.outputs["image_id"]

    state = Stack(host, tmp_path / "state.json")  # a new process, the same state file
    same = run_program(EXAMPLES / "quickstart", host, state=state, preview=True)
    assert [step.op for step in same.steps] == ["same"] and same.outputs["ami_id"] == first.outputs["ami_id"]

    bigger = {"instanceType": "c6i.2xlarge"}  # no namespace: the project's, as `pulumi config set` stores it
    planned = run_program(EXAMPLES / "quickstart", host, state=state, config=bigger, preview=True)
    assert [(step.op, step.diff.replaces) for step in planned.steps] == [
        ("replace", ["image_configuration", "image_id"])]
    assert api.images() == [old_image], "a preview builds nothing"

    second = run_program(EXAMPLES / "quickstart", host, state=state, config=bigger)
    assert [step.op for step in second.steps] == ["replace"]
    assert api.images() == [second.outputs["image_id"]] != [old_image], "the old image was deleted, none leaked"

    state.destroy()
    assert api.images() == [] and Stack(host, tmp_path / "state.json").resources == {}
