"""Every program in examples/, run by the real Pulumi CLI against the emulator: preview, up, a configuration change
(preview names it with its old and new values; up replaces; nothing leaks), refresh after an out-of-band delete,
destroy."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from .conftest import EXAMPLES, delete_out_of_band



@dataclass(frozen=True)
class Example:
    folder: str
    images: tuple[str, ...]  # the CustomImage resources it declares
    face: str  # "dynamic" (the Python program) or "package" (pulumi-resource-pcimage)
    config: tuple[tuple[str, str], ...]  # what `pulumi config set` it needs
    change: tuple[str, str]  # a configuration change that rebuilds every image
    old: str  # the value the change replaces, as `preview --diff` shows it
    new: str


EXAMPLE_LIST = [
    Example("quickstart", ("hpc-base",), "dynamic", (), ("instanceType", "c6i.2xlarge"), "c6i.xlarge", "c6i.2xlarge"),
    Example("cluster-config", ("hpc-base",), "dynamic", (("subnetId", "subnet-0123456789abcdef0"),),
            ("os", "rocky9"), "hpc-base-alinux2023", "hpc-base-rocky9"),
    Example("multi-arch", ("hpc-x86_64", "hpc-arm64"), "dynamic", (), ("os", "ubuntu2404"),
            "hpc-alinux2023-arm64", "hpc-ubuntu2404-arm64"),
    Example("yaml", ("hpcBase",), "package", (), ("yaml:instanceType", "c6i.2xlarge"), "c6i.xlarge", "c6i.2xlarge"),
    # The generated SDKs' examples, run through the Automation API (tests/cli/automation.py)
    Example("typescript", ("hpc-base",), "package", (), ("typescript:instanceType", "c6i.2xlarge"), "c6i.xlarge",
            "c6i.2xlarge"),
    Example("go", ("hpc-base",), "package", (), ("go:instanceType", "c6i.2xlarge"), "c6i.xlarge", "c6i.2xlarge"),
    Example("python-package", ("hpc-base",), "package", (), ("python-package:instanceType", "c6i.2xlarge"),
            "c6i.xlarge", "c6i.2xlarge"),
]


def test_every_example_is_listed():
    listed = [getattr(e, "values", [e])[0] for e in EXAMPLE_LIST]
    assert sorted(e.folder for e in listed) == sorted(p.parent.name for p in EXAMPLES.glob("*/Pulumi.yaml"))


@pytest.mark.parametrize("example", EXAMPLE_LIST, ids=lambda e: e.folder if isinstance(e, Example) else None)
def test_example_lifecycle_under_the_cli(example, make_stack, emulator, request):
    # The dynamic face finds the API through the environment; the package face through its provider config.
    env = {"PCLUSTER_API_URL": emulator.url} if example.face == "dynamic" else {}
    requirements = EXAMPLES / example.folder / "requirements.txt"
    if requirements.exists() and "sdk/python" in requirements.read_text():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [request.getfixturevalue("python_sdk"),
                                                          os.environ.get("PYTHONPATH")]))
    stack = make_stack(EXAMPLES / example.folder, env=env)
    if example.face == "package":
        stack.config_set("pcimage:apiUrl", emulator.url)
    for key, value in example.config:
        stack.config_set(key, value)

    preview = stack.preview()
    assert preview.ops() == {name: "create" for name in example.images}
    assert emulator.images() == []

    up = stack.up()
    assert sorted(up.applied()) == sorted((name, "create") for name in example.images)
    first = sorted(emulator.images())
    assert len(first) == len(example.images)
    assert emulator.counters()["builds_started"] == len(example.images)

    stack.config_set(*example.change)
    shown = stack.run("preview", "--diff")
    assert example.old in shown.stdout and example.new in shown.stdout, shown.stdout
    planned = stack.preview()
    assert planned.ops() == {name: "replace" for name in example.images}

    replaced = stack.up()
    assert sorted(op for _, op in replaced.applied()) == sorted(
        ["create-replacement", "replace", "delete-replaced"] * len(example.images))
    second = sorted(emulator.images())
    assert len(second) == len(example.images) and not set(first) & set(second)  # the old images are gone

    delete_out_of_band(emulator, second[0])
    refreshed = stack.refresh()
    assert ("deleted" in refreshed.stdout) or any(op == "delete" for _, op in refreshed.applied()), refreshed.stdout
    kept = [r["id"] for r in stack.resources() if r["type"].endswith("CustomImage")]
    assert sorted(kept) == second[1:]

    stack.destroy()
    assert emulator.images() == []
    assert [r for r in stack.resources() if r["type"].endswith("CustomImage")] == []
