"""Run the quickstart end to end against a local ParallelCluster API emulator: nothing touches AWS.

    python examples/quickstart/run_local.py [--no-cli] [--build-seconds N]

Starts `pcimage-emulator` on 127.0.0.1 (a free port), then runs the program: preview, up, a configuration change
(preview shows the replacement; up builds the new image and deletes the old one), destroy; and checks that the
emulator has no image left. It exits 0 on success.

With the Pulumi CLI installed (`pulumi` on PATH, or $PCIMAGE_PULUMI) the CLI runs it, on a local file backend in a
temporary directory (no `pulumi login`); without the Python language host beside it (a CLI built from its Go
modules by scripts/build_pulumi_cli.sh has none) the program is served to the CLI as the Automation API serves
inline programs. Without the CLI (or with --no-cli) the same steps run through the Pulumi SDK's own provider
host, the engine's part played by `pulumi_pcimage.testing`. The first line it prints says which.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulumi_pcimage.emulator import EmulatorControl

PROJECT_DIR = Path(__file__).resolve().parent
PROJECT, STACK, REGION = "quickstart", "dev", "us-east-1"
INSTALL_HINT = ("The Pulumi CLI is not installed (https://www.pulumi.com/docs/install/, or build it with "
                "`bash scripts/build_pulumi_cli.sh` and put the folder it prints on PATH).")
BIGGER = {"instanceType": "c6i.2xlarge"}  # the configuration change: a bigger build instance


def start_emulator(workdir: Path, build_seconds: float) -> tuple[subprocess.Popen, int]:
    port_file = workdir / "emulator.port"
    log = workdir / "emulator.log"  # a file, not a pipe: nobody has to keep reading it for the emulator to go on
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "pulumi_pcimage.emulator", "--host", "127.0.0.1", "--port", "0",
             "--port-file", str(port_file), "--build-seconds", str(build_seconds), "--delete-seconds", "0.5",
             "--region", REGION, "--db", str(workdir / "emulator.sqlite"), "--quiet"],
            stdout=subprocess.DEVNULL, stderr=sink)
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


def with_cli(pulumi: str, env: dict[str, str], workdir: Path, control: EmulatorControl) -> str:
    """The real thing: the CLI's own output, on a local file backend (no `pulumi login` to the service)."""
    from pulumi_pcimage.testing.cli import CliStack

    with CliStack(PROJECT_DIR, workdir / "cli", stack=STACK, env=env, pulumi=pulumi) as stack:
        def run(*args: str) -> None:
            print(f"$ pulumi {' '.join(args)}", flush=True)
            stack.run(*args, echo=True)

        run("preview")
        run("up", "--yes")
        for key, value in BIGGER.items():
            run("config", "set", key, value)
        run("preview", "--diff")
        run("up", "--yes")
        ami_id = stack.outputs()["ami_id"]
        print(f"    images at the API: {control.images(REGION)}")  # the new one only: the old one was deleted
        run("destroy", "--yes")
    return ami_id


def with_sdk_host(env: dict[str, str], workdir: Path, control: EmulatorControl) -> str:
    """The same program, the engine's part played by pulumi_pcimage.testing against the SDK's real provider host:
    up, a configuration change (one replacement), destroy, the state kept in a file between runs as the CLI does."""
    from pulumi_pcimage.testing import UNKNOWN, ProviderHost, Stack, run_program

    def show(outputs: dict) -> None:
        for key, value in sorted(outputs.items()):
            print(f"    {key}: {'(known after up)' if value == UNKNOWN else value}")

    def steps(run) -> None:
        for step in run.steps:
            why = f" ({', '.join(step.diff.replaces)})" if step.diff and step.diff.replaces else ""
            print(f"  {step.op} {step.urn.rsplit('::', 1)[-1]}{why}")

    bigger = BIGGER
    with ProviderHost(PROJECT_DIR, project=PROJECT, env=env) as host:
        state = Stack(host, workdir / "state.json")
        print("preview:")
        planned = run_program(PROJECT_DIR, host, stack=STACK, state=state, preview=True)
        steps(planned)
        show(planned.outputs)

        print("up:")
        done = run_program(PROJECT_DIR, host, stack=STACK, state=state)
        steps(done)
        show(done.outputs)

        print(f"preview with config {bigger}:")
        steps(run_program(PROJECT_DIR, host, stack=STACK, state=state, config=bigger, preview=True))
        print(f"up with config {bigger}:")
        changed = run_program(PROJECT_DIR, host, stack=STACK, state=state, config=bigger)
        steps(changed)
        show(changed.outputs)
        print(f"    images at the API: {control.images(REGION)}")  # the new one only: the old one was deleted
        for line in host.stderr_text().splitlines():  # the provider's progress, shown by the CLI as diagnostics
            if line.startswith("pulumi_pcimage:"):
                print(f"    {line}")

        print("destroy:")
        for urn in list(state.resources):
            print(f"  delete {urn.rsplit('::', 1)[-1]}")
        state.destroy()
    print(f"ami_id: {changed.outputs['ami_id']}")
    return changed.outputs["ami_id"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-cli", action="store_true", help="use the SDK provider host even if `pulumi` is installed")
    parser.add_argument("--build-seconds", type=float, default=3.0, help="emulated build duration (default 3)")
    args = parser.parse_args(argv)

    from pulumi_pcimage.emulator import EmulatorControl
    from pulumi_pcimage.testing.cli import find_pulumi

    with tempfile.TemporaryDirectory(prefix="pcimage-quickstart-") as tmp:
        workdir = Path(tmp)
        emulator, port = start_emulator(workdir, args.build_seconds)
        try:
            print(f"pcimage-emulator listening on http://127.0.0.1:{port}/prod")
            env = environment(port)
            control = EmulatorControl.from_port_file(workdir / "emulator.port")  # port and control token
            pulumi = None if args.no_cli else find_pulumi()
            if pulumi:
                version = subprocess.run([pulumi, "version"], text=True, capture_output=True).stdout.strip()
                print(f"engine: the Pulumi CLI {version} ({pulumi}), on a local file backend")
                ami_id = with_cli(pulumi, env, workdir, control)
            else:
                print((INSTALL_HINT + " ") if not args.no_cli else "--no-cli: ")
                print("engine: the Pulumi SDK's provider host, driven by pulumi_pcimage.testing")
                ami_id = with_sdk_host(env, workdir, control)
            left = control.images(REGION)
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)
    if left:
        print(f"FAILED: images left on the emulator after destroy: {left}", file=sys.stderr)
        return 1
    print(f"OK: built {ami_id}, destroyed it, no image left.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
