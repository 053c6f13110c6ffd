"""Node.js and Go programs under the real Pulumi CLI, run as the Automation API runs inline programs.

No registry serves the Node.js or Go language host, so these programs run the way the Automation API runs an
inline program: a driver process (`drivers/automation.js`, `drivers/automation.go`) holds the program as its own
function, asks the SDK's Automation API for `preview`, `up`, `refresh` or `destroy`, and the API runs the real CLI
with `--client` pointing at the program it serves. The driver writes the engine's events (the objects
`pulumi ... --json` streams); `AutomationStack` reads them into the same `CliResult` a `CliStack` returns, so a test
reads steps, applied operations and diagnostics the same way for every language. Commands that do not run the
program (`config set`, `stack export`, ...) are the CLI's own, as for any stack.

Building the drivers: the Node.js one runs the example compiled by `tsc` (its `node_modules` installed by
`scripts/check_sdks.sh`); the Go one is built from the example's `program.go` with the driver in place of its
`main.go` (which only calls `pulumi.Run(program)`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from pulumi_pcimage.testing.cli import CliError, CliResult, CliStack

DRIVERS = Path(__file__).resolve().parent / "drivers"
ROOT = Path(__file__).resolve().parents[2]
_RUNS_PROGRAM = {"preview", "up", "update", "refresh", "destroy"}
_REPLACEMENT_STEPS = {"create-replacement", "delete-replaced", "read-replacement", "discard-replaced",
                      "import-replacement"}


class AutomationStack(CliStack):
    """A CliStack whose program-running commands go through a driver (`driver` + `<op> <project> <stack> <events>`)."""

    def __init__(self, project_dir: str | Path, workdir: str | Path, *, driver: list[str], **kwargs):
        super().__init__(project_dir, workdir, **kwargs)
        self.driver = driver

    def run(self, *args: str, check: bool = True, timeout: float = 600, stdin: str | None = None,
            echo: bool = False) -> CliResult:
        if not args or args[0] not in _RUNS_PROGRAM:
            return super().run(*args, check=check, timeout=timeout, stdin=stdin, echo=echo)
        op = "up" if args[0] == "update" else args[0]
        unsupported = [a for a in args[1:] if a not in ("--json", "--yes", "--diff")]
        assert not unsupported, f"the Automation API drivers take only --diff: {unsupported}"
        with tempfile.TemporaryDirectory() as folder:
            events_file = Path(folder) / "events.jsonl"
            done = subprocess.run([*self.driver, op, str(self.project_dir), self.stack_name, str(events_file),
                                   *(["--diff"] if "--diff" in args else [])],
                                  env=self.env, text=True, capture_output=True, timeout=timeout)
            lines = events_file.read_text().splitlines() if events_file.exists() else []
        events = [json.loads(line) for line in lines if line.strip()]
        # The plan as `--json` shows it (pkg/backend/display: json.go, shouldShow): the steps of resources the engine
        # touches, a replacement as its logical `replace` step only.
        steps = [m for e in events if "resourcePreEvent" in e for m in [e["resourcePreEvent"]["metadata"]]
                 if m["op"] != "same" and (m.get("logical") or m["op"] not in _REPLACEMENT_STEPS)]
        result = CliResult(list(args), done.returncode, done.stdout, done.stderr, {"steps": steps}, events)
        if check and done.returncode != 0:
            raise CliError(result)
        return result


def build_node_program(example: Path, build: Path) -> Path:
    """Compile the example with its own tsconfig (strict) into `build`; the module the Node.js driver requires."""
    modules = example / "node_modules"
    build.mkdir(parents=True, exist_ok=True)
    (build / "node_modules").symlink_to(modules.resolve())  # the compiled program resolves its packages there
    subprocess.run([str(modules / ".bin" / "tsc"), "-p", str(example), "--outDir", str(build / "bin")],
                   check=True, capture_output=True, text=True)
    return build / "bin" / "index.js"


def node_driver(program: Path) -> list[str]:
    return [shutil.which("node") or "node", str(DRIVERS / "automation.js"), str(program)]


def build_go_driver(example: Path, build: Path) -> list[str]:
    """The Go driver built with the example's program (all its .go files but main.go)."""
    build.mkdir(parents=True, exist_ok=True)
    for source in [*example.glob("*.go"), example / "go.mod", example / "go.sum"]:
        if source.name != "main.go":
            shutil.copy(source, build / source.name)
    shutil.copy(DRIVERS / "automation.go", build / "driver.go")
    go = shutil.which("go") or "go"
    # The example's replace directive is relative to the example: point it at this checkout's SDK.
    subprocess.run([go, "mod", "edit", "-replace", f"github.com/pulumi-pcimage/pcimage/sdk/go={ROOT / 'sdk' / 'go'}"],
                   cwd=build, check=True)
    # -mod=mod: the Automation API's own dependencies are added to this copy's go.sum (the example needs none).
    subprocess.run([go, "build", "-mod=mod", "-tags", "pcimage_driver", "-o", str(build / "driver"), "."],
                   cwd=build, check=True, capture_output=True, text=True)
    return [str(build / "driver")]
