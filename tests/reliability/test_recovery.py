"""Nothing is lost when the run or the API goes away mid-build: an interrupted `pulumi up` is adopted by the next
one, and an emulator restart on the same database is ridden through.

Where confirmed: a failed or interrupted Create leaves nothing in the engine's state (pulumi/pulumi `step.go`,
`CreateStep.Apply` records the resource only from Create's answer), so the rerun's Check has no old inputs
(`step_generator.go` `generateSteps`, `old == nil`); the 409 for a taken id is AWS's (`tests/conformance`)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.emulator import Emulator
from tests.engine.conftest import PROJECT, Deployment, wait_for
from pulumi_pcimage.testing import ProviderHost

from .conftest import ACCESS_KEY, BUILD_SECONDS, HOST_ENV, SECRET_KEY

# Outputs that depend on where and when, not on what was built (each build makes a new AMI).
# generation: random per derivation; the AMI name carries the build date
CIRCUMSTANTIAL = ("api_url", "creation_time", "ami_id", "generation", "ami_name")


def comparable(outputs: dict) -> dict:
    return {k: v for k, v in outputs.items() if k not in CIRCUMSTANTIAL}


def uninterrupted_outputs() -> dict:
    with Emulator(build_seconds=BUILD_SECONDS, access_key=ACCESS_KEY, secret_key=SECRET_KEY) as emulator, \
            ProviderHost(project=PROJECT, env=HOST_ENV) as host:
        image = Deployment(host, emulator)
        image.up(image.program())
        return image.outputs


def test_a_run_killed_while_waiting_is_adopted_with_exactly_one_build(host, figures):
    # A build that only ends when told to: the rerun must find it still running, however slow the machine.
    with Emulator(build_seconds=3600, delete_seconds=0.2, access_key=ACCESS_KEY, secret_key=SECRET_KEY) as emulator:
        first = Deployment(host, emulator)
        news = first.check(first.program())
        first.host.create_async(first.urn, news)
        wait_for(lambda: emulator.counters()["describe_image"] >= 2, "the provider is waiting for the build")
        host.kill()  # Ctrl-C twice, a closed laptop lid: the engine recorded nothing
        assert emulator.images() == [news["image_id"]]

        with ProviderHost(project=PROJECT, env=HOST_ENV) as again, ThreadPoolExecutor(1) as pool:
            rerun = Deployment(again, emulator)
            pending = pool.submit(rerun.up, rerun.program())
            wait_for(lambda: "adopting the existing image (BUILD_IN_PROGRESS)" in again.stderr_text(),
                     "the rerun adopted the running build")
            emulator.complete_build(news["image_id"])
            pending.result(timeout=120)

        assert emulator.counters()["builds_started"] == 1
        assert rerun.id == news["image_id"] and emulator.images() == [rerun.id]
        assert comparable(rerun.outputs) == comparable(uninterrupted_outputs())
        assert rerun.outputs["ami_id"] == ParallelClusterClient(emulator.url).describe_image(rerun.id)[
            "ec2AmiInfo"]["amiId"], "the AMI of the one build"
    figures.add(interrupted_runs=1, builds_counted=1)


def test_an_emulator_restart_mid_build_loses_nothing_and_the_wait_rides_through(emulator, host, figures):
    image = Deployment(host, emulator)
    news = image.check(image.program())
    pending = host.create_async(image.urn, news)
    wait_for(lambda: emulator.counters()["describe_image"] >= 1, "the provider is waiting for the build")

    emulator.stop()
    # The outage spans the end of the build: polls meanwhile are refused at TCP level.
    time.sleep(BUILD_SECONDS)
    emulator.start()

    image_id, outputs = pending.result(timeout=120)
    assert image_id == news["image_id"] and outputs["image_build_status"] == "BUILD_COMPLETE"
    assert outputs["ami_id"].startswith("ami-")
    assert emulator.images() == [image_id], "the image survived the restart"
    assert emulator.counters()["builds_started"] == 1
    figures.add(emulator_restarts=1, builds_counted=1)
