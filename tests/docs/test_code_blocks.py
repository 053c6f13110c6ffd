"""Every code block of README.md and docs/ is run or checked, so none can rot:

- Python: a block with `def test_` runs as a user's test file (pytest in a subprocess, its tests must pass; the one
  that needs the Pulumi CLI runs in the cli tier, tests/cli/test_doc_blocks.py); any other block is a program, run
  against an emulator through the SDK's real provider host (create, then destroy, nothing left behind);
- shell: every command exists (a program on PATH, a script or module of the repository), and its options are the
  ones the command accepts (the emulator's parser, pytest's tiers, the Pulumi CLI's help when it is installed);
  the emulator's command-line block runs as shown;
- TypeScript and Go: compiled against the SDKs by scripts/check_sdks.sh (here: that it reads these pages);
- YAML, JSON: parsed; docs/_index.md's example per language is the example program it names, verbatim.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pulumi_pcimage import __version__
from pulumi_pcimage.emulator import __main__ as emulator_cli
from pulumi_pcimage.testing import ProviderHost, destroy_program, run_program

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = ROOT / "examples"
CHECKED = {"python", "bash", "typescript", "go", "yaml", "json"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
VERSION = __version__  # the one version source (pyproject reads it too)

pytest_plugins = ["pytester"]


def blocks(language: str) -> list[tuple[str, str]]:
    """(page, code) of every block of that language, in page order."""
    return [(page.relative_to(ROOT).as_posix(), code) for page in PAGES
            for lang, code in FENCE.findall(page.read_text()) if lang == language]


def _id(item: tuple[str, str]) -> str:
    page, code = item
    return f"{page}:{code.strip().splitlines()[0][:40]}"


PYTHON = blocks("python")
PROGRAMS = [b for b in PYTHON if "def test_" not in b[1]]
USER_TESTS = [b for b in PYTHON if "def test_" in b[1] and "CliStack(" not in b[1]]


def test_every_block_is_of_a_language_a_check_covers():
    for page in PAGES:
        for language, code in FENCE.findall(page.read_text()):
            assert language in CHECKED, f"{page.name}: a block of language {language!r}: {code[:60]!r}"
    assert len(PROGRAMS) >= 3 and len(USER_TESTS) >= 3 and blocks("bash") and blocks("yaml") and blocks("json")


def test_heading_links_land_on_headings():
    def slug(heading: str) -> str:  # GitHub's anchors
        return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

    anchors = {page: {slug(h) for h in re.findall(r"^#+ (.*)$", page.read_text(), re.MULTILINE)} for page in PAGES}
    for page in PAGES:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)#([\w-]+)\)", page.read_text()):
            if target.startswith("http"):
                continue
            linked = (page.parent / target).resolve() if target else page
            assert anchor in anchors.get(linked, set()), f"{page.name} links to a missing heading {target}#{anchor}"


# ---------------------------------------------------------------- Python


@pytest.mark.parametrize("block", PROGRAMS, ids=_id)
def test_each_program_block_runs_against_the_emulator(block, pcluster_emulator, tmp_path):
    page, code = block
    (tmp_path / "__main__.py").write_text(code)
    (tmp_path / "Pulumi.yaml").write_text("name: docs\nruntime: python\n")
    with ProviderHost(env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "PCIMAGE_POLL_SCALE": "0.02"}) as host:
        run = run_program(tmp_path, host)
        assert run.outputs, f"{page}: the program exports nothing"
        for name, value in run.outputs.items():
            if name.endswith("ami_id"):
                assert value.startswith("ami-"), (page, name, value)
        destroy_program(run, host)
    assert pcluster_emulator.images() == []


def _project(folder: Path, name: str) -> None:
    """The quickstart as a project of another name: the `infra` the testing snippets run."""
    folder.mkdir()
    shutil.copy(EXAMPLES / "quickstart" / "__main__.py", folder / "__main__.py")
    (folder / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")


@pytest.mark.parametrize("block", USER_TESTS, ids=_id)
def test_each_user_test_block_passes_as_a_users_test_file(block, pytester):
    page, code = block
    _project(pytester.path / "infra", "infra")
    pytester.makepyfile(test_user=code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=len(re.findall(r"^def test_", code, re.MULTILINE)))


# ---------------------------------------------------------------- shell


def _substitutions(line: str) -> tuple[str, list[str]]:
    """The line with each `$(...)` replaced by a word, and the commands inside them."""
    inner, out, i = [], "", 0
    while (start := line.find("$(", i)) >= 0:
        depth, end = 0, start + 1
        for end in range(start + 1, len(line)):
            depth += {"(": 1, ")": -1}.get(line[end], 0)
            if depth == 0:
                break
        inner.append(line[start + 2:end])
        out += line[i:start] + "SUBSTITUTED"
        i = end + 1
    return out + line[i:], inner


def _commands(code: str) -> list[list[str]]:
    """Each simple command of a shell block as words (those of `$(...)` too), comments and environment assignments
    left out."""
    commands, lines = [], code.splitlines()
    while lines:
        line = re.sub(r"\s+#\s.*$", "", lines.pop(0)).strip()
        line, inner = _substitutions(line)
        lines[:0] = inner
        if not line:
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token.strip(";&|"):
                words.append(token)
                continue
            while words and re.match(r"^[A-Z_]+=", words[0]):
                words.pop(0)
            if words:
                commands.append(words)
            words = []
    return commands


SHELL_WORDS = {"export", "cd", "until", "do", "done", "sleep", "kill", "mkdir", "[", "while", "cat"}
PROGRAMS_ON_PATH = {"curl", "npm", "go"}  # used as any installation has them; flags: their own documentation


def _pulumi_flags(words: list[str]) -> None:
    """`pulumi <command> [<subcommand>] --flag ...`: the CLI's help lists the command and each flag."""
    pulumi = os.environ.get("PCIMAGE_PULUMI") or shutil.which("pulumi")
    known = {"stack", "up", "preview", "refresh", "destroy", "import", "config", "package", "login", "plugin",
             "install", "state"}
    assert words[1] in known, words
    if not pulumi:
        return
    command = [w for w in words[1:3] if not w.startswith("-") and w.isalpha()]
    if words[1] not in ("stack", "config", "package", "state", "plugin"):
        command = command[:1]
    out = subprocess.run([pulumi, *command, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, (words, out.stderr)
    for flag in (w.split("=")[0] for w in words if w.startswith("--")):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", out.stdout), f"pulumi {command}: no {flag}"


def _check(words: list[str], page: str) -> None:
    name = words[0]
    if name in SHELL_WORDS or name.startswith("$"):
        return
    if name in ("python", "python3"):
        if words[1:3] and words[1] == "-c":
            assert subprocess.run([sys.executable, "-c", words[2]], capture_output=True).returncode == 0, words
        elif words[1] == "-m":
            module = words[2]
            assert importlib.util.find_spec(module), f"{page}: no module {module}"
            if module == "pytest" and "-m" in words[3:]:
                tiers = set(re.findall(r'": "(\w+)"', (ROOT / "tests" / "conftest.py").read_text()))
                assert set(re.findall(r"\w+", words[words.index("-m", 3) + 1])) <= tiers, words
            for word in words[3:]:
                if word.startswith(("requirements/", "tests/", "dist/")) or word.endswith(".whl"):
                    path = word.split("=")[0]
                    if path.endswith(".whl"):
                        assert f"pulumi_pcimage-{VERSION}-" in path, f"{page}: {path} is not version {VERSION}'s"
                    else:
                        assert (ROOT / path).exists(), f"{page}: {path} does not exist"
        else:
            assert (ROOT / words[1]).is_file(), f"{page}: {words[1]} does not exist"
    elif name == "bash":
        assert (ROOT / words[1]).is_file(), f"{page}: {words[1]} does not exist"
    elif name == "pcimage-emulator":
        options = {o for action in emulator_cli.parser()._actions for o in action.option_strings}
        assert {w for w in words if w.startswith("--")} <= options, words
    elif name == "pulumi":
        _pulumi_flags(words)
    else:
        assert name in PROGRAMS_ON_PATH, f"{page}: unknown command {name!r}"


@pytest.mark.parametrize("block", blocks("bash"), ids=_id)
def test_each_shell_command_exists_and_takes_its_options(block):
    page, code = block
    commands = _commands(code)
    assert commands
    for words in commands:
        _check(words, page)


def test_the_emulator_block_runs_as_shown(tmp_path):
    code = next(code for page, code in blocks("bash") if page == "docs/emulator.md" and "--port-file" in code)
    env = dict(os.environ)
    if not shutil.which("pcimage-emulator"):  # installed by `pip install`; a checkout on PYTHONPATH has none
        shim = tmp_path / "bin" / "pcimage-emulator"
        shim.parent.mkdir()
        shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m pulumi_pcimage.emulator \"$@\"\n")
        shim.chmod(0o755)
        env["PATH"] = f"{shim.parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(["bash", "-euc", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"images": []}


# ---------------------------------------------------------------- the other languages


def test_the_typescript_and_go_blocks_are_compiled_by_check_sdks():
    script = (ROOT / "scripts" / "check_sdks.sh").read_text()
    assert 'root / "README.md", *sorted((root / "docs").rglob("*.md"))' in script
    assert blocks("typescript") and blocks("go")


def test_each_yaml_and_json_block_parses():
    for page, code in blocks("yaml"):
        assert isinstance(yaml.safe_load(code), dict), page
    for _page, code in blocks("json"):
        json.loads(code)


def test_the_overview_shows_each_example_program_verbatim():
    text = (ROOT / "docs" / "_index.md").read_text()
    shown = {language: code for language, code in FENCE.findall(text)}
    assert shown["python"] == (EXAMPLES / "quickstart" / "__main__.py").read_text()
    assert shown["typescript"] == (EXAMPLES / "typescript" / "index.ts").read_text()
    assert shown["yaml"] == (EXAMPLES / "yaml" / "Pulumi.yaml").read_text()
    # Go: program.go with main.go's main in one file, as check_sdks.sh compiles a block
    main = "\n\nfunc main() {\n\tpulumi.Run(program)\n}\n"
    assert "pulumi.Run(program)" in (EXAMPLES / "go" / "main.go").read_text()
    assert shown["go"] == (EXAMPLES / "go" / "program.go").read_text().rstrip("\n") + main
