"""The `cli` tier: programs run by the real Pulumi CLI (built from its Go modules by scripts/build_pulumi_cli.sh)
against the local emulator, on a local file backend. Results are read from the CLI's own `--json` output and
`pulumi stack export`, never from our models.

The CLI is `$PCIMAGE_PULUMI`, else `pulumi` on PATH. Without it these tests are skipped, except under CI=true
(`.ci/run`), where a missing CLI is a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.testing.cli import CliStack, _runtime, find_pulumi
from pulumi_pcimage.waiter import POLL_SCALE_ENV

from . import automation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
# Polling 50x faster than on AWS: the emulated builds take a second or two.
ENV = {**CREDENTIALS, POLL_SCALE_ENV: "0.02"}
# What the machine's environment must not add: another endpoint, profile or session.
CLEARED = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "PCLUSTER_API_URL", "PCLUSTER_API_STACK_NAME",
           "PULUMI_CONFIG", "PULUMI_BACKEND_URL")
BUILD_SECONDS = 1.0
HELD = 3600.0  # an emulated build that only ends when the test completes it


@pytest.fixture(scope="session")
def pulumi_cli() -> str:
    found = find_pulumi()
    if found is None:
        message = ("the Pulumi CLI is not installed: run `bash scripts/build_pulumi_cli.sh` and put the folder it "
                   "prints on PATH (or set PCIMAGE_PULUMI)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in CREDENTIALS.items():  # the test's own calls (an out-of-band delete) sign like the CLI's
        monkeypatch.setenv(name, value)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(build_seconds=BUILD_SECONDS, delete_seconds=0.2, region=REGION) as emu:
        yield emu


@pytest.fixture
def held_builds() -> Iterator[Emulator]:
    """An emulator whose builds run until the test calls complete_build."""
    with Emulator(build_seconds=HELD, delete_seconds=0.2, region=REGION) as emu:
        yield emu


def _missing(what: str) -> None:
    message = f"{what}: run `bash scripts/check_sdks.sh` first (it installs and compiles the SDK examples)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def node_driver(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The Node.js driver with examples/typescript compiled (tsc, strict) as its program."""
    example = EXAMPLES / "typescript"
    if shutil.which("node") is None or not (example / "node_modules" / ".bin" / "tsc").exists():
        _missing("Node.js or examples/typescript/node_modules is missing")
    return automation.node_driver(automation.build_node_program(example, tmp_path_factory.mktemp("typescript")))


@pytest.fixture(scope="session")
def go_driver(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The Go driver built with examples/go's program (seconds after scripts/check_sdks.sh built the example;
    3 to 4 minutes on 2 cores with an empty Go build cache)."""
    if shutil.which("go") is None:
        _missing("the Go toolchain is missing")
    return automation.build_go_driver(EXAMPLES / "go", tmp_path_factory.mktemp("go"))


@pytest.fixture(scope="session")
def python_sdk(tmp_path_factory: pytest.TempPathFactory) -> str:
    """sdk/python installed as `pip install -r requirements.txt` installs it (its version is read from the installed
    package's metadata), into a folder of its own: the PYTHONPATH entry a program needs."""
    folder = tmp_path_factory.mktemp("python-sdk")
    source = shutil.copytree(EXAMPLES.parent / "sdk" / "python", folder / "source")  # the build writes beside it
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--target", str(folder / "site"), str(source)], check=True)
    return str(folder / "site")


@pytest.fixture
def make_stack(pulumi_cli: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., CliStack]]:
    """`make_stack(project_dir, env=..., stack=...)`: a CliStack in its own folder, closed after the test. Node.js
    and Go projects (examples/typescript, examples/go) run through their Automation API driver."""
    made: list[CliStack] = []

    def make(project: str | Path, *, env: dict[str, str] | None = None, stack: str = "dev") -> CliStack:
        folder = tmp_path / f"stack{len(made)}"
        folder.mkdir()
        settings = dict(stack=stack, env={**ENV, **(env or {})}, pulumi=pulumi_cli)
        runtime = _runtime((Path(project) / "Pulumi.yaml").read_text())
        if runtime in ("nodejs", "go"):
            driver = request.getfixturevalue(f"{'node' if runtime == 'nodejs' else 'go'}_driver")
            cli: CliStack = automation.AutomationStack(project, folder, driver=driver, **settings)
        else:
            cli = CliStack(project, folder, **settings)
        made.append(cli.__enter__())
        return cli

    yield make
    for cli in made:
        cli.__exit__(None, None, None)


def delete_out_of_band(emulator: Emulator, image_id: str) -> None:
    """`pcluster delete-image`, behind Pulumi's back."""
    ParallelClusterClient(emulator.url).delete_image(image_id, region=REGION)


def write_project(folder: Path, name: str, program: str, runtime: str = "python") -> Path:
    """A small Pulumi project of a test's own (`program`: __main__.py for Python, the Pulumi.yaml body for YAML)."""
    folder.mkdir(parents=True, exist_ok=True)
    if runtime == "yaml":
        (folder / "Pulumi.yaml").write_text(f"name: {name}\nruntime: yaml\n{program}")
    else:
        (folder / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
        (folder / "__main__.py").write_text(program)
    return folder
