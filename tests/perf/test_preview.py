"""Target 3 mechanism: a preview of unchanged images sends no request at all (counted at the emulator)."""

from __future__ import annotations

from pulumi_pcimage.emulator import Emulator

from .conftest import images, start_host

COUNT = 20


def test_preview_of_unchanged_images_sends_no_request_and_a_changed_one_sends_one_dry_run():
    with Emulator(build_seconds=0.1, delete_seconds=0.1) as emulator, start_host() as host:
        batch = images("img", COUNT, emulator)
        checked = [image.check(host) for image in batch]
        pending = [host.create_async(i.urn, c) for i, c in zip(batch, checked, strict=True)]
        for image, inputs, done in zip(batch, checked, pending, strict=True):
            image.id, image.outputs = done.result()
            image.inputs = inputs
        emulator.reset_counters()

        # The engine previews resources concurrently: Check with the old inputs, then Diff with the old outputs.
        checks = [host.check_async(image.urn, image.inputs, image.program()) for image in batch]
        rechecked = [done.result() for done in checks]
        assert all(result.failures == [] for result in rechecked)
        diffs = [host.diff_async(image.id, image.urn, image.outputs, result.inputs, old_inputs=image.inputs)
                 for image, result in zip(batch, rechecked, strict=True)]
        assert [done.result().changes for done in diffs] == [False] * COUNT
        assert emulator.counters()["total"] == 0

        changed = batch[0]
        news = {**changed.program(), "image_configuration": changed.configuration.replace("xlarge", "2xlarge")}
        result = host.check(changed.urn, changed.inputs, news)
        assert result.failures == []
        assert host.diff(changed.id, changed.urn, changed.outputs, result.inputs,
                         old_inputs=changed.inputs).replaces == ["image_configuration", "image_id"]
    counters = emulator.counters()
    assert (counters["total"], counters["build_image"], counters["builds_started"]) == (1, 1, 0), "one dry run"
