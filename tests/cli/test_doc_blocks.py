"""The documentation's code block that needs the Pulumi CLI (docs/testing.md, "Testing programs under the real
Pulumi CLI"), run as a user's test file as it is shown: the fast tier (tests/docs/test_code_blocks.py) runs every
other Python block."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from pulumi_pcimage.testing.cli import PULUMI_ENV

ROOT = Path(__file__).resolve().parents[2]
BLOCKS = re.findall(r"^```python\n(.*?)^```", (ROOT / "docs" / "testing.md").read_text(), re.MULTILINE | re.DOTALL)

pytest_plugins = ["pytester"]


def test_the_cli_stack_block_passes_as_a_users_test_file(pulumi_cli, pytester, monkeypatch):
    [code] = [block for block in BLOCKS if "CliStack(" in block]
    # the block runs `examples/quickstart` from the folder that holds it, as from a checkout's root
    shutil.copytree(ROOT / "examples" / "quickstart", pytester.path / "examples" / "quickstart",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv(PULUMI_ENV, pulumi_cli)
    pytester.makepyfile(test_user=code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)
