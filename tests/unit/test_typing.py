"""Users' type checkers see the API: a user's program that uses CustomImage and the functions type-checks, and
a misspelt argument or attribute is an error (the names are typed, not Any)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is in the test extra")

ROOT = Path(__file__).resolve().parents[2]  # this checkout, ahead of any installed copy of the package

GOOD = """\
    import pulumi
    from typing_extensions import assert_type

    from pulumi_pcimage import CustomImage, CustomImageArgs, get_official_images

    parent = get_official_images(os="alinux2023", architecture="x86_64")[0].ami_id
    assert_type(parent, str)
    image = CustomImage("hpc-base",
                        image_configuration={"Build": {"InstanceType": "c6i.xlarge", "ParentImage": parent}},
                        region="us-east-1")
    assert_type(image.ami_id, pulumi.Output[str])
    assert_type(image.build_timeout_minutes, pulumi.Output[float])
    args = CustomImageArgs(image_configuration="Build: {InstanceType: c6i.xlarge}", region="eu-west-1",
                           build_timeout_minutes=120)
    other = CustomImage("from-args", args)
    pulumi.export("ami", image.ami_id)
    pulumi.export("other", other.ami_name)
"""

MISSPELT_ARGUMENT = """\
    from pulumi_pcimage import CustomImage

    image = CustomImage("hpc-base", image_configuratoin="Build: {InstanceType: c6i.xlarge}", region="us-east-1")
"""

MISSPELT_ATTRIBUTE = """\
    import pulumi
    from pulumi_pcimage import CustomImage

    image = CustomImage("hpc-base", image_configuration="Build: {InstanceType: c6i.xlarge}", region="us-east-1")
    pulumi.export("ami", image.ami_idd)
"""


def _errors(output: str, name: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{name}:") and ": error:" in line]


def test_a_users_program_type_checks_and_misspelt_names_do_not(tmp_path: Path) -> None:
    programs = {"good.py": GOOD, "misspelt_argument.py": MISSPELT_ARGUMENT, "misspelt_attribute.py": MISSPELT_ATTRIBUTE}
    for name, text in programs.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    # The user's configuration, not the project's; the package found in this checkout, and read as mypy reads an
    # installed one (silent: its own imports are not the user's to fix).
    (tmp_path / "mypy.ini").write_text(f"[mypy]\nmypy_path = {ROOT}\n\n"
                                       "[mypy-pulumi_pcimage.*]\nfollow_imports = silent\n")
    stdout, stderr, status = mypy_api.run([
        "--config-file", str(tmp_path / "mypy.ini"), "--cache-dir", str(tmp_path / ".mypy_cache"),
        "--no-error-summary", "--show-error-codes", *(str(tmp_path / name) for name in programs)])
    output = stdout.replace(str(tmp_path) + "/", "")
    assert stderr == ""

    assert _errors(output, "good.py") == [], output
    # Line 3: the call with the misspelt keyword; line 5: the misspelt attribute.
    argument = _errors(output, "misspelt_argument.py")
    assert argument and all(line.startswith("misspelt_argument.py:3:") for line in argument), output
    assert any('Unexpected keyword argument "image_configuratoin"' in line for line in argument), output
    [attribute] = _errors(output, "misspelt_attribute.py")
    assert attribute.startswith("misspelt_attribute.py:5:"), output
    assert '"CustomImage" has no attribute "ami_idd"' in attribute and "[attr-defined]" in attribute, output
    assert status == 1  # mypy fails the run: the two misspelt programs
