"""The lock files hold what they are generated from: every requirement of the package and of its test extra is pinned
in requirements/dev.txt at a version pyproject.toml's range allows, and the conformance virtualenv's lock holds its
input's pins. A requirement added to pyproject.toml without refreshing the lock fails here, not as a missing import
on a fresh machine. (docs/development.md says how to refresh them.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DEV_LOCK = ROOT / "requirements" / "dev.txt"
AWS_INPUT = ROOT / "tests" / "conformance" / "requirements-aws.in"
AWS_LOCK = ROOT / "tests" / "conformance" / "requirements-aws.txt"


def requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def pins(path: Path) -> dict[str, str]:
    """name -> version for this interpreter (a universal lock pins some packages per Python version)."""
    found = {}
    for requirement in requirements(path):
        if requirement.marker is None or requirement.marker.evaluate():
            (specifier,) = requirement.specifier
            found[canonicalize_name(requirement.name)] = specifier.version
    return found


@pytest.mark.parametrize("lock", [DEV_LOCK, AWS_LOCK], ids=lambda p: p.name)
def test_every_line_of_a_lock_pins_one_version(lock):
    loose = [str(r) for r in requirements(lock) if [s.operator for s in r.specifier] != ["=="]]
    assert loose == [], f"{lock.name} holds requirements that are not pinned: {loose}"


@pytest.mark.parametrize("text", PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"])
def test_each_requirement_of_pyproject_is_locked_within_its_range(text):
    requirement, locked = Requirement(text), pins(DEV_LOCK)
    if requirement.marker is not None and not requirement.marker.evaluate():
        return
    version = locked.get(canonicalize_name(requirement.name))
    assert version is not None, f"{requirement.name} is not in requirements/dev.txt: refresh the lock"
    assert requirement.specifier.contains(version, prereleases=True), (
        f"requirements/dev.txt pins {requirement.name}=={version}, outside pyproject.toml's {requirement.specifier}: "
        "refresh the lock")


def test_the_conformance_lock_holds_its_inputs_pins():
    locked = pins(AWS_LOCK)
    for requirement in requirements(AWS_INPUT):
        (specifier,) = requirement.specifier
        assert locked.get(canonicalize_name(requirement.name)) == specifier.version, requirement
