"""Suite-wide settings: the property-test profile, each test's tier, fresh clients for the get_* functions."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

from pulumi_pcimage import functions

# In CI (CI=true) property tests explore a fixed sequence of examples; locally they explore new examples on every
# run, which is how they find bugs. Neither has a deadline: hypothesis's 200 ms per example is a timed assertion,
# and it failed examples on a loaded 2-core machine that were correct.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Every test belongs to exactly one tier, named by the longest entry below that holds its file. The bare
# `python -m pytest` runs the fast tier (`-m fast` in pyproject's addopts); `-m <tier>` selects another, and naming
# files or folders on the command line runs all of their tests. docs/development.md lists the tiers.
TIERS = {
    "tests/test_errors.py": "fast",
    "tests/unit": "fast",  # the lifecycle against a scripted API, on a simulated clock
    "tests/client": "fast",  # the client against a recording HTTP server on 127.0.0.1
    "tests/contract": "fast",  # the client's requests and answers against the released spec
    "tests/security": "fast",
    "tests/docs": "fast",  # README.md and docs/ against the code; every code block run or checked
    "tests/functions": "fast",  # the get_* functions against an in-process emulator
    "tests/engine": "engine",  # the SDK's real provider host, a process driven over gRPC
    "tests/package": "engine",  # the package's plugin, started as the engine starts it
    "tests/faces": "engine",  # the scenarios both faces share, once for each
    "tests/package/test_schema_quality.py": "fast",  # the schema as the generated SDKs show it
    "tests/package/test_sdks.py": "fast",  # sdk/ generated from the current schema
    "tests/harness": "engine",  # pulumi_pcimage.testing's host and program harness
    "tests/program": "engine",  # the example programs, end to end through the host
    "tests/emulator": "emulator",  # the emulator: models, spec, faults, restarts, its command line
    "tests/reliability": "reliability",  # the fault matrix: many lifecycles at once under faults, secrets, TLS
    "tests/reliability/test_bad_input.py": "property",  # 1,000 generated bad inputs through the host
    "tests/emulator/test_schemathesis.py": "property",  # the released spec, generated requests
    "tests/perf": "perf",
    "tests/conformance": "conformance",  # the emulator against AWS's own implementation (a virtualenv of its own)
    "tests/cli": "cli",  # the real Pulumi CLI (scripts/build_pulumi_cli.sh)
}
ROOT = Path(__file__).resolve().parent.parent


def _place(path: Path) -> str | None:
    """The path relative to the repository, as TIERS spells it (None outside it)."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return None


def tier_of(path: Path) -> str | None:
    """The tier of a test file: the longest TIERS entry that is the file or one of its folders."""
    place = _place(path)
    while place and place not in TIERS:
        place = place.rpartition("/")[0]
    return TIERS.get(place) if place else None


def pytest_configure(config: pytest.Config) -> None:
    # Files or folders named on the command line (and no -m there): all of their tests, whatever their tier.
    named_paths = config.args_source == pytest.Config.ArgsSource.ARGS
    own_marker_option = any(arg.startswith("-m") for arg in config.invocation_params.args)
    if named_paths and not own_marker_option:
        config.option.markexpr = ""


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With one tier selected (`-m fast`, `-m engine`), files and folders that hold none of its tests are not even
    imported (the fast tier saves the slow tiers' imports, seconds)."""
    selected, place = config.option.markexpr, _place(collection_path)
    if selected not in TIERS.values() or place is None:
        return None  # an expression, or all tiers: everything is collected and each test is marked
    inside = [tier for entry, tier in TIERS.items() if entry == place or entry.startswith(place + "/")]
    own = tier_of(collection_path)
    if (own is None and not inside) or own == selected or selected in inside:
        return None  # a file of no tier is collected, to be refused below
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(Path(item.path))
        if tier is None:
            raise pytest.UsageError(
                f"{item.path} belongs to no tier: add it or its folder to TIERS in tests/conftest.py")
        item.add_marker(tier)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if config.option.markexpr == "fast" and not config.option.collectonly:
        others = ", ".join(sorted(set(TIERS.values()) - {"fast"}))
        terminalreporter.write_line(f"the fast tier ran; the others ({others}) run with `python -m pytest -m <tier>` "
                                    "(docs/development.md)")


@pytest.fixture(autouse=True)
def fresh_function_clients() -> None:
    """The get_* functions' clients start afresh in every test (the lifecycle keeps nothing between tests: each
    provider owns its HostState). A client keeps the credentials it first read, keyed by URL: an emulator that
    reuses an earlier one's port would be signed for with that test's credentials (a test of a wrong secret then
    saw no 403)."""
    functions.forget_clients()
