"""The package's arrows point one way (DESIGN.md, "Intended shape"): read from the source, not from imports at run time.

program (resource, functions) -> provider face -> lifecycle -> waiter, client, config, fields; client -> retry,
signing, endpoint; signing -> endpoint.
The queries (official images, custom images, one image) are core too: both the program's functions and the package
face serve them. The lifecycle knows no face, the faces do not know each other nor the program side, the emulator
imports nothing from the provider side, and the client and the queries work without Pulumi.
"""

from __future__ import annotations

import os
import subprocess
import sys
import pytest

from pulumi_pcimage.devtools.imports import cycles, graph, main, top

# the lifecycle and everything below it
CORE = {"lifecycle", "identity", "waiter", "client", "retry", "signing", "config", "fields", "endpoint", "errors",
        "redact", "regions", "pcluster_schema", "hostpool", "durations", "walk", "_version", "presigned", "queries"}
FACES = {"provider", "package"}
PROGRAM = {"resource", "functions"}


def test_the_reader_of_the_source_sees_relative_and_absolute_imports():
    imports = graph()
    assert imports["package.server"] >= {"lifecycle", "package.schema", "endpoint"}
    assert imports["client"] >= {"endpoint", "errors", "retry", "signing"}  # `from pulumi_pcimage.endpoint import`, ...
    assert imports["lifecycle.core"] >= {"config", "lifecycle.values"}  # `from .. import config`, `from .values import`
    assert "lifecycle.core" in imports["lifecycle"], "a package's __init__ is the package"
    assert imports["emulator.server"] >= {"emulator.app", "regions"}


@pytest.mark.parametrize("module", sorted(CORE))
def test_the_core_knows_no_face_and_no_program(module):
    imports = set().union(*(names for name, names in graph().items() if top(name) == module))  # a package: all of it
    outward = {name for name in imports if top(name) in FACES | PROGRAM | {"emulator", "testing"}}
    assert not outward, f"{module} imports {sorted(outward)}: the arrows point from the faces to the core"


def test_the_faces_do_not_know_each_other_nor_the_program_resource():
    imports = graph()
    provider = {top(name) for name in imports["provider"]}
    package = {top(name) for module, names in imports.items() if top(module) == "package" for name in names}
    assert not provider & {"package", "resource", "functions"}
    # the package serves the same three queries as invokes, from `queries`: the program side is not imported
    assert not package & {"provider", "resource", "functions"}
    assert "queries" in package and "queries" in imports["functions"]


def test_the_emulator_imports_nothing_from_the_provider_side():
    shared = {"regions", "pcluster_schema"}  # facts about AWS, not about the provider
    for module, names in graph().items():
        if top(module) == "emulator":
            assert {top(n) for n in names} <= {"emulator"} | shared, (module, names)


def test_the_client_signs_and_calls_without_pulumi_installed():
    code = (
        "import sys\n"
        "sys.modules['pulumi'] = None  # any import of pulumi now raises ImportError\n"
        "from pulumi_pcimage.client import ParallelClusterClient\n"
        "from pulumi_pcimage.emulator import Emulator\n"
        "with Emulator() as api:  # checks every SigV4 signature\n"
        "    client = ParallelClusterClient(api.url, region='us-east-1')\n"
        "    print(len(client.describe_official_images(os='rocky9')['images']))\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2\n"  # rocky9 on x86_64 and arm64


def test_the_queries_run_without_pulumi_installed():
    # what the package face shares with the program side reads no stack configuration and makes no Outputs
    code = (
        "import sys\n"
        "sys.modules['pulumi'] = None  # any import of pulumi now raises ImportError\n"
        "from pulumi_pcimage import queries\n"
        "class Client:\n"
        "    def describe_image(self, image_id, *, region=None):\n"
        "        return {'imageId': image_id, 'region': region}\n"
        "print(queries.IMAGE.run(Client(), {'image_id': 'base', 'region': 'eu-west-1'}).region)\n"
        "print(sorted(m for m in sys.modules if m.startswith('pulumi_pcimage')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    region, loaded = done.stdout.splitlines()
    assert region == "eu-west-1"
    assert "pulumi_pcimage.lifecycle" not in loaded and "pulumi_pcimage.functions" not in loaded, loaded


def test_no_import_cycle_and_the_graph_prints_for_anyone(capsys):
    """`python -m pulumi_pcimage.devtools.imports` prints the graph this file holds to its rules."""
    edges = graph()
    assert cycles({module: {n for n in names if n in edges} for module, names in edges.items()}) == []
    assert main([]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].endswith("groups; no import cycle")
    assert any(line.startswith("lifecycle ") and "waiter" in line and "provider" not in line for line in printed)
    assert main(["--modules"]) == 0 and "lifecycle.core " in capsys.readouterr().out
