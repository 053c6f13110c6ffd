"""Target 1 and 2 mechanisms: how many requests the real SDK host runs at once, observed at the emulator.

Builds are held open (they end only when the test completes them), so the number of builds the emulator has
started is exactly the number of Create requests the host is running at the same moment.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import Image, images, start_host, wait_for


def started(emulator, batch: list[Image]) -> set[str]:
    ids = set(emulator.images())
    return {image.image_id for image in batch if image.image_id in ids}


def test_the_host_runs_more_than_four_builds_at_once_and_still_answers_check_and_diff(held_builds):
    emulator = held_builds
    bystander, batch = Image("bystander", emulator.url), images("build", 8, emulator)
    with start_host() as host:
        checked = bystander.check(host)
        creating = host.create_async(bystander.urn, checked)
        wait_for(lambda: started(emulator, [bystander]), "the bystander's build started")
        emulator.complete_build(bystander.image_id)
        bystander.id, bystander.outputs = creating.result()
        bystander.inputs = checked

        checked = [image.check(host) for image in batch]
        pending = [host.create_async(image.urn, inputs) for image, inputs in zip(batch, checked, strict=True)]
        wait_for(lambda: len(started(emulator, batch)) == 8, "8 builds running at once")
        # Eight Creates now occupy eight of the host's threads; another resource's Check and Diff still answer.
        assert bystander.check(host) == bystander.inputs
        diff = host.diff(bystander.id, bystander.urn, bystander.outputs, bystander.inputs,
                         old_inputs=bystander.inputs)
        assert diff.changes is False
        assert emulator.counters()["builds_started"] == 9

        for image in batch:
            emulator.complete_build(image.image_id)
        results = [done.result() for done in pending]
    assert [id_ for id_, _ in results] == [image.image_id for image in batch]
    assert {outputs["image_build_status"] for _, outputs in results} == {"BUILD_COMPLETE"}


def test_past_any_former_ceiling_every_create_runs_at_once_and_check_and_diff_still_answer(held_builds):
    """100 Creates blocked on their builds (more than the 64 this host used to allow), each sent on a thread of
    its own as the engine's unbounded --parallel does: all run, and another resource's Check and Diff answer."""
    emulator, count = held_builds, 100
    bystander, batch = Image("bystander", emulator.url), images("build", count, emulator)
    with start_host() as host, ThreadPoolExecutor(max_workers=count) as engine:
        checked = bystander.check(host)
        creating = host.create_async(bystander.urn, checked)
        wait_for(lambda: started(emulator, [bystander]), "the bystander's build started")
        emulator.complete_build(bystander.image_id)
        bystander.id, bystander.outputs = creating.result()
        bystander.inputs = checked

        checked = [image.check(host) for image in batch]
        pending = [engine.submit(host.create, image.urn, inputs) for image, inputs in zip(batch, checked, strict=True)]
        wait_for(lambda: len(started(emulator, batch)) == count, f"{count} builds running at once")
        assert bystander.check(host) == bystander.inputs
        assert host.diff(bystander.id, bystander.urn, bystander.outputs, bystander.inputs,
                         old_inputs=bystander.inputs).changes is False
        assert not any(done.done() for done in pending)  # the Check and Diff did not wait for a build to end

        for image in batch:
            emulator.complete_build(image.image_id)
        results = [done.result() for done in pending]
    assert [id_ for id_, _ in results] == [image.image_id for image in batch]
    assert emulator.counters()["builds_started"] == count + 1


@pytest.mark.parametrize("workers, at_once", [(0, 4), (6, 6)], ids=["unmodified-sdk-host", "ceiling-6"])
def test_the_host_runs_exactly_as_many_builds_at_once_as_its_ceiling(held_builds, workers, at_once):
    """PCIMAGE_HOST_WORKERS=0 keeps the SDK's 4 threads; a number is a ceiling (none by default). Release one build
    whenever the host is saturated; the most builds ever running is the ceiling."""
    emulator = held_builds
    batch = images("build", at_once + 3, emulator)
    with start_host(workers) as host:
        checked = [image.check(host) for image in batch]  # first: on a saturated host a Check would wait too
        pending = [host.create_async(image.urn, inputs) for image, inputs in zip(batch, checked, strict=True)]
        released: set[str] = set()
        most = 0
        while len(released) < len(batch):
            expected = min(at_once, len(batch) - len(released))
            wait_for(lambda expected=expected: len(started(emulator, batch) - released) >= expected,
                     f"{expected} builds running ({len(released)} released)")
            running = started(emulator, batch) - released
            most = max(most, len(running))
            emulator.complete_build(min(running))
            released.add(min(running))
        assert {outputs["image_build_status"] for _, outputs in (done.result() for done in pending)} == {
            "BUILD_COMPLETE"}
    assert most == at_once
    assert emulator.counters()["builds_started"] == len(batch)


def test_requests_reaching_a_fresh_host_together_are_all_served_at_once(held_builds):
    """A destroy's Deletes or a refresh's Reads arrive together, before the provider module is loaded: those
    queued behind the SDK's first 4 threads must get threads of their own too."""
    emulator = held_builds
    batch = images("build", 8, emulator)
    with start_host() as host:
        checked = [image.check(host) for image in batch]
    with start_host() as fresh:  # no request has loaded pulumi_pcimage in this host yet
        pending = [fresh.create_async(image.urn, inputs) for image, inputs in zip(batch, checked, strict=True)]
        wait_for(lambda: len(started(emulator, batch)) == 8, "8 builds running at once on a fresh host")
        for image in batch:
            emulator.complete_build(image.image_id)
        assert all(done.result()[0] for done in pending)

