"""Twenty full lifecycles at once under throttling, server errors and dropped connections: all succeed, no
duplicate build, nothing left behind, nothing secret in state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pulumi_pcimage.emulator import Emulator
from tests.engine.conftest import CONFIG, Deployment
from pulumi_pcimage.testing import ProviderHost

from .leaks import leaks

LIFECYCLES = 20
FAULTS = {"throttle_rate": 0.30, "error_rate": 0.10, "drop_rate": 0.05, "seed": 20240607}
BIGGER = CONFIG.replace("c6i.xlarge", "c6i.2xlarge")


def lifecycle(host: ProviderHost, emulator: Emulator, number: int) -> list[dict]:
    """create → refresh → configuration change → destroy, as `pulumi up` / `refresh` / `up` / `destroy` run it;
    returns every state the engine would have stored."""
    image = Deployment(host, emulator, name=f"image-{number:02d}")
    states = []
    assert image.preview(image.program()).op == "create"
    image.up(image.program())
    assert image.outputs["image_build_status"] == "BUILD_COMPLETE", image.outputs
    first_ami = image.outputs["ami_id"]
    states.append({"inputs": image.inputs, "outputs": image.outputs})

    image.refresh()
    assert (image.outputs["ami_id"], image.outputs["image_build_status"]) == (first_ami, "BUILD_COMPLETE")
    states.append({"inputs": image.inputs, "outputs": image.outputs})

    old_id = image.id
    plan = image.up(image.program(BIGGER))
    assert plan.op == "replace" and image.id != old_id and image.outputs["ami_id"] != first_ami
    states.append({"inputs": image.inputs, "outputs": image.outputs})

    image.destroy()
    return states


def test_lifecycles_survive_throttling_errors_and_dropped_connections(host, emulator, figures):
    emulator.set_faults(**FAULTS)
    with ThreadPoolExecutor(LIFECYCLES) as pool:
        runs = list(pool.map(lambda n: lifecycle(host, emulator, n), range(LIFECYCLES)))

    counters = emulator.counters()
    assert emulator.images() == [], "every image was destroyed"
    # two images per lifecycle (the original and its replacement), each built exactly once: a dropped answer to
    # build_image was reconciled, never repeated blindly
    assert counters["builds_started"] == 2 * LIFECYCLES, counters
    assert counters["faults_injected"] > 0.3 * counters["total"], counters  # the faults really happened
    assert counters["auth_failures"] == 0
    for states in runs:
        assert [leaks(state) for state in states] == [[] for _ in states]
    assert leaks(host.stderr_text()) == [], "nothing secret in the host's diagnostics either"
    figures.add(lifecycles=LIFECYCLES, lifecycle_requests=counters["total"],
                faults_injected=counters["faults_injected"], builds_counted=counters["builds_started"],
                duplicate_builds=counters["builds_started"] - 2 * LIFECYCLES, secret_scans=sum(map(len, runs)))
