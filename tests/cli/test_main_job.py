"""The main job (README, "Set-up"): examples/quickstart/run_local.py uses the real CLI when it is installed, and says
so on its first line."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import EXAMPLES


def test_the_main_job_runs_the_quickstart_through_the_cli(pulumi_cli):
    done = subprocess.run([sys.executable, str(EXAMPLES / "quickstart" / "run_local.py"), "--build-seconds", "1"],
                          capture_output=True, text=True, timeout=300, env={**_env(), "PCIMAGE_PULUMI": pulumi_cli})
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    version = subprocess.run([pulumi_cli, "version"], capture_output=True, text=True).stdout.strip()
    assert f"engine: the Pulumi CLI {version} ({pulumi_cli}), on a local file backend\n" in out
    for command in ("preview", "up --yes", "config set instanceType c6i.2xlarge", "preview --diff", "up --yes",
                    "destroy --yes"):
        assert f"$ pulumi {command}\n" in out
    assert "+-1 replaced" in out and "- 2 deleted" in out  # the CLI's own summaries
    new_image = re.search(r"images at the API: \['([^']+)'\]", out).group(1)
    ami = re.search(r"^OK: built (ami-\w+), destroyed it, no image left\.$", out, re.MULTILINE).group(1)
    assert new_image.startswith("hpc-base-") and ami.startswith("ami-")


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PULUMI_", "PCLUSTER_"))}
