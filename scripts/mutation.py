"""Mutation testing of the core modules against the fast tests (tests/unit, tests/client; see TEST_DIRS).

    python scripts/mutation.py                   # every core module, 2 workers
    python scripts/mutation.py waiter lifecycle  # some modules (package.server: pulumi_pcimage/package/server.py;
                                                 # a package, lifecycle: each of its modules)
    python scripts/mutation.py --list-survivors  # print every surviving mutant, accepted ones too

Each mutant is one small change to one module (a flipped comparison, a changed constant, a swapped operator,
`and`/`or`, `min`/`max`, a removed statement / return value / raise, swapped if/else bodies, an exception
handler replaced by a re-raise); docstrings, log calls, annotations, imports, `...` stub bodies and f-string
texts are left alone.
A mutant is killed when a test fails (or the run exceeds its time limit: a hang is caught too).

Only the tests that execute the mutated lines run (a coverage pass records which test runs which line; lines run at
import time get every test), with `-x`, in a forked child of a worker that imported the heavy libraries once, in
a temporary copy of the repository: the working tree is never edited. Survivors listed with a reason in
tests/MUTANTS.md are accepted (equivalent or harmless) and reported apart from the unexplained ones.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ["config", "fields", "identity", "endpoint", "client", "retry", "signing", "presigned", "waiter",
           "lifecycle.core", "lifecycle.checking", "lifecycle.building", "lifecycle.deleting", "lifecycle.messages",
           "lifecycle.base", "lifecycle.state", "lifecycle.values", "redact", "walk", "provider", "package.server",
           "package.schema", "queries", "functions"]
# The fast tests: tests/unit, tests/client, the files of tests/security that need no host and no moto (YAML limits,
# redaction, the presigned fetch, redirects: seconds), tests/functions (the functions against the emulator, in a
# program: seconds) and docs/reference.md's field table; the rest is slow.
TEST_DIRS = ["tests/unit", "tests/client", "tests/functions", "tests/security/test_yaml_limits.py",
             "tests/security/test_redaction.py",
             "tests/security/test_presigned_fetch.py", "tests/security/test_redirects.py",
             "tests/docs/test_readme.py::test_the_field_table_is_the_one_generated_from_the_field_declarations"]
ACCEPTED_FILE = ROOT / "tests" / "MUTANTS.md"
TARGET = 0.90
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}
LOGGERS = {"log", "logger", "logging"}
COMPARE_FLIP = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE,
                ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BINOP_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult}
SKIP_FIELDS = {"annotation", "returns", "decorator_list", "type_comment"}
DOC_KEYWORDS = {"description", "doc_type"}  # documentation text (tests/docs holds it to docs/reference.md)
# Only the plugins the fast folders use, named (PYTEST_DISABLE_PLUGIN_AUTOLOAD in the workers): scanning and loading
# every installed plugin cost about a second per mutant.
PYTEST_ARGS = ["-q", "-p", "no:cacheprovider", "-p", "pytest_timeout", "-p", "_hypothesis_pytestplugin",
               "-p", "pulumi_pcimage.emulator.pytest_plugin",  # tests/functions' emulator fixtures
               "-o", "addopts=", "--timeout=60"]


def module_file(module: str) -> str:
    """`package.server` -> pulumi_pcimage/package/server.py (relative to the repository)."""
    return os.path.join("pulumi_pcimage", *module.split(".")) + ".py"


# ---------------------------------------------------------------- mutants

@dataclass
class Mutant:
    module: str
    index: int  # position of the node in the walk
    choice: int  # which mutation of that node
    lines: tuple[int, int]
    statement: tuple[int, int]  # the enclosing statement's lines: coverage names a multi-line one by its first
    key: str  # stable name: module, enclosing function, what changed (no line numbers: they move)

    @property
    def function(self) -> str:
        return self.key.split(": ")[0]  # "module:qualified.name"


def _is_log_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
    return node.func.attr in LOG_METHODS and name in LOGGERS


def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            and isinstance(parent, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and parent.body and parent.body[0] is node)


def _walk(tree: ast.AST):
    """(node, parent, qualname, statement) in a fixed order, skipping what is never mutated."""
    def visit(node, parent, qual, statement=None):
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.JoinedStr)) or _is_docstring(node, parent):
            return
        if isinstance(node, ast.Expr) and _is_log_call(node.value) or _is_log_call(node):
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node.value.value is Ellipsis:
            return  # a stub's body (a Protocol's method): never run, so removing it cannot be told apart
        if isinstance(node, ast.keyword) and node.arg in DOC_KEYWORDS:
            return
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
            return  # a type
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qual = f"{qual}.{node.name}" if qual else node.name
        statement = node if isinstance(node, ast.stmt) else statement
        yield node, parent, qual, statement
        for name, value in ast.iter_fields(node):
            if name in SKIP_FIELDS:
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    yield from visit(child, node, qual, statement)
    yield from visit(tree, None, "")


def _short(node: ast.AST, limit: int = 70) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _mutations(node: ast.AST, parent: ast.AST | None) -> list[tuple[str, callable]]:
    """(description, apply) for each mutation of `node`; apply(node, parent) edits the tree in place."""
    out: list = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE_FLIP:
                def flip(n, p, i=i):
                    n.ops[i] = COMPARE_FLIP[type(n.ops[i])]()
                out.append(("flip comparison", flip))
    elif isinstance(node, ast.BoolOp):
        out.append(("and/or", lambda n, p: setattr(n, "op", ast.Or() if isinstance(n.op, ast.And) else ast.And())))
    elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAP:
        out.append(("swap operator", lambda n, p: setattr(n, "op", BINOP_SWAP[type(n.op)]())))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        out.append(("drop unary", lambda n, p: _replace(p, n, n.operand)))
    elif isinstance(node, ast.Constant) and not isinstance(parent, ast.JoinedStr):
        value = node.value
        if isinstance(value, bool):
            out.append(("change constant", lambda n, p: setattr(n, "value", not n.value)))
        elif isinstance(value, int):
            out.append(("change constant", lambda n, p: setattr(n, "value", n.value + 1)))
        elif isinstance(value, float):
            out.append(("change constant", lambda n, p: setattr(n, "value", n.value * 2 if n.value else 1.0)))
        elif isinstance(value, str):
            out.append(("change constant", lambda n, p: setattr(n, "value", f"XX{n.value}XX")))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
        out.append(("min/max", lambda n, p: setattr(n.func, "id", "max" if n.func.id == "min" else "min")))
    elif isinstance(node, ast.IfExp):
        out.append(("swap branches", _swap))
    elif isinstance(node, ast.If) and node.orelse:
        out.append(("swap if/else", _swap))
    elif isinstance(node, ast.ExceptHandler):
        out.append(("handler re-raises", lambda n, p: setattr(n, "body", [ast.Raise()])))
    if isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        out.append(("return None", lambda n, p: setattr(n, "value", None)))
    elif isinstance(node, (ast.Expr, ast.Assign, ast.AugAssign, ast.Raise, ast.Continue, ast.Break, ast.Delete)) \
            or isinstance(node, ast.AnnAssign) and node.value is not None and not isinstance(parent, ast.ClassDef):
        if not (isinstance(node, ast.Assign) and isinstance(parent, (ast.Module, ast.ClassDef))):  # names needed
            out.append(("remove statement", lambda n, p: _replace(p, n, ast.Pass())))
    return out


def _swap(node: ast.AST, parent: ast.AST) -> None:
    node.body, node.orelse = node.orelse, node.body


def _replace(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for name, value in ast.iter_fields(parent):
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return
        elif value is old:
            setattr(parent, name, new)
            return
    raise AssertionError("node not found in its parent")


def mutants_of(module: str, source: str) -> list[Mutant]:
    result, seen = [], {}
    for index, (node, parent, qual, statement) in enumerate(_walk(ast.parse(source))):
        for choice, (what, _) in enumerate(_mutations(node, parent)):
            label = f"{module}:{qual or '<module>'}: {what}: {_short(node)}"
            seen[label] = seen.get(label, 0) + 1
            key = label if seen[label] == 1 else f"{label} (#{seen[label]})"
            around = statement or node
            result.append(Mutant(module, index, choice, (node.lineno, node.end_lineno or node.lineno),
                                 (around.lineno, around.end_lineno or around.lineno), key))
    return result


def mutated_source(source: str, mutant: Mutant) -> str:
    tree = ast.parse(source)
    for index, (node, parent, _, _) in enumerate(_walk(tree)):
        if index == mutant.index:
            _mutations(node, parent)[mutant.choice][1](node, parent)
            return ast.unparse(ast.fix_missing_locations(tree))
    raise AssertionError(f"mutant {mutant.key} not found")


# ---------------------------------------------------------------- worker: a fork server in a copy of the repo

def serve(workdir: str) -> None:
    """Read jobs (JSON lines) from stdin; run each in a forked child; answer one JSON line each."""
    os.chdir(workdir)
    sys.path.insert(0, workdir)
    sys.dont_write_bytecode = True
    import pytest  # noqa: F401  (heavy imports once, before any fork)
    for heavy in ("pulumi", "pulumi.dynamic", "grpc", "boto3", "botocore.session", "requests", "werkzeug",
                  "yaml", "hypothesis", "requests_aws4auth", "moto"):
        try:
            __import__(heavy)
        except ImportError:
            pass
    def stop(*_):
        try:
            if CURRENT:
                os.killpg(CURRENT[0], signal.SIGKILL)
        except ProcessLookupError:  # it had just ended
            pass
        os._exit(1)

    signal.signal(signal.SIGTERM, stop)
    for line in sys.stdin:
        job = json.loads(line)
        path = Path(workdir, module_file(job["module"])) if job.get("module") else None
        original = path.read_text() if path else None
        if path:
            path.write_text(job["source"])
        try:
            answer = _run_child(job)
        finally:
            if path:
                path.write_text(original)
        print(json.dumps(answer), flush=True)


CURRENT: list[int] = []  # the forked child running now (killed with the worker)


def _run_child(job: dict) -> dict:
    out_file = tempfile.mktemp(prefix="mutation-", suffix=".json")
    pid = os.fork()
    if pid == 0:  # child
        code = 3
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1), os.dup2(devnull, 2)
            code = _child(job, out_file)
        finally:
            os._exit(code)
    CURRENT[:] = [pid]
    deadline = time.monotonic() + job["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"code": None, "timeout": True}
        time.sleep(0.02)
    data = None
    if os.path.exists(out_file):
        data = json.loads(Path(out_file).read_text())
        os.unlink(out_file)
    return {"code": code, "timeout": False, "data": data}


def _child(job: dict, out_file: str) -> int:
    import pytest

    args = ["-x", *PYTEST_ARGS, *job["tests"]]
    if job.get("coverage"):
        return _coverage_child(args, out_file)

    class ExitAtOnce:  # the verdict is known: skip pytest's teardown (its garbage collections cost ~0.3 s a mutant)
        def pytest_runtest_logreport(self, report):
            if report.failed:  # the test that caught the mutant: the driver tries it first on the next ones
                Path(out_file).write_text(json.dumps({"failed": report.nodeid}))

        @pytest.hookimpl(trylast=True)
        def pytest_sessionfinish(self, session, exitstatus):
            os._exit(int(exitstatus))

    return pytest.main(args, plugins=[ExitAtOnce()])


def _coverage_child(args: list[str], out_file: str) -> int:
    import coverage
    import pytest

    cov = coverage.Coverage(include=[os.path.join(os.getcwd(), module_file(name)) for name in MODULES],
                            data_file=None, branch=False)

    durations: dict[str, float] = {}

    class SwitchContext:
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item):
            cov.switch_context(item.nodeid)
            yield
            cov.switch_context("")

        def pytest_runtest_logreport(self, report):
            durations[report.nodeid] = durations.get(report.nodeid, 0.0) + report.duration

        def pytest_sessionfinish(self, session):
            self.durations = None

    cov.start()
    started = time.monotonic()
    code = pytest.main([a for a in args if a != "-x"], plugins=[SwitchContext()])
    elapsed = time.monotonic() - started
    cov.stop()
    data = cov.get_data()
    result = {}
    for name in MODULES:
        path = os.path.join(os.getcwd(), module_file(name))
        by_line = data.contexts_by_lineno(path) if path in data.measured_files() else {}
        result[name] = {str(line): sorted(ctx) for line, ctx in by_line.items()}
    Path(out_file).write_text(json.dumps({"lines": result, "elapsed": elapsed, "durations": durations}))
    return int(code)


class Worker:
    def __init__(self, base: Path, number: int):
        self.dir = Path(tempfile.mkdtemp(prefix=f"pcimage-mutation-{number}-"))
        shutil.copytree(base, self.dir, dirs_exist_ok=True)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(self.dir),
               "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(self.dir)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=self.dir)
        self.lock = threading.Lock()

    def run(self, job: dict) -> dict:
        with self.lock:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- driver

def accepted_keys() -> dict[str, str]:
    """`- `key` — why` lines of tests/MUTANTS.md."""
    if not ACCEPTED_FILE.exists():
        return {}
    found = {}
    for line in ACCEPTED_FILE.read_text().splitlines():
        match = re.match(r"^- `(.+?)`\s*[—-]+\s*(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", default=MODULES, help=f"modules of pulumi_pcimage ({', '.join(MODULES)})")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--list-survivors", action="store_true", help="list accepted survivors too")
    parser.add_argument("--sample", type=float, default=1.0, metavar="FRACTION",
                        help="score a fixed pseudo-random share of each module's mutants (e.g. 0.3): a quick look")
    parser.add_argument("--verbose", action="store_true", help="print each mutant's verdict as it comes")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # through the finally below: workers stopped
    if options.serve:
        serve(options.serve)
        return 0
    # a package names its modules: `lifecycle` is lifecycle.core, lifecycle.checking, ...
    options.modules = [m for name in options.modules for m in MODULES if m == name or m.startswith(name + ".")] + [
        name for name in options.modules if not any(m == name or m.startswith(name + ".") for m in MODULES)]
    unknown = sorted(set(options.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module(s) {unknown}; choose from {MODULES}")

    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="pcimage-mutation-base-"))
    shutil.copytree(ROOT, base, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".git", "__pycache__", ".hypothesis", ".pytest_cache", "*.pyc",
                                                  "node_modules"))  # examples/typescript: the fast tests need none
    workers = [Worker(base, n) for n in range(max(1, options.workers))]
    try:
        baseline = workers[0].run({"tests": TEST_DIRS, "coverage": True, "timeout": 1800})
        if baseline["code"] != 0 or not baseline.get("data"):
            print(f"the fast tests fail without any mutant (exit {baseline['code']}); fix them first", file=sys.stderr)
            return 2
        lines, elapsed = baseline["data"]["lines"], baseline["data"]["elapsed"]
        durations: dict[str, float] = baseline["data"]["durations"]
        importers = test_files_importing(options.modules)
        for path in {f for files in importers.values() for f in files}:  # a whole file costs all its tests
            durations[path] = sum(d for test, d in list(durations.items()) if test.startswith(path + "::"))
        print(f"baseline: {' '.join(TEST_DIRS)} pass in {elapsed:.0f}s", flush=True)

        jobs = []
        for module in options.modules:
            source = (base / module_file(module)).read_text()
            for mutant in mutants_of(module, source):
                # The same mutants on every run: the choice depends only on the mutant's name.
                if options.sample >= 1 or zlib.crc32(mutant.key.encode()) % 1000 < options.sample * 1000:
                    jobs.append((mutant, source))
        results: dict[str, list[tuple[Mutant, str]]] = {m: [] for m in options.modules}
        catches: defaultdict[str, Counter[str]] = defaultdict(Counter)  # module or function -> test -> mutants caught
        free = list(workers)
        free_lock = threading.Condition()

        def run(item):
            mutant, source = item
            tests = _tests_for(mutant, lines[mutant.module], importers)
            if tests is None:
                return mutant, "not covered"
            # With -x a caught mutant ends at its first failure: first the tests that caught mutants of the same
            # function, then of the module, then the quickest. A hang is caught at three times what the selected
            # tests took in the baseline, plus pytest's start-up.
            here, module = catches[mutant.function], catches[mutant.module]
            tests.sort(key=lambda test: (-here[test], -module[test], durations.get(test, 0.0)))
            timeout = 3 * sum(durations.get(test, 1.0) for test in tests) + 20
            with free_lock:
                free_lock.wait_for(lambda: free)
                worker = free.pop()
            begun = time.monotonic()
            try:
                answer = worker.run({"module": mutant.module, "source": mutated_source(source, mutant),
                                     "tests": tests, "timeout": timeout})
            finally:
                with free_lock:
                    free.append(worker)
                    free_lock.notify()
            if options.verbose:
                print(f"    {time.monotonic() - begun:5.1f}s {len(tests):4} tests  {mutant.key}", flush=True)
            if answer["timeout"]:
                return mutant, "killed (timeout)"
            if answer["code"] not in (0, 1):  # 2+: interrupted, usage or collection error (e.g. a broken import)
                return mutant, f"killed (pytest exit {answer['code']})"
            caught_by = (answer.get("data") or {}).get("failed")
            if caught_by:
                catches[mutant.function][caught_by] += 1
                catches[mutant.module][caught_by] += 1
            return mutant, "survived" if answer["code"] == 0 else "killed"

        done = 0
        with ThreadPoolExecutor(len(workers)) as pool:
            for mutant, verdict in pool.map(run, jobs):
                results[mutant.module].append((mutant, verdict))
                done += 1
                if options.verbose:
                    print(f"  {verdict:<16} {mutant.key}", flush=True)
                if done % 50 == 0:
                    print(f"  {done}/{len(jobs)} mutants ({time.monotonic() - started:.0f}s)", flush=True)
    finally:
        for worker in workers:
            worker.close()
        shutil.rmtree(base, ignore_errors=True)
    return report(results, options.list_survivors, time.monotonic() - started)


def _tests_for(mutant: Mutant, by_line: dict[str, list[str]], importers: dict[str, list[str]]) -> list[str] | None:
    contexts = set()
    for first, last in (mutant.lines, mutant.statement):  # the node's own lines, else its statement's
        for line in range(first, last + 1):
            contexts.update(by_line.get(str(line), ()))
        if contexts:
            break
    if not contexts:
        return None
    if "" in contexts:  # run at import: every test that runs any of the module's code may notice, and so may
        # a test that only reads one of its values (the coverage pass sees no line of it run): the files that
        # import the module run whole
        contexts = {c for cs in by_line.values() for c in cs} | set(importers.get(mutant.module, ()))
    return sorted({c.split("|")[0] for c in contexts if c}) or None


def test_files_importing(modules: list[str]) -> dict[str, list[str]]:
    """module -> the fast test files that import it by name."""
    files = sorted({str(path.relative_to(ROOT)) for entry in TEST_DIRS if "::" not in entry
                    for path in ([ROOT / entry] if entry.endswith(".py") else (ROOT / entry).rglob("test_*.py"))})
    found: dict[str, list[str]] = {}
    for module in modules:
        dotted = module.replace("/", ".")
        name = dotted.rsplit(".", 1)[-1]
        pattern = re.compile(
            rf"pulumi_pcimage\.{re.escape(dotted)}\b|from pulumi_pcimage(\.\w+)* import [^\n]*\b{name}\b")
        if "." in dotted:  # a module of a package (lifecycle.core): its package re-exports it, so importing that counts
            parent = dotted.rsplit(".", 1)[0]
            pattern = re.compile(rf"{pattern.pattern}|pulumi_pcimage\.{re.escape(parent)}\b"
                                 rf"|from pulumi_pcimage import [^\n]*\b{parent.rsplit('.', 1)[-1]}\b")
        found[module] = [f for f in files if pattern.search((ROOT / f).read_text())]
    return found


def report(results: dict[str, list[tuple[Mutant, str]]], list_all: bool, elapsed: float) -> int:
    accepted = accepted_keys()
    failing = []
    print(f"\n{'module':<14} {'mutants':>7} {'killed':>7} {'score':>6}  accepted  unexplained")
    for module, items in results.items():
        killed = sum(1 for _, v in items if v.startswith("killed"))
        survivors = [(m, v) for m, v in items if not v.startswith("killed")]
        ok = [m for m, _ in survivors if m.key in accepted]
        score = killed / len(items) if items else 1.0
        print(f"{module:<14} {len(items):>7} {killed:>7} {score:>6.1%}  {len(ok):>8}  {len(survivors) - len(ok):>11}")
        if score < TARGET:
            failing.append(module)
        for mutant, verdict in survivors:
            if list_all or mutant.key not in accepted:
                mark = "accepted" if mutant.key in accepted else verdict
                print(f"    [{mark}] line {mutant.lines[0]}: `{mutant.key}`")
    stale = set(accepted) - {m.key for items in results.values() for m, v in items if not v.startswith("killed")}
    stale = {k for k in stale if k.split(":")[0] in results}
    for key in sorted(stale):
        print(f"  tests/MUTANTS.md lists `{key}`, which no longer survives: remove it")
    print(f"\n{sum(len(i) for i in results.values())} mutants in {elapsed:.0f}s; target {TARGET:.0%} per module"
          + (f"; below it: {', '.join(failing)}" if failing else ""))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
