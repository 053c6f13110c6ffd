#!/usr/bin/env bash
# The generated SDKs, checked as their users meet them (CI runs this before the CLI tier of tests):
#   1. sdk/ is what the generator writes from the current schema (else: bash scripts/generate_sdks.sh);
#   2. TypeScript: `npm ci` in examples/typescript (the pinned @pulumi/pulumi and TypeScript, and ../../sdk/nodejs),
#      then `tsc --strict` on the SDK and on the example;
#   3. Go: `go build` and `go vet` of the example and of every SDK package;
#   4. Python: mypy (strict) on examples/python-package against the SDK;
#   5. the TypeScript and Go code blocks of README.md and docs/*.md compile against the SDKs;
#   6. each check fails on a type error: a copy of each example with one injected must be refused, with the
#      compiler's own message (else the checks above prove nothing).
# Needs Go, Node.js with npm, and the test extra's mypy; prints each step's time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pcimage-sdks.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
TS="$ROOT/examples/typescript"
GO_EXAMPLE="$ROOT/examples/go"
PY_EXAMPLE="$ROOT/examples/python-package"

say() { echo "check_sdks: $*" >&2; }
die() { say "error: $*"; exit 1; }
step() {  # step NAME COMMAND...: run it, say how long it took
  local name="$1" started; shift; started=$(date +%s)
  "$@" || die "$name failed"
  say "$name: ok ($(( $(date +%s) - started )) s)"
}
for tool in go node npm; do command -v "$tool" >/dev/null || die "$tool is not on PATH"; done

# ---- 1. sdk/ is up to date
stale() {
  bash scripts/generate_sdks.sh "$WORK/sdk" 2>"$WORK/generate.log" || { cat "$WORK/generate.log" >&2; return 1; }
  # (what builds and installs leave beside the sources, ignored by the SDKs' own .gitignore files, does not count)
  diff -r -x node_modules -x bin -x build -x dist -x '*.egg-info' -x __pycache__ -x .mypy_cache \
    "$WORK/sdk" sdk >"$WORK/sdk.diff" || {
    head -40 "$WORK/sdk.diff" >&2
    say "sdk/ differs from the generator's output: run bash scripts/generate_sdks.sh and commit sdk/"; return 1; }
}
step "sdk/ is what the schema generates" stale
# A binding warning fails the generation: two properties whose names every SDK reduces to the same one.
python3 - "$ROOT/pulumi_pcimage/package/plugin/schema.json" "$WORK/warning.json" <<'PY'
import json, sys
schema = json.load(open(sys.argv[1]))
resource = schema["resources"]["pcimage:index:CustomImage"]
resource["inputProperties"]["image_id"] = dict(resource["inputProperties"]["imageId"])
json.dump(schema, open(sys.argv[2], "w"))
PY

# ---- 2. TypeScript
TSC="$TS/node_modules/.bin/tsc"
step "npm ci (examples/typescript)" npm ci --prefix "$TS" --no-audit --no-fund --loglevel=error
# Built as its postinstall script builds it (tsc, then package.json beside the output), so the example runs even
# where npm skips dependencies' install scripts.
SDK_NODE="$TS/node_modules/@pulumi-pcimage/pcimage"
step "tsc --strict: the Node.js SDK" bash -c "'$TSC' --strict -p '$SDK_NODE' && cp '$SDK_NODE/package.json' '$SDK_NODE/bin/'"
step "tsc --strict: examples/typescript" "$TSC" --strict --noEmit -p "$TS"

# ---- 3. Go (the example's module resolves the SDK to sdk/go; -o /dev/null: nothing is written into the checkout)
SDK_GO="github.com/pulumi-pcimage/pcimage/sdk/go/pcimage/..."
step "go build: examples/go and the Go SDK" bash -c "cd '$GO_EXAMPLE' && go build -o /dev/null . && go build $SDK_GO"
step "go vet: examples/go and the Go SDK" bash -c "cd '$GO_EXAMPLE' && go vet ./... $SDK_GO"

# ---- 4. Python: the example against the SDK as an installed package is read (its own modules' errors are the
# code generator's, not the user's: silent, as mypy treats installed packages)
cat >"$WORK/mypy.ini" <<INI
[mypy]
strict = True
python_version = 3.10
mypy_path = $ROOT/sdk/python
cache_dir = $WORK/mypy-cache

[mypy-pulumi_pcimage_sdk.*]
follow_imports = silent
INI
mypy_check() { python3 -m mypy --config-file "$WORK/mypy.ini" "$@"; }
step "mypy --strict: examples/python-package against the Python SDK" mypy_check "$PY_EXAMPLE/__main__.py"

# ---- 5. the TypeScript and Go code blocks of README.md and docs/ compile against the SDKs as they are shown
python3 - "$ROOT" "$WORK/snippets" <<'PY'
import pathlib, re, sys
root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))] if (root / "docs").is_dir() else [root / "README.md"]
counts = {"typescript": 0, "go": 0}
for page in pages:
    for language, code in re.findall(r"^```(typescript|go)\n(.*?)^```", page.read_text(), re.MULTILINE | re.DOTALL):
        counts[language] += 1
        name = f"{page.relative_to(root).as_posix().replace('/', '_').replace('.', '_')}_{counts[language]}"
        target = out / language / (f"{name}.ts" if language == "typescript" else f"{name}/main.go")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)
print(f"check_sdks: code blocks: {counts['typescript']} TypeScript, {counts['go']} Go in {len(pages)} page(s)",
      file=sys.stderr)
PY
if compgen -G "$WORK/snippets/typescript/*.ts" >/dev/null; then
  ln -s "$TS/node_modules" "$WORK/snippets/typescript/node_modules"
  step "tsc --strict: the documentation's TypeScript blocks" \
    "$TSC" --strict --noEmit --target es2020 --module commonjs --moduleResolution node "$WORK/snippets/typescript/"*.ts
fi
if [[ -d "$WORK/snippets/go" ]]; then
  cp "$GO_EXAMPLE/go.mod" "$GO_EXAMPLE/go.sum" "$WORK/snippets/go/"
  (cd "$WORK/snippets/go" && go mod edit -replace "github.com/pulumi-pcimage/pcimage/sdk/go=$ROOT/sdk/go")
  step "go vet: the documentation's Go blocks" bash -c "cd '$WORK/snippets/go' && go vet ./..."
fi

# ---- 6. a type error in each example is refused
# refused NAME PATTERN COMMAND...: the command must fail and print PATTERN
refused() {
  local name="$1" pattern="$2"; shift 2
  if "$@" >"$WORK/refused.log" 2>&1; then
    die "$name: an injected type error was accepted"
  fi
  grep -q -- "$pattern" "$WORK/refused.log" || { cat "$WORK/refused.log" >&2; die "$name: refused, but not with '$pattern'"; }
  say "$name: refused as it should be: $(grep -m1 -- "$pattern" "$WORK/refused.log")"
}
refused "A schema with a binding warning" "warning: #/resources/pcimage:index:CustomImage/inputProperties/" \
  bash scripts/generate_sdks.sh "$WORK/warned" "$WORK/warning.json"
# TypeScript: a number where the configuration takes a string
mkdir -p "$WORK/ts"
cp "$TS/tsconfig.json" "$WORK/ts/" && ln -s "$TS/node_modules" "$WORK/ts/node_modules"
sed 's/InstanceType: instanceType,/InstanceType: 42,/' "$TS/index.ts" >"$WORK/ts/index.ts"
grep -q "InstanceType: 42," "$WORK/ts/index.ts" || die "could not inject the TypeScript error"
refused "TypeScript" "error TS2322" "$TSC" --strict --noEmit -p "$WORK/ts"
# Go: a plain string where the configuration takes an input
mkdir -p "$WORK/go" && cp "$GO_EXAMPLE"/*.go "$GO_EXAMPLE/go.mod" "$GO_EXAMPLE/go.sum" "$WORK/go/"
(cd "$WORK/go" && go mod edit -replace "github.com/pulumi-pcimage/pcimage/sdk/go=$ROOT/sdk/go")
sed -i 's/InstanceType:     pulumi.String(instanceType),/InstanceType:     instanceType,/' "$WORK/go/program.go"
grep -q "InstanceType:     instanceType," "$WORK/go/program.go" || die "could not inject the Go error"
refused "Go" "cannot use instanceType" bash -c "cd '$WORK/go' && go vet ./..."
# Python: a number where the configuration takes a string
sed 's/instance_type=instance_type,/instance_type=42,/' "$PY_EXAMPLE/__main__.py" >"$WORK/python_program.py"
grep -q "instance_type=42," "$WORK/python_program.py" || die "could not inject the Python error"
refused "Python" 'Argument "instance_type" to "ImageConfigurationBuildArgs" has incompatible type "int"' \
  mypy_check "$WORK/python_program.py"
say "all SDK checks passed"
