"""Target 5 mechanism: the `__provider` value every resource stores is a small reference, not pickled code."""

from __future__ import annotations

import base64
import pickletools
import textwrap

from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_ami_id
from pulumi_pcimage.provider import CustomImageProvider
from pulumi_pcimage.testing import provider_value, run_program

from .conftest import PROJECT, STACK, start_host

LIMIT = 512


def test_the_provider_is_pickled_by_reference():
    value = provider_value(CustomImageProvider())
    assert len(value) <= LIMIT
    pickled = base64.b64decode(value)
    assert b"pulumi_pcimage.provider" in pickled and b"CustomImageProvider" in pickled
    assert b"_create_" not in pickled, "no class or code pickled by value (dill's _create_type/_create_code)"
    opcodes = {op.name for op, _, _ in pickletools.genops(pickled)}
    assert "BUILD" not in opcodes, "an instance without state: nothing from configure(), no clients"


def test_a_program_registers_and_stores_a_small_provider_value(tmp_path):
    with Emulator(build_seconds=0.1, delete_seconds=0.1) as emulator, start_host() as host:
        (tmp_path / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")
        (tmp_path / "__main__.py").write_text(textwrap.dedent(f"""\
            import pulumi
            from pulumi_pcimage import CustomImage

            image = CustomImage("hpc-base", api_url={emulator.url!r}, region="us-east-1",
                                image_configuration={{"Build": {{"InstanceType": "c6i.xlarge",
                                                                  "ParentImage": {official_ami_id("us-east-1")!r}}}}})
            pulumi.export("ami", image.ami_id)
            """))
        run = run_program(tmp_path, host, project=PROJECT, stack=STACK)
    image = run.resource("hpc-base")
    assert run.outputs["ami"].startswith("ami-")
    assert image.inputs["__provider"] == image.outputs["__provider"]  # the host stores the value it was given
    assert len(image.inputs["__provider"]) <= LIMIT
