"""The main job (README, "Set-up"): examples/quickstart/run_local.py uses the real CLI when it is installed, says so
on its first line, prints the CLI's output (the provider's progress among it) as it comes, asks before each update
unless --yes, and sets --config as the stack's configuration. tests/program/test_examples.py holds the built-in
engine's path (--no-cli) to the same."""

from __future__ import annotations

import os
import re
import subprocess

from ..support.main_job import QUESTION, MainJob


def _env(pulumi_cli: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PULUMI_", "PCLUSTER_"))}
    return {**kept, "PCIMAGE_PULUMI": pulumi_cli}


def test_the_main_job_runs_the_quickstart_through_the_cli(pulumi_cli):
    job = MainJob("--build-seconds", "1", "--yes", env=_env(pulumi_cli))
    assert job.finish() == 0, job.stdout + job.stderr()

    out = job.stdout
    version = subprocess.run([pulumi_cli, "version"], capture_output=True, text=True).stdout.strip()
    assert out.startswith(f"engine: the Pulumi CLI {version} ({pulumi_cli}), on a local file backend\n")
    assert QUESTION not in out, "--yes: nothing asked"
    commands = re.findall(r"^\$ pulumi (.*)$", out, re.MULTILINE)
    assert commands == ["preview --diff", "up --yes --skip-preview", "config set instanceType c6i.2xlarge",
                        "preview --diff", "up --yes --skip-preview", "destroy --yes"]
    assert "+-1 replaced" in out and "- 2 deleted" in out  # the CLI's own summaries
    new_image = re.search(r"images at the API: \['([^']+)'\]", out).group(1)
    ami = re.search(r"^OK: built (ami-\w+), destroyed it, no image left\.$", out, re.MULTILINE).group(1)
    assert new_image.startswith("hpc-base-") and ami.startswith("ami-")


def test_the_main_job_prints_the_build_progress_while_the_build_runs(pulumi_cli):
    job = MainJob("--build-seconds", "3", "--yes", env=_env(pulumi_cli))
    job.expect("$ pulumi up --yes --skip-preview\n")
    so_far = job.expect("build: BUILD_IN_PROGRESS after 0s\n")
    # printed as the CLI wrote it: the build had not completed, the CLI had not reported the image created
    assert "BUILD_COMPLETE" not in so_far and "hpc-base created" not in so_far and job.process.poll() is None
    job.expect("build: BUILD_COMPLETE after 3s\n")
    job.expect("hpc-base created")
    assert job.finish() == 0, job.stdout + job.stderr()


def test_the_main_job_sets_config_as_the_stacks_configuration(pulumi_cli):
    job = MainJob("--build-seconds", "1", "--yes", "--config", "instanceType=c6i.large", env=_env(pulumi_cli))
    assert job.finish() == 0, job.stdout + job.stderr()
    out = job.stdout
    commands = re.findall(r"^\$ pulumi (.*)$", out, re.MULTILINE)
    assert commands[:2] == ["config set instanceType c6i.large", "preview --diff"]
    plan = out.split("$ pulumi up")[0]
    assert re.search(r'InstanceType\s*: "c6i\.large"', plan), "the plan builds on the configured instance"
    assert "$ pulumi config set instanceType c6i.xlarge\n" in out, "the job's change: the next size"
    assert re.search(r'InstanceType\s*: "c6i\.large" => "c6i\.xlarge"', out) and "OK: built ami-" in out


def test_the_main_job_refuses_a_bad_config_naming_it(pulumi_cli):
    job = MainJob("--yes", "--config", "instanceType=c6i.large", "--config", "region=eu-west-1",
                  env=_env(pulumi_cli))
    assert job.finish() == 2
    assert ("run_local.py: error: --config 'region=eu-west-1': unknown key 'region'; the program reads os, "
            "architecture, instanceType") in job.stderr() and job.stdout == ""


def test_the_main_job_declined_builds_nothing(pulumi_cli):
    job = MainJob("--build-seconds", "1", env=_env(pulumi_cli), terminal=True)
    so_far = job.expect(QUESTION)
    assert "$ pulumi preview --diff\n" in so_far and "+ 2 to create" in so_far, "the plan comes first"
    job.answer("n")
    assert job.finish() == 1, job.stdout + job.stderr()
    out = job.stdout
    assert "Declined: the update was not performed." in out and "$ pulumi up" not in out
    assert "build started" not in out
    assert "Stopped at your answer: no update left an image behind (images at the API: [])." in out


def test_the_main_job_ctrl_c_at_the_question_declines_and_cleans_up(pulumi_cli):
    job = MainJob("--build-seconds", "1", env=_env(pulumi_cli), terminal=True)
    job.expect(QUESTION)
    job.answer("y")
    job.expect(QUESTION)  # the first image is built
    job.interrupt()  # Ctrl-C at the question: the job's whole process group, as a terminal sends it
    assert job.finish() == 1, job.stdout + job.stderr()
    out = job.stdout
    assert "Declined: the update was not performed." in out and "Traceback" not in job.stderr()
    assert out.count("$ pulumi up") == 1 and "$ pulumi destroy --yes\n" in out and "- 2 deleted" in out
    assert "(images at the API: [])" in out, "what the first update built was destroyed"


def test_the_main_job_without_a_terminal_shows_the_plan_and_asks_for_yes(pulumi_cli):
    job = MainJob("--build-seconds", "1", env=_env(pulumi_cli))
    assert job.finish() == 2, job.stdout + job.stderr()
    assert "+ 2 to create" in job.stdout and "$ pulumi up" not in job.stdout
    assert "stdin is not a terminal" in job.stderr() and "pass --yes" in job.stderr()
