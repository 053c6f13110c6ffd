"""Print the "Reliability" section of docs/reliability.md from the figures of the last test run.

    python -m pytest tests/reliability && python tests/reliability/report.py

The tests add their figures up while they run and save them in pytest's cache (key `pcimage/reliability`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parents[2] / ".pytest_cache" / "v" / "pcimage" / "reliability"

LINES = [
    ("lifecycles", "Full lifecycles (create → refresh → configuration change → destroy), 20 at once through one "
                   "provider host, under 30% throttling, 10% server errors and 5% dropped connections"),
    ("lifecycle_requests", "API requests those lifecycles made"),
    ("faults_injected", "Faults injected into them"),
    ("builds_counted", "Builds counted at the API (fault matrix, interrupted run, API restart)"),
    ("duplicate_builds", "Duplicate builds"),
    ("interrupted_runs", "Runs killed mid-build and adopted by the next run, one build each"),
    ("emulator_restarts", "API restarts mid-build ridden through"),
    ("key_rotations", "Key rotations during one build (credential_process), all picked up"),
    ("auth_failures_checked", "Auth failures reported with what to check, never retried"),
    ("bad_inputs_tried", "Generated bad inputs refused by check with readable reasons, 0 requests sent"),
    ("secret_scans", "States scanned for keys, tokens, signatures and presigned URLs (outputs and decoded "
                     "`__provider`), none found"),
    ("tls_checks", "TLS checks (unknown CA refused at once, explicit REQUESTS_CA_BUNDLE trusted)"),
]


def main() -> int:
    if not CACHE.is_file():
        print("no figures yet: run `python -m pytest tests/reliability` first", file=sys.stderr)
        return 1
    figures = json.loads(CACHE.read_text())
    print("## Reliability\n")
    print("Figures from the test suite's last run (`tests/reliability`, the real provider host over gRPC against the "
          "emulator):\n")
    for key, text in LINES:
        if key in figures:
            print(f"- {text}: {figures[key]:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
