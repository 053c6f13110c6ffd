#!/usr/bin/env bash
# Generate the Python, Node.js and Go SDKs of the pcimage package from its schema, without the language hosts:
# scripts/gensdk (a small Go program over pulumi/pulumi's pkg/v3 code generators, the ones `pulumi package gen-sdk`
# runs inside each language host) is built once into a cache folder outside the checkout, keyed by its sources,
# and reused. Any schema binding diagnostic (a warning included) fails the generation.
#
#   bash scripts/generate_sdks.sh            # rewrite sdk/ (committed: a test fails when it is stale)
#   bash scripts/generate_sdks.sh OUT        # write OUT/python, OUT/nodejs, OUT/go (scripts/check_sdks.sh compares)
#   bash scripts/generate_sdks.sh OUT SCHEMA # from another schema file (scripts/check_sdks.sh: a warning fails)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/sdk}"
CACHE="${PCIMAGE_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-pcimage}"
SRC="$ROOT/scripts/gensdk"

say() { echo "generate_sdks: $*" >&2; }
die() { say "error: $*"; exit 1; }

key="$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-16)"
GENSDK="$CACHE/gensdk-$key/gensdk"
if [[ ! -x "$GENSDK" ]]; then
  command -v go >/dev/null || die "the Go toolchain is not on PATH (https://go.dev/dl/); the generator is built from pulumi/pulumi's Go modules"
  started=$(date +%s)
  say "building the SDK generator into $(dirname "$GENSDK") (first build: about 2.5 minutes on 2 cores)"
  mkdir -p "$(dirname "$GENSDK")"
  (cd "$SRC" && CGO_ENABLED=0 go build -mod=readonly -trimpath -o "$GENSDK.tmp" .) \
    || die "building scripts/gensdk failed (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"
  mv "$GENSDK.tmp" "$GENSDK"
  say "built in $(( $(date +%s) - started )) s"
fi

# The schema as the plugin serves it (tests/package/test_schema.py keeps the file equal to the generator's output).
SCHEMA="${2:-$ROOT/pulumi_pcimage/package/plugin/schema.json}"
mkdir -p "$OUT"
"$GENSDK" -schema "$SCHEMA" -out "$OUT"
# The schema the SDKs were generated from, beside them: a fast test compares it with the current one.
cp "$SCHEMA" "$OUT/schema.json"
