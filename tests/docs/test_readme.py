"""README.md and docs/ against the code: the generated reference table, and every setting, option, route and name
they must mention, each checked on the page where it lives (README.md is the front door; the reference sections are
in docs/). A test here fails when the code grows something the documentation does not tell users about. The code
blocks themselves are run or checked by test_code_blocks.py."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest
import yaml

import pulumi_pcimage
from pulumi_pcimage import endpoint, functions, queries
from pulumi_pcimage.emulator import __main__ as emulator_cli
from pulumi_pcimage.fields import reference_table_markdown

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
PAGES = {"README.md": README, **{f"docs/{p.name}": p.read_text() for p in sorted(DOCS.glob("*.md"))}}
ALL_PAGES = "\n".join(PAGES.values())
CONFIGURATION = PAGES["docs/installation-configuration.md"]
PACKAGE = Path(pulumi_pcimage.__file__).parent
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
# Read by the code but not settings of the package: passed through to the provider host it starts.
PASSED_THROUGH = {"PYTHONPATH"}

def section(title: str, page: str = "README.md") -> str:
    """The body of the `## title` (or `### title`) section of a page, up to the next heading of the same or a higher
    level."""
    heading = re.search(rf"^(#+) {re.escape(title)}\n", PAGES[page], re.MULTILINE)
    assert heading, f"{page} has no section {title!r}"
    rest = PAGES[page][heading.end():]
    end = re.search(rf"^#{{1,{len(heading.group(1))}}} ", rest, re.MULTILINE)
    return rest[:end.start()] if end else rest


def code_blocks(text: str, language: str = r"\w*") -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def mentioned(name: str, text: str = ALL_PAGES) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


# ---------------------------------------------------------------- the generated table


def test_the_field_table_is_the_one_generated_from_the_field_declarations():
    between = re.search(r"<!-- fields:start -->\n(.*?)<!-- fields:end -->", section("CustomImage", "docs/reference.md"),
                        re.DOTALL)
    assert between, "docs/reference.md, CustomImage, lacks the <!-- fields:start --> / <!-- fields:end --> markers"
    assert between.group(1) == reference_table_markdown(), (
        "docs/reference.md's CustomImage table differs from pulumi_pcimage.fields: paste reference_table_markdown() "
        "between the markers")


# ---------------------------------------------------------------- set-up


def test_set_up_is_the_install_prerequisite_then_the_two_commands():
    install, commands = code_blocks(section("Set-up"))
    assert install.strip() == ("python -m pip install -r requirements/dev.txt && "
                               "python -m pip install --no-deps -e . aws-parallelcluster==3.16.1")
    assert [line.split("#")[0].strip() for line in commands.strip().splitlines()] == [
        "python examples/quickstart/run_local.py", "python -m pytest"]


# ---------------------------------------------------------------- what the code reads


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text())) for path in sorted(PACKAGE.rglob("*.py"))]


def _constants(tree: ast.Module) -> dict[str, str]:
    return {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            for target in node.targets if isinstance(target, ast.Name)}


def environment_variables() -> set[str]:
    """Names passed to `<something environ>.get(...)` / `os.getenv(...)` anywhere in the package (WSGI aside)."""
    found = set()
    for _, tree in _modules():
        constants = _constants(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
                continue
            receiver = ast.unparse(node.func.value)
            reads_env = (node.func.attr == "get" and re.search(r"\benv(iron)?\b", receiver)
                         and "request" not in receiver) or ast.unparse(node.func) == "os.getenv"
            arg = node.args[0]
            name = arg.value if isinstance(arg, ast.Constant) else constants.get(getattr(arg, "id", None))
            if reads_env and isinstance(name, str):
                found.add(name)
    return found - PASSED_THROUGH


def config_keys() -> set[str]:
    """`ns:key` for every `pulumi.Config("ns").get/require("key")`, and the endpoint's `pcimage:` settings."""
    found = {f"{endpoint.NAMESPACE}:{value}" for name, value in vars(endpoint).items() if name.startswith("CONFIG_")}
    for _, tree in _modules():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr.startswith(("get", "require")) and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.func.value, ast.Call)
                    and ast.unparse(node.func.value.func) == "pulumi.Config" and node.func.value.args
                    and isinstance(node.func.value.args[0], ast.Constant)):
                found.add(f"{node.func.value.args[0].value}:{node.args[0].value}")
    return found


def test_the_scan_finds_what_the_code_is_known_to_read():
    # guards the scanners themselves: they must see these, or the next two tests prove nothing
    assert {"PCLUSTER_API_URL", "PCLUSTER_API_STACK_NAME", "AWS_REGION", "PCIMAGE_POLL_SCALE"} <= \
        environment_variables()
    assert {"pcimage:apiUrl", "pcimage:apiStackName", "pcimage:apiStackRegion", "aws:region"} <= config_keys()


@pytest.mark.parametrize("name", sorted(environment_variables()))
def test_every_environment_variable_the_code_reads_is_documented(name):
    assert mentioned(name), f"neither README.md nor docs/ mentions the environment variable {name}"


@pytest.mark.parametrize("key", sorted(config_keys()))
def test_every_stack_config_key_the_code_reads_is_documented(key):
    assert mentioned(key, CONFIGURATION), f"docs/installation-configuration.md does not mention the config key {key}"


def test_credentials_and_permissions_are_documented():
    for needed in ("execute-api:Invoke", "aws_profile", "role_arn", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
                   "ParallelClusterApiInvokeUrl", "sts:AssumeRole", "cloudformation:DescribeStacks"):
        assert mentioned(needed, CONFIGURATION), needed


# ---------------------------------------------------------------- functions


def test_every_function_result_and_result_field_is_documented():
    doc = section("Functions", "docs/reference.md")
    public = [name for name in pulumi_pcimage.__all__  # the results are the queries', which both faces share
              if getattr(getattr(pulumi_pcimage, name), "__module__", None) in (functions.__name__, queries.__name__)]
    assert len(public) == 9
    for name in public:
        assert re.search(rf"\b{name}\b", doc), f"the Functions section does not mention {name}"
    for result in (functions.OfficialImage, functions.ImageSummary, functions.ImageInfo):
        for f in dataclasses.fields(result):
            assert f"`{f.name}`" in doc, f"the Functions section does not mention {result.__name__}.{f.name}"
    for allowed in (*functions.SUPPORTED_OSES, *functions.SUPPORTED_ARCHITECTURES, *functions.IMAGE_STATUSES):
        assert f"`{allowed}`" in doc, allowed


# ---------------------------------------------------------------- emulator


def test_every_emulator_option_is_documented():
    options = [o for action in emulator_cli.parser()._actions for o in action.option_strings
               if o.startswith("--") and o != "--help"]
    assert "--port-file" in options
    table = section("Command line", "docs/emulator.md")
    missing = [o for o in options if not re.search(rf"`{o}`", table)]
    assert not missing, f"docs/emulator.md's options table lacks {missing}"


def test_every_control_route_is_documented():
    source = (PACKAGE / "emulator" / "app.py").read_text()
    routes = {(method, re.sub(r"<[^>]*>", "{}", path))
              for path, method in re.findall(r'Rule\("(/_emulator/[^"]*)", methods=\["(\w+)"\]', source)}
    assert len(routes) >= 10
    documented = {(method, re.sub(r"\{[^}]*\}", "{}", path))
                  for method, path in re.findall(r"`(GET|POST|PUT|DELETE) (/_emulator/[^`]*)`",
                                                 section("Control routes", "docs/emulator.md"))}
    assert not routes - documented, f"docs/emulator.md's control routes lack {sorted(routes - documented)}"


def test_the_user_test_snippets_are_where_users_look_for_them():
    # test_code_blocks.py runs every such block; these are the ones each section must keep
    assert "def test_" in code_blocks(section("In your own tests", "docs/emulator.md"), "python")[0]
    blocks = code_blocks(section("Testing programs without the Pulumi CLI", "docs/testing.md"), "python")
    assert "run_program(" in blocks[0] and "Stack(host)" in blocks[1]
    assert "CliStack(" in code_blocks(section("Testing programs under the real Pulumi CLI", "docs/testing.md"),
                                      "python")[0]


def test_every_python_block_is_valid_python():
    blocks = [block for text in PAGES.values() for block in code_blocks(text, "python")]
    # README's sample, one per doc page's program, the testing snippets: pages that lost their samples must not pass.
    assert len(blocks) >= 7, f"README.md and docs/ have {len(blocks)} python code blocks"
    for block in blocks:
        ast.parse(block)


# ---------------------------------------------------------------- examples


def runtime(example: Path) -> str:
    return yaml.safe_load((example / "Pulumi.yaml").read_text())["runtime"]


# What each runtime's project holds besides Pulumi.yaml and README.md: a Pulumi YAML program is all in its
# Pulumi.yaml; a Python one has its code and requirements; TypeScript and Go their code and pinned dependencies.
PROJECT_FILES = {"yaml": (), "python": ("__main__.py", "requirements.txt"),
                 "nodejs": ("index.ts", "tsconfig.json", "package.json", "package-lock.json"),
                 "go": ("main.go", "program.go", "go.mod", "go.sum")}


def test_examples_are_complete_projects_and_linked():
    assert [p.name for p in EXAMPLES] == ["cluster-config", "go", "multi-arch", "python-package", "quickstart",
                                          "typescript", "yaml"]
    for example in EXAMPLES:
        for file in ("Pulumi.yaml", "README.md", *PROJECT_FILES[runtime(example)]):
            assert (example / file).is_file(), f"{example.name} lacks {file}"
        assert f"](examples/{example.name}/)" in README


def example_config_keys(example: Path) -> set[str]:
    """The stack config keys an example reads, without its project prefix."""
    if runtime(example) != "python":  # declared in Pulumi.yaml
        return {key.split(":", 1)[-1] for key in yaml.safe_load((example / "Pulumi.yaml").read_text())["config"]}
    tree = ast.parse((example / "__main__.py").read_text())
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and ast.unparse(node.func.value) == "config" and node.func.attr in ("get", "require") and node.args}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_setting_is_in_its_readme(example):
    keys = example_config_keys(example)
    text = (example / "README.md").read_text()
    project = re.search(r"^name: (\S+)", (example / "Pulumi.yaml").read_text(), re.MULTILINE).group(1)
    assert project == example.name and keys
    for key in keys:
        assert f"`{project}:{key}`" in text, f"{example.name}/README.md does not document {project}:{key}"


def test_relative_links_point_at_files_that_exist():
    for readme in [ROOT / "README.md", *sorted(DOCS.glob("*.md")), *(e / "README.md" for e in EXAMPLES)]:
        for target in re.findall(r"\]\((?!https?://)([^)#]+)", readme.read_text()):
            assert (readme.parent / target).exists(), f"{readme.relative_to(ROOT)} links to missing {target}"


def test_every_module_is_placed_in_the_map_of_where_things_live():
    placed = section("Where things live", "docs/development.md")
    modules = {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    packages = {f"{p.name}/" for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert [name for name in sorted(modules | packages) if f"`{name}`" not in placed] == []
