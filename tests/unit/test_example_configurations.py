"""Every image configuration the project shows users passes local validation: each example program's and each
sample of README.md and docs/, as the program builds it (the programs run under the SDK's mocks; no API, no provider
host)."""

from __future__ import annotations

import asyncio
import re
import runpy
import threading
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import set_all_config, set_mocks

import pulumi_pcimage
from pulumi_pcimage import config, functions, resource
from pulumi_pcimage.functions import OfficialImage

ROOT = Path(__file__).resolve().parents[2]
# The dynamic provider's programs. A program of the package's generated SDK (examples/python-package) writes its
# configuration with the typed classes generated from the same ParallelCluster schema: mypy checks it
# (scripts/check_sdks.sh) and the plugin validates it (tests/cli/test_examples.py).
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if (p / "__main__.py").is_file()
                  and "pulumi_pcimage_sdk" not in (p / "__main__.py").read_text())
README_SAMPLES = [block for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
                  for block in re.findall(r"^```python\n(.*?)^```", page.read_text(), re.MULTILINE | re.DOTALL)
                  if "CustomImage(" in block]
# Stack config the examples require (`config.require`), as a user would set it.
REQUIRED_CONFIG = {"subnetId": "subnet-0123456789abcdef0"}


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        return {}, []


def _official_images(*, os: str | None = None, architecture: str | None = None, **_: Any) -> list[OfficialImage]:
    return [OfficialImage(ami_id=f"ami-0{index}23456789abcdef0", name=f"aws-parallelcluster-3.16.1-{os}-2025010{index}",
                          os=os or "alinux2023", architecture=architecture or "x86_64", version="3.16.1")
            for index in (1, 2)]


def configurations_of(program: str, project: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The image_configuration of every CustomImage the program declares, as it passes it."""
    seen: list[Any] = []

    class Recorder:  # stands in for CustomImage: keeps the configuration, answers any output with a placeholder
        def __init__(self, name: str, args: Any = None, opts: Any = None, **kwargs: Any) -> None:
            seen.append(kwargs["image_configuration"] if args is None else args.image_configuration)

        def __getattr__(self, name: str) -> pulumi.Output:
            return pulumi.Output.from_input(f"{name}-value")

    for module in (pulumi_pcimage, resource):
        monkeypatch.setattr(module, "CustomImage", Recorder, raising=False)
    for module in (pulumi_pcimage, functions):
        monkeypatch.setattr(module, "get_official_images", _official_images, raising=False)
    failure: list[BaseException] = []

    def run() -> None:  # a thread of its own: the SDK's settings live in a fresh contextvars context
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            set_mocks(_Mocks(), project=project, stack="dev", preview=True)
            set_all_config({f"{project}:{key}": value for key, value in REQUIRED_CONFIG.items()}, [])
            runpy.run_path(program, run_name="__main__")
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            failure.append(exc)
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return seen


def _problems(configurations: list[Any]) -> list[str]:
    return [str(problem) for value in configurations for problem in config.validate(config.load(value), None)]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_example_program_configures_its_images_without_a_problem(example, monkeypatch):
    project = yaml.safe_load((example / "Pulumi.yaml").read_text())["name"]
    configurations = configurations_of(str(example / "__main__.py"), project, monkeypatch)
    assert configurations, f"{example.name} declares no CustomImage"
    assert _problems(configurations) == []


@pytest.mark.parametrize("index", range(len(README_SAMPLES)))
def test_each_readme_sample_configures_its_images_without_a_problem(index, tmp_path, monkeypatch):
    program = tmp_path / "__main__.py"
    program.write_text(README_SAMPLES[index])
    monkeypatch.setattr(functions, "list_images", lambda *a, **k: [], raising=False)
    monkeypatch.setattr(pulumi_pcimage, "list_images", lambda *a, **k: [], raising=False)
    monkeypatch.setattr(pulumi_pcimage, "get_image_output", lambda *a, **k: pulumi.Output.from_input(None),
                        raising=False)
    configurations = configurations_of(str(program), "readme", monkeypatch)
    assert configurations and _problems(configurations) == []


def test_the_readme_shows_at_least_one_configuration():
    assert any("image_configuration={" in sample for sample in README_SAMPLES)


def test_a_typo_in_an_example_would_be_caught(tmp_path, monkeypatch):
    # The same path as above, with the typo: the tests above can fail.
    text = (ROOT / "examples" / "quickstart" / "__main__.py").read_text()
    assert '"UpdateOsPackages"' in text
    program = tmp_path / "__main__.py"
    program.write_text(text.replace('"UpdateOsPackages"', '"UpdateOsPackage"'))
    assert _problems(configurations_of(str(program), "quickstart", monkeypatch)) == [
        "Build.UpdateOsPackage: unknown key; did you mean UpdateOsPackages?"]
