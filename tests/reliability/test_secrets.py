"""Nothing secret in state, outputs or diagnostics; secret inputs appear only in their own (secret) outputs."""

from __future__ import annotations

import base64
import logging

import dill
from pulumi.runtime import rpc

from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.lifecycle import PROVIDER_KEY, Lifecycle
from pulumi_pcimage.provider import CustomImageProvider
from tests.engine.conftest import CONFIG, foreign_configuration

from .leaks import leaks

MARKER = "license-key-7f3a9c1e"  # something secret inside the image configuration (a tag value here)
SECRET_CONFIG = CONFIG + f"DevSettings:\n  Cookbook:\n    ExtraChefAttributes: '{{\"license\": \"{MARKER}\"}}'\n"


def test_a_secret_configuration_stays_in_its_own_output_and_nothing_secret_reaches_state(deployment_pair,
                                                                                          figures):
    image, emulator = deployment_pair
    # The engine sends a secret input unwrapped (the host does not accept secrets) and marks the output of the
    # same name secret again; every other output is stored in plain text.
    news = image.program(rpc.wrap_rpc_secret(SECRET_CONFIG))
    image.up(news)
    states = [dict(image.outputs)]
    image.refresh()
    states.append(dict(image.outputs))
    image.destroy()

    for outputs in states:
        assert outputs["image_configuration"] == SECRET_CONFIG
        assert [name for name, value in outputs.items() if MARKER in str(value)] == ["image_configuration"]
        assert leaks(outputs) == []
        provider = dill.loads(base64.b64decode(outputs[PROVIDER_KEY]))
        assert isinstance(provider, CustomImageProvider) and vars(provider) == {}, "the pickled provider holds nothing"
    assert MARKER not in image.host.stderr_text() and leaks(image.host.stderr_text()) == []
    assert emulator.images() == []
    figures.add(secret_scans=len(states))


def test_adopting_an_image_reads_its_presigned_configuration_without_leaking_it(deployment_pair, figures):
    image, emulator = deployment_pair
    ParallelClusterClient(emulator.url).build_image("shared-base", foreign_configuration("other/prod/base"),
                                                    rollback_on_failure=True)
    image.up(image.program(image_id="shared-base", adopt_existing=True))
    assert image.outputs["ami_id"].startswith("ami-")
    assert leaks(image.outputs) == [] and leaks(image.inputs) == []
    assert leaks(image.host.stderr_text()) == []
    figures.add(secret_scans=1)


def test_an_unreadable_presigned_url_is_not_quoted_in_the_log(emulator, caplog):
    url = (f"{emulator.base_url}/_emulator/configs/img/image-config.yaml?region=us-east-1&Expires=1&Signature=0bad"
           "&X-Amz-Credential=ASIALAMBDAROLE0000001%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
           "&X-Amz-Security-Token=IQoJlambdaSessionToken&X-Amz-Signature=0bad")
    with caplog.at_level(logging.DEBUG, logger="pulumi_pcimage"):
        assert Lifecycle._fetch_configuration({"imageConfiguration": {"url": url}}) is None
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("pulumi_pcimage"))
    assert "could not read the existing image's configuration" in ours
    assert leaks(ours) == [] and "IQoJlambdaSessionToken" not in ours
