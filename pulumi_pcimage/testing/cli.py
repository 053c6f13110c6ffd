"""Programs under the real Pulumi CLI: a stack on a local file backend, read through the CLI's own JSON.

`CliStack` copies a Pulumi project (Python or YAML) into a work folder, creates a stack on a `file://` backend,
and runs `pulumi preview / up / refresh / destroy / import / ...` with `--json`, so results come from the CLI
itself (its steps, diffs and diagnostics, `pulumi stack export`), not from a model of it.

YAML programs run through `pulumi-language-yaml`. Python programs run as the Automation API runs inline programs:
a child process serves the program through the SDK's `LanguageServer` and the CLI is given its address
(`--client`), so only the `pulumi` binary and its plugins are needed, not the Python language host (which no
registry serves as a binary). The program is re-run in a fresh process for every command, as the language host
does. Dynamic providers run in the SDK's provider host, started by the CLI through `pulumi-resource-pulumi-python`.

    with CliStack(project_dir, tmp_path, env=...) as stack:
        stack.config_set("pcimage:apiUrl", url)
        preview = stack.preview()
        assert preview.step("hpc-base").op == "create"
"""

from __future__ import annotations

import codecs
import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PULUMI_ENV = "PCIMAGE_PULUMI"  # the `pulumi` binary to use; else the one on PATH
PASSPHRASE = "pcimage-local"  # the file backend's secrets passphrase: not a secret, the state is a test's


def find_pulumi() -> str | None:
    """The Pulumi CLI: `$PCIMAGE_PULUMI` when set, else `pulumi` on PATH."""
    explicit = os.environ.get(PULUMI_ENV)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("pulumi")


def has_python_language_host(pulumi: str) -> bool:
    """Whether `pulumi-language-python` is installed beside the CLI or on PATH (a normal installation)."""
    return (Path(pulumi).parent / "pulumi-language-python").exists() or bool(shutil.which("pulumi-language-python"))


class CliError(Exception):
    """A `pulumi` command exited non-zero; the result is kept for the test to read."""

    def __init__(self, result: CliResult):
        super().__init__(f"`pulumi {' '.join(result.args)}` exited with {result.returncode}:\n"
                         f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        self.result = result


@dataclass
class Step:
    """One step of the CLI's `--json` output: `op` is same, create, update, replace, delete, read, refresh, ..."""

    op: str
    urn: str
    raw: dict

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @property
    def type(self) -> str:
        return self.urn.rsplit("::", 2)[-2]

    @property
    def detailed_diff(self) -> dict[str, str]:
        """Property path -> kind (update, update-replace, add, delete, ...), as the CLI shows the diff."""
        return {path: d["kind"] for path, d in (self.raw.get("detailedDiff") or {}).items()}

    @property
    def replace_reasons(self) -> list[str]:
        return list(self.raw.get("replaceReasons") or [])

    @property
    def diff_reasons(self) -> list[str]:
        return list(self.raw.get("diffReasons") or [])

    @property
    def old_inputs(self) -> dict:
        return (self.raw.get("oldState") or {}).get("inputs") or {}

    @property
    def new_inputs(self) -> dict:
        return (self.raw.get("newState") or {}).get("inputs") or {}


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    document: dict = field(default_factory=dict)  # the plan of a `--json` command: config, steps, diagnostics
    events: list[dict] = field(default_factory=list)  # then, for up/destroy/refresh, the engine's events as it ran

    @property
    def steps(self) -> list[Step]:
        return [Step(s["op"], s["urn"], s) for s in self.document.get("steps") or []]

    def step(self, name: str) -> Step:
        """The step of the resource called `name` (the last part of its URN); not the provider's or the stack's."""
        found = [s for s in self.steps if s.name == name and not s.type.startswith("pulumi:")]
        assert len(found) == 1, f"{len(found)} steps for {name!r}: {[(s.op, s.urn) for s in self.steps]}"
        return found[0]

    def ops(self) -> dict[str, str]:
        """Resource name -> op as planned, for the program's own resources (not the stack or providers)."""
        return {s.name: s.op for s in self.steps if not s.type.startswith("pulumi:")}

    def _by_resource(self, kind: str) -> list[tuple[str, str]]:
        found = []
        for event in self.events:
            metadata = (event.get(kind) or {}).get("metadata")
            if metadata and not metadata["type"].startswith("pulumi:"):
                found.append((metadata["urn"].rsplit("::", 1)[-1], metadata["op"]))
        return found

    def applied(self) -> list[tuple[str, str]]:
        """(resource name, op) of each step the engine completed, in order (create-replacement, delete-replaced..)."""
        return self._by_resource("resOutputsEvent")

    def failed(self) -> list[tuple[str, str]]:
        return self._by_resource("resOpFailedEvent")

    @property
    def diagnostics(self) -> list[str]:
        """Every message the command showed: the plan's diagnostics, then the engine's as it ran."""
        found = [d.get("message", "") for d in self.document.get("diagnostics") or []]
        return found + [e["diagnosticEvent"]["message"] for e in self.events if "diagnosticEvent" in e
                        and e["diagnosticEvent"].get("severity") != "debug"]

    @property
    def text(self) -> str:
        """Everything the command printed: what a user would read."""
        return self.stdout + self.stderr


class ProgramServer:
    """A Python program served to the CLI as the Automation API serves inline programs (`--client <address>`)."""

    def __init__(self, project_dir: Path, env: dict[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi_pcimage.testing.cli", "serve", str(project_dir)],
            cwd=project_dir, env=env, stdout=subprocess.PIPE, stderr=None, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            self.process.kill()
            raise RuntimeError(f"the program server did not start: {line!r}")
        self.address = f"127.0.0.1:{line}"

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


# The commands that run the program (preview, up; destroy and refresh only with --run-program) need the
# language runtime; the others only read or write the state and the configuration.
_RUNS_PROGRAM = {"preview", "up", "update", "destroy", "refresh", "import"}


class CliStack:
    """One project and stack under the real `pulumi` CLI, on a local file backend in `workdir`."""

    def __init__(self, project_dir: str | Path, workdir: str | Path, *, stack: str = "dev",
                 env: dict[str, str] | None = None, pulumi: str | None = None):
        self.workdir = Path(workdir)
        self.project_dir = self.workdir / "project"
        shutil.copytree(project_dir, self.project_dir, ignore=shutil.ignore_patterns(
            "__pycache__", "Pulumi.*.yaml", "venv", ".venv", "node_modules"))
        if (Path(project_dir) / "node_modules").is_dir():  # a Node.js project's installed packages: shared, not copied
            (self.project_dir / "node_modules").symlink_to((Path(project_dir) / "node_modules").resolve())
        (self.workdir / "state").mkdir(exist_ok=True)
        found = pulumi or find_pulumi()
        if found is None:
            raise RuntimeError(f"the Pulumi CLI is not installed (set {PULUMI_ENV} or put `pulumi` on PATH; "
                               "scripts/build_pulumi_cli.sh builds it)")
        self.pulumi = found
        settings = self.project_dir / "Pulumi.yaml"
        self.runtime = _runtime(settings.read_text())
        self.inline = self.runtime == "python" and not has_python_language_host(self.pulumi)
        self.stack_name = stack
        self.env = {
            **os.environ,
            "PATH": os.pathsep.join([str(Path(self.pulumi).parent), os.environ.get("PATH", "")]),
            "PULUMI_BACKEND_URL": f"file://{self.workdir / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_HOME": str(self.workdir / "pulumi-home"),  # plugins and credentials of this test only
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",  # nothing is downloaded
            "PULUMI_PYTHON_CMD": sys.executable,
            "PYTHONUNBUFFERED": "1",
            "NO_COLOR": "1",
            **(env or {}),
        }
        self.env.pop("PULUMI_ACCESS_TOKEN", None)
        self.background: subprocess.Popen | None = None
        self._server: ProgramServer | None = None

    def __enter__(self) -> CliStack:
        self.run("stack", "init", self.stack_name)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.background is not None and self.background.poll() is None:
            self.background.kill()
            self.background.wait()
        self._close_server()

    # ------------------------------------------------------------ running commands

    def _command(self, args: tuple[str, ...]) -> list[str]:
        command = [self.pulumi, *args, "--cwd", str(self.project_dir)]
        if args and args[0] in _RUNS_PROGRAM:
            command.append("--non-interactive")
            if self.inline and not (args[0] in ("destroy", "refresh", "import") and "--run-program" not in args):
                self._server = ProgramServer(self.project_dir, self.env)
                command += [f"--client={self._server.address}", "--exec-kind", "auto.inline"]
        return command

    def _close_server(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def run(self, *args: str, check: bool = True, timeout: float = 600, stdin: str | None = None,
            echo: bool = False) -> CliResult:
        """`pulumi <args>` in the project; `--json` output, when asked for, is parsed into `document`.
        `echo`: also print each line as the CLI writes it (its own progress display), stderr included."""
        try:
            if echo:
                done = self._echoed(args, timeout)
            else:
                done = subprocess.run(self._command(args), env=self.env, text=True, capture_output=True,
                                      timeout=timeout, input=stdin)
        finally:
            self._close_server()
        result = CliResult(list(args), done.returncode, done.stdout, done.stderr, *_json(done.stdout, args))
        if check and done.returncode != 0:
            raise CliError(result)
        return result

    def _echoed(self, args: tuple[str, ...], timeout: float) -> subprocess.CompletedProcess:
        # Whatever the CLI writes, as it writes it: its progress display grows a line a dot at a time.
        process = subprocess.Popen(self._command(args), env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        assert process.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        chunks = []
        with process.stdout:
            while chunk := os.read(process.stdout.fileno(), 65536):
                text = decoder.decode(chunk)
                print(text, end="", flush=True)
                chunks.append(text)
        chunks.append(rest := decoder.decode(b"", final=True))
        print(rest, end="", flush=True)
        process.wait(timeout=timeout)
        return subprocess.CompletedProcess(process.args, process.returncode, "".join(chunks), "")

    def start(self, *args: str) -> subprocess.Popen:
        """`pulumi <args>` in the background (e.g. an `up` to interrupt); `finish()` waits for it."""
        assert self.background is None or self.background.poll() is not None, "one background command at a time"
        self.background = subprocess.Popen(self._command(args), env=self.env, text=True, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, start_new_session=True)
        self._background_args = list(args)
        return self.background

    def interrupt(self) -> None:
        """Ctrl-C, as a terminal sends it: SIGINT to the CLI's process group."""
        assert self.background is not None
        os.killpg(self.background.pid, signal.SIGINT)

    def finish(self, timeout: float = 120) -> CliResult:
        assert self.background is not None
        try:
            stdout, stderr = self.background.communicate(timeout=timeout)
        finally:
            self._close_server()
        args = self._background_args
        return CliResult(args, self.background.returncode, stdout, stderr, *_json(stdout, args))

    # ------------------------------------------------------------ the usual commands

    def preview(self, *extra: str, check: bool = True) -> CliResult:
        return self.run("preview", "--json", *extra, check=check)

    def up(self, *extra: str, check: bool = True) -> CliResult:
        return self.run("up", "--yes", "--json", *extra, check=check)

    def refresh(self, *extra: str, check: bool = True) -> CliResult:
        return self.run("refresh", "--yes", "--json", *extra, check=check)

    def destroy(self, *extra: str, check: bool = True) -> CliResult:
        return self.run("destroy", "--yes", "--json", *extra, check=check)

    def config_set(self, key: str, value: str, *, secret: bool = False) -> None:
        self.run("config", "set", key, value, *(["--secret"] if secret else ["--plaintext"]))

    def config_rm(self, key: str) -> None:
        self.run("config", "rm", key)

    def export(self) -> dict:
        """`pulumi stack export`: the state as the CLI keeps it (secrets encrypted, never in plain text)."""
        return json.loads(self.run("stack", "export").stdout)

    def resources(self, type_: str | None = None) -> list[dict]:
        found = self.export()["deployment"].get("resources") or []
        return [r for r in found if type_ is None or r["type"] == type_]

    def outputs(self) -> dict:
        return json.loads(self.run("stack", "output", "--json", "--show-secrets").stdout)


def _runtime(settings: str) -> str:
    import yaml

    runtime = yaml.safe_load(settings)["runtime"]
    return runtime["name"] if isinstance(runtime, dict) else runtime


def _json(stdout: str, args: tuple[str, ...] | list[str]) -> tuple[dict, list[dict]]:
    """`--json` output: one document (the plan, or a command's answer), then for an update one event per line."""
    if "--json" not in args or not stdout.strip():
        return {}, []
    try:
        parsed, end = json.JSONDecoder().raw_decode(stdout.lstrip())
    except ValueError:
        return {}, []
    events = [json.loads(line) for line in stdout.lstrip()[end:].splitlines() if line.strip().startswith("{")]
    return (parsed if isinstance(parsed, dict) else {"value": parsed}), events


# ---------------------------------------------------------------- the program server (a child process)

def _serve(project_dir: str) -> None:
    """Serve `<project_dir>/__main__.py` to the CLI and print the port; the CLI runs it through `Run`."""
    from concurrent import futures

    import grpc
    from pulumi.automation._server import LanguageServer  # the Automation API's inline-program server
    from pulumi.runtime.proto import language_pb2_grpc

    main = Path(project_dir) / "__main__.py"
    sys.path.insert(0, project_dir)  # the program's own modules, as the language host puts them

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageServer(program), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    server.wait_for_termination()


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"] and len(sys.argv) == 3:
        _serve(sys.argv[2])
    else:
        sys.exit("usage: python -m pulumi_pcimage.testing.cli serve <project-dir>")
