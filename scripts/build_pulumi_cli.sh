#!/usr/bin/env bash
# Build the Pulumi CLI, the YAML language host and the Python dynamic-provider plugin from their Go modules into a
# cache folder outside the checkout, keyed by version; reuse it when present. Prints the bin folder on its last line.
#
#   bash scripts/build_pulumi_cli.sh            # -> $PCIMAGE_PULUMI_CACHE/<version>/bin (default ~/.cache/pulumi-pcimage)
#   PATH="$(bash scripts/build_pulumi_cli.sh | tail -1):$PATH" pulumi version
#
# No registry ships the CLI as a binary, but the Go module proxy serves its modules. `go install m@v` refuses modules
# whose go.mod has replace directives (pkg/v3 points sdk/v3 at ../sdk), so each module is copied out of the module
# cache, its relative replace directives are dropped, and it is built as Go would build it without them.
set -euo pipefail

# The CLI release; the Python SDK we require (pyproject.toml) speaks the same protocol. The Python, Node.js and Go
# language hosts are modules of their own without release tags, asked for by commit; the proxy serves none of them
# (403 for every version and its list): Python programs run under this CLI as Automation API inline programs, which
# serve the language runtime from Python itself (pulumi_pcimage/testing/cli.py).
PULUMI_VERSION="${PCIMAGE_PULUMI_VERSION:-3.276.0}"
YAML_VERSION="${PCIMAGE_PULUMI_YAML_VERSION:-1.25.0}"
CACHE="${PCIMAGE_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-pcimage}"
DEST="$CACHE/$PULUMI_VERSION-yaml$YAML_VERSION"
BIN="$DEST/bin"
# What a complete build holds; a partial one (an interrupted run) is rebuilt.
WANT=(pulumi pulumi-language-yaml pulumi-resource-pulumi-python)

say() { echo "build_pulumi_cli: $*" >&2; }
die() { say "error: $*"; exit 1; }

complete() { local b; for b in "${WANT[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done; }
if complete; then
  say "reusing $BIN (pulumi $PULUMI_VERSION, pulumi-yaml $YAML_VERSION)"
  echo "$BIN"; exit 0
fi

command -v go >/dev/null || die "the Go toolchain is not on PATH (https://go.dev/dl/); the CLI is built from its Go modules"
started=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pulumi-build.XXXXXX")"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$BIN"
export GOFLAGS="${GOFLAGS:-} -mod=mod" CGO_ENABLED=0

# `go mod download -json m@v` -> the module's folder in the module cache (or a clear error: proxy unreachable, version
# not served).
module_dir() {
  local out
  out="$(go mod download -json "$1" 2>&1)" || true
  local dir; dir="$(printf '%s' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$dir" ]] || die "cannot download $1 from the Go module proxy ($(go env GOPROXY)): $(printf '%s' "$out" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",*$/\1/p' | head -1)"
  echo "$dir"
}

# copy MODULE@VERSION NAME: a writable copy without relative replace directives, ready to build.
copy() {
  local src; src="$(module_dir "$1")"
  cp -r "$src" "$WORK/$2"; chmod -R u+w "$WORK/$2"
  (cd "$WORK/$2"
   local r
   for r in $(go mod edit -json | python3 -c 'import json,sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["New"]["Path"].startswith("."):
        print(r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else ""))'); do
     go mod edit -dropreplace="$r"
   done
   go mod tidy >/dev/null 2>&1 || go mod tidy)
}

say "building pulumi $PULUMI_VERSION and pulumi-language-yaml $YAML_VERSION into $BIN (first build: about 6 minutes on 2 cores)"
copy "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" pkg
(cd "$WORK/pkg" && go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
   -o "$BIN/pulumi.tmp" ./cmd/pulumi && mv "$BIN/pulumi.tmp" "$BIN/pulumi")
say "pulumi built ($(( $(date +%s) - started )) s)"

copy "github.com/pulumi/pulumi-yaml@v$YAML_VERSION" yaml
(cd "$WORK/yaml" && go build -trimpath -o "$BIN/pulumi-language-yaml.tmp" ./cmd/pulumi-language-yaml \
   && mv "$BIN/pulumi-language-yaml.tmp" "$BIN/pulumi-language-yaml")
say "pulumi-language-yaml built ($(( $(date +%s) - started )) s)"

# The Python dynamic-provider plugin is a script shipped in the sdk/v3 module (it runs `python -m pulumi.dynamic`).
sdk="$(module_dir "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION")"
install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$BIN/pulumi-resource-pulumi-python"
complete || die "the build finished without: $(for b in "${WANT[@]}"; do [[ -x "$BIN/$b" ]] || printf '%s ' "$b"; done)"
say "done in $(( $(date +%s) - started )) s: $("$BIN/pulumi" version)"
echo "$BIN"
