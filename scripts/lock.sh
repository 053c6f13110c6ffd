#!/usr/bin/env bash
# Regenerate the lock files from their inputs with uv (in the test extra):
#   requirements/dev.txt                      <- pyproject.toml: the package's dependencies and its test extra
#   tests/conformance/requirements-aws.txt    <- tests/conformance/requirements-aws.in: the conformance virtualenv
# Both hold every Python the package supports (--universal, from 3.10). Existing pins are kept unless --upgrade:
#
#   bash scripts/lock.sh             # after editing the inputs: add and drop what they changed, keep the rest
#   bash scripts/lock.sh --upgrade   # everything at today's releases
set -euo pipefail
cd "$(dirname "$0")/.."
compile() { python3 -m uv pip compile --quiet --universal --custom-compile-command "bash scripts/lock.sh" "$@"; }
compile pyproject.toml --extra test -o requirements/dev.txt "$@"
compile tests/conformance/requirements-aws.in --python-version 3.10 -o tests/conformance/requirements-aws.txt "$@"
