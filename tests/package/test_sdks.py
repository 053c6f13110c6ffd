"""The generated SDKs in sdk/ (scripts/generate_sdks.sh) against the schema: a schema change without regenerating
them fails here, in the fast tests; scripts/check_sdks.sh regenerates them into a temporary folder and compares every
file, then compiles them (it needs Go and Node.js)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pulumi_pcimage.package import schema as generator

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk"


def test_the_sdks_were_generated_from_the_current_schema():
    assert (SDK / "schema.json").read_text() == generator.schema_json(), (
        "sdk/ was generated from another schema: run `bash scripts/generate_sdks.sh` and commit sdk/")


def test_each_sdk_declares_the_package_as_the_schema_names_it():
    package = json.loads((SDK / "nodejs" / "package.json").read_text())
    assert (package["name"], package["version"]) == (generator.NPM_PACKAGE, generator.VERSION)
    assert package["pulumi"] == {"resource": True, "name": generator.PACKAGE, "version": generator.VERSION}
    assert package["dependencies"]["typescript"] == generator.TYPESCRIPT_VERSION
    go_mod = (SDK / "go" / "go.mod").read_text()
    assert go_mod.startswith(f"module {generator.GO_IMPORT_PATH.rsplit('/', 1)[0]}\n")
    pyproject = (SDK / "python" / "pyproject.toml").read_text()
    assert f'name = "{generator.PYTHON_PACKAGE}"' in pyproject and f'version = "{generator.VERSION}"' in pyproject


def test_the_generator_uses_the_code_generators_of_the_cli_we_build():
    cli = re.search(r'PULUMI_VERSION="\$\{PCIMAGE_PULUMI_VERSION:-([0-9.]+)\}"',
                    (ROOT / "scripts" / "build_pulumi_cli.sh").read_text()).group(1)
    go_mod = (ROOT / "scripts" / "gensdk" / "go.mod").read_text()
    assert f"github.com/pulumi/pulumi/pkg/v3 v{cli}\n" in go_mod
    # and the examples build against the SDKs of the same release
    assert f"github.com/pulumi/pulumi/sdk/v3 v{cli}\n" in (ROOT / "examples" / "go" / "go.mod").read_text()
    node = json.loads((ROOT / "examples" / "typescript" / "package.json").read_text())
    assert node["dependencies"]["@pulumi/pulumi"] == cli
    assert node["dependencies"]["@pulumi-pcimage/pcimage"] == "file:../../sdk/nodejs"
    assert node["devDependencies"]["typescript"] == generator.TYPESCRIPT_VERSION.lstrip("~")
