"""Run the quickstart end to end against a local ParallelCluster API emulator: nothing touches AWS.

    python examples/quickstart/run_local.py [--yes] [--config KEY=VALUE ...] [--no-cli] [--build-seconds N]

Starts `pcimage-emulator` on 127.0.0.1 (a free port), then runs the program: preview, up, a configuration change
(a bigger build instance: preview shows the replacement; up builds the new image and deletes the old one), destroy;
and checks that the emulator has no image left. It exits 0 on success.

Each preview shows the plan, then the job asks "Do you want to perform this update? [y/N]" before the update;
`--yes` performs it without asking. Without a terminal to ask on (stdin is not a TTY) and without `--yes` it shows
the first plan and stops (exit 2). A declined update (anything but y, or Ctrl-C at the question) changes nothing
(what was built before is destroyed, as at the end of every run) and the job exits 1. `--config KEY=VALUE`
(repeatable) sets the stack's configuration before the first preview: `os`, `architecture`, `instanceType` (the
keys the program reads). The provider's progress is printed as it comes, while a build runs.

With the Pulumi CLI installed (`pulumi` on PATH, or $PCIMAGE_PULUMI) the CLI runs it, on a local file backend in a
temporary directory (no `pulumi login`); without the Python language host beside it (a CLI built from its Go
modules by scripts/build_pulumi_cli.sh has none) the program is served to the CLI as the Automation API serves
inline programs. Without the CLI (or with --no-cli) the same steps run through the Pulumi SDK's own provider
host, the engine's part played by `pulumi_pcimage.testing`. The first line it prints says which.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulumi_pcimage.emulator import EmulatorControl
    from pulumi_pcimage.testing import ProviderHost

PROJECT_DIR = Path(__file__).resolve().parent
PROJECT, STACK, REGION = "quickstart", "dev", "us-east-1"
INSTALL_HINT = ("The Pulumi CLI is not installed (https://www.pulumi.com/docs/install/, or build it with "
                "`bash scripts/build_pulumi_cli.sh` and put the folder it prints on PATH).")
QUESTION = "Do you want to perform this update? [y/N] "
NOT_A_TERMINAL = ("run_local.py: the update was not performed: stdin is not a terminal, so the job cannot ask; "
                  "pass --yes to perform it without asking.")
# The configuration the program (__main__.py) reads, and what each accepts.
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
SIZES = ("medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge",
         "32xlarge", "48xlarge")


def config_keys() -> dict[str, Callable[[str], str | None]]:
    """Each key the program reads -> a check of a value (None when it is fine, else what is expected)."""
    from pulumi_pcimage.functions import SUPPORTED_ARCHITECTURES, SUPPORTED_OSES

    def one_of(choices: tuple[str, ...]) -> Callable[[str], str | None]:
        return lambda value: None if value in choices else f"one of {', '.join(choices)}"

    def instance_type(value: str) -> str | None:
        return None if INSTANCE_TYPE.match(value) else "an EC2 instance type, e.g. c6i.xlarge"

    return {"os": one_of(SUPPORTED_OSES), "architecture": one_of(SUPPORTED_ARCHITECTURES),
            "instanceType": instance_type}


def parse_config(pairs: list[str]) -> dict[str, str]:
    """`--config key=value` arguments -> the stack's configuration; ValueError naming the first bad one."""
    keys, config = config_keys(), {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        key = key.strip().removeprefix(f"{PROJECT}:")
        if not equals or not key or not value:
            raise ValueError(f"--config {pair!r} is malformed: expected KEY=VALUE, e.g. instanceType=c6i.2xlarge")
        if key not in keys:
            raise ValueError(f"--config {pair!r}: unknown key {key!r}; the program reads {', '.join(keys)}")
        expected = keys[key](value)
        if expected:
            raise ValueError(f"--config {pair!r}: {key} must be {expected}")
        config[key] = value
    return config


def bigger(instance_type: str) -> str:
    """The configuration change the job makes: the next size of the build instance (c6i.xlarge -> c6i.2xlarge)."""
    family, _, size = instance_type.partition(".")
    if size in SIZES[:-1]:
        return f"{family}.{SIZES[SIZES.index(size) + 1]}"
    return f"{family}.{'4xlarge' if size == '2xlarge' else '2xlarge'}"


def instance_type_of(image_configuration: str) -> str:
    import yaml

    return str(yaml.safe_load(image_configuration)["Build"]["InstanceType"])


def confirmed(yes: bool) -> bool:
    """After a plan: go on? `--yes` does; else the user at the terminal answers (anything but y/yes is a no)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        print(NOT_A_TERMINAL, file=sys.stderr, flush=True)
        raise SystemExit(2)
    try:  # the question inside: a Ctrl-C that comes while it is still being written is an answer too
        print(QUESTION, end="", flush=True)
        answer = sys.stdin.readline()
    except KeyboardInterrupt:  # Ctrl-C at the question: a no, and what was built is still cleaned up
        answer = ""
    if not answer.endswith("\n"):
        print(flush=True)  # end of input or Ctrl-C: the answer's line was never ended
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("Declined: the update was not performed.", flush=True)
    return False


def start_emulator(workdir: Path, build_seconds: float) -> tuple[subprocess.Popen, int]:
    port_file = workdir / "emulator.port"
    log = workdir / "emulator.log"  # a file, not a pipe: nobody has to keep reading it for the emulator to go on
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "pulumi_pcimage.emulator", "--host", "127.0.0.1", "--port", "0",
             "--port-file", str(port_file), "--build-seconds", str(build_seconds), "--delete-seconds", "0.5",
             "--region", REGION, "--db", str(workdir / "emulator.sqlite"), "--quiet"],
            stdout=subprocess.DEVNULL, stderr=sink, stdin=subprocess.DEVNULL,
            start_new_session=True)  # a Ctrl-C at the terminal is for the job: it stops the emulator itself
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if process.poll() is not None:
            raise SystemExit(f"pcimage-emulator exited with {process.returncode}: "
                             f"{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit("pcimage-emulator did not write its port within 30 s")
        time.sleep(0.05)
    return process, int(port_file.read_text())


def environment(port: int) -> dict[str, str]:
    """What the program and the provider need: the emulator's URL and the credentials it accepts."""
    env = {"PCLUSTER_API_URL": f"http://127.0.0.1:{port}/prod", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
           "PCIMAGE_POLL_SCALE": "0.02"}  # poll every 0.3 s instead of 15-30 s: the emulated build is short
    os.environ.update(env)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "PCLUSTER_API_STACK_NAME"):
        os.environ.pop(name, None)
    return env


def with_cli(pulumi: str, env: dict[str, str], workdir: Path, control: EmulatorControl, config: dict[str, str],
             yes: bool) -> str | None:
    """The real thing: the CLI's own output as it writes it, on a local file backend (no `pulumi login`).
    Returns the AMI built last, None when an update was declined."""
    from pulumi_pcimage.testing.cli import CliStack

    with CliStack(PROJECT_DIR, workdir / "cli", stack=STACK, env=env, pulumi=pulumi) as stack:
        def run(*args: str) -> None:
            print(f"$ pulumi {' '.join(args)}", flush=True)
            stack.run(*args, echo=True)

        for key, value in config.items():
            run("config", "set", key, value)
        run("preview", "--diff")  # the plan, with the inputs of what it creates
        if not confirmed(yes):
            return None
        run("up", "--yes", "--skip-preview")  # the plan was shown above
        [image] = [r for r in stack.resources() if r["urn"].endswith("::hpc-base")]
        change = {"instanceType": bigger(instance_type_of(image["inputs"]["image_configuration"]))}
        for key, value in change.items():
            run("config", "set", key, value)
        run("preview", "--diff")
        ami_id = None
        if confirmed(yes):
            run("up", "--yes", "--skip-preview")
            ami_id = stack.outputs()["ami_id"]
        print(f"    images at the API: {control.images(REGION)}", flush=True)  # the new one only: the old was deleted
        run("destroy", "--yes")
    return ami_id


class Follow:
    """The provider host's progress, printed as it comes (a thread polls its log), not when a command has ended:
    its logging on stderr (the CLI shows it as diagnostics) and any record it sends to the engine's Log service."""

    def __init__(self, host: ProviderHost):
        self.host, self.offset, self.records = host, 0, 0
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="follow-provider-host", daemon=True)

    def __enter__(self) -> Follow:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.poll()

    def poll(self) -> None:
        with self._lock:  # one reader at a time, so each line is printed once and in order
            records = self.host.log_requests[self.records:]
            self.records += len(records)
            lines, self.offset = self.host.stderr_lines(self.offset)
            for record in records:
                print(f"    {record.message}", flush=True)
            for line in lines:
                if line.startswith("pulumi_pcimage:"):
                    print(f"    {line}", flush=True)


def with_sdk_host(env: dict[str, str], workdir: Path, control: EmulatorControl, config: dict[str, str],
                  yes: bool) -> str | None:
    """The same program, the engine's part played by pulumi_pcimage.testing against the SDK's real provider host:
    up, a configuration change (one replacement), destroy, the state kept in a file between runs as the CLI does.
    Returns the AMI built last, None when an update was declined."""
    from pulumi_pcimage.testing import UNKNOWN, ProviderHost, Stack, run_program

    def show(outputs: dict) -> None:
        for key, value in sorted(outputs.items()):
            print(f"    {key}: {'(known after up)' if value == UNKNOWN else value}")

    def steps(run, inputs: bool = False) -> None:
        for step in run.steps:
            why = f" ({', '.join(step.diff.replaces)})" if step.diff and step.diff.replaces else ""
            print(f"  {step.op} {step.urn.rsplit('::', 1)[-1]}{why}")
            if inputs and step.op != "same" and isinstance(step.inputs.get("image_configuration"), str):
                print("    image_configuration:")
                for line in step.inputs["image_configuration"].splitlines():
                    print(f"      {line}")

    with ProviderHost(PROJECT_DIR, project=PROJECT, env=env) as host, Follow(host) as follow:
        state = Stack(host, workdir / "state.json")
        print(f"preview with config {config}:" if config else "preview:")
        planned = run_program(PROJECT_DIR, host, stack=STACK, state=state, config=config, preview=True)
        follow.poll()
        steps(planned, inputs=True)
        show(planned.outputs)
        if not confirmed(yes):
            return None

        print("up:", flush=True)
        done = run_program(PROJECT_DIR, host, stack=STACK, state=state, config=config)
        follow.poll()
        steps(done)
        show(done.outputs)

        [image] = [r for r in done.resources if r.name == "hpc-base"]
        change = {"instanceType": bigger(instance_type_of(image.inputs["image_configuration"]))}
        config = {**config, **change}
        print(f"preview with config {change}:")
        changing = run_program(PROJECT_DIR, host, stack=STACK, state=state, config=config, preview=True)
        follow.poll()
        steps(changing, inputs=True)
        ami_id = None
        if confirmed(yes):
            print(f"up with config {change}:", flush=True)
            changed = run_program(PROJECT_DIR, host, stack=STACK, state=state, config=config)
            follow.poll()
            steps(changed)
            show(changed.outputs)
            ami_id = changed.outputs["ami_id"]
        print(f"    images at the API: {control.images(REGION)}")  # the new one only: the old one was deleted

        print("destroy:", flush=True)
        for urn in list(state.resources):
            print(f"  delete {urn.rsplit('::', 1)[-1]}")
        state.destroy()
    if ami_id:
        print(f"ami_id: {ami_id}")
    return ami_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--yes", "-y", action="store_true", help="perform each update without asking")
    parser.add_argument("--config", "-c", action="append", default=[], metavar="KEY=VALUE",
                        help="stack configuration for the program, repeatable: os, architecture, instanceType")
    parser.add_argument("--no-cli", action="store_true", help="use the SDK provider host even if `pulumi` is installed")
    parser.add_argument("--build-seconds", type=float, default=3.0, help="emulated build duration (default 3)")
    args = parser.parse_args(argv)
    try:
        config = parse_config(args.config)
    except ValueError as exc:
        parser.error(str(exc))

    from pulumi_pcimage.emulator import EmulatorControl
    from pulumi_pcimage.testing.cli import find_pulumi

    pulumi = None if args.no_cli else find_pulumi()
    if pulumi:
        version = subprocess.run([pulumi, "version"], text=True, capture_output=True).stdout.strip()
        print(f"engine: the Pulumi CLI {version} ({pulumi}), on a local file backend", flush=True)
    else:
        print("engine: the Pulumi SDK's provider host, driven by pulumi_pcimage.testing", flush=True)
        print("--no-cli: the Pulumi CLI is not used." if args.no_cli else INSTALL_HINT, flush=True)

    with tempfile.TemporaryDirectory(prefix="pcimage-quickstart-") as tmp:
        workdir = Path(tmp)
        emulator, port = start_emulator(workdir, args.build_seconds)
        try:
            print(f"pcimage-emulator listening on http://127.0.0.1:{port}/prod", flush=True)
            env = environment(port)
            control = EmulatorControl.from_port_file(workdir / "emulator.port")  # port and control token
            if pulumi:
                ami_id = with_cli(pulumi, env, workdir, control, config, args.yes)
            else:
                ami_id = with_sdk_host(env, workdir, control, config, args.yes)
            left = control.images(REGION)
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)
    if left:
        print(f"FAILED: images left on the emulator after destroy: {left}", file=sys.stderr)
        return 1
    if ami_id is None:
        print(f"Stopped at your answer: no update left an image behind (images at the API: {left}).")
        return 1
    print(f"OK: built {ami_id}, destroyed it, no image left.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
