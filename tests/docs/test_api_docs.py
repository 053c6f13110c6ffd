"""docs/api.md, the API reference, against the package schema it is generated from (scripts/generate_api_docs.py): a
schema change without regenerating it fails here, as tests/package/test_sdks.py does for sdk/."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from pulumi_pcimage.package import schema as generator

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "docs" / "api.md"


def _script():
    spec = importlib.util.spec_from_file_location("generate_api_docs", ROOT / "scripts" / "generate_api_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_api_reference_is_generated_from_the_current_schema():
    assert API.read_text() == _script().render(generator.schema()), (
        "docs/api.md is stale: run `python scripts/generate_api_docs.py` and commit docs/api.md")


def test_the_api_reference_names_every_property_function_and_type_of_the_schema():
    text, schema = API.read_text(), generator.schema()
    resource = schema["resources"][generator.RESOURCE]
    for name in [*schema["config"]["variables"], *resource["inputProperties"], *resource["properties"]]:
        assert f"| `{name}` |" in text, name
    for token in [*schema["functions"], *schema["types"]]:
        assert re.search(rf"^##+ {token.rsplit(':', 1)[-1]}$", text, re.MULTILINE), token
    # every link to a type lands on a heading of the page
    headings = {h.lower() for h in re.findall(r"^##+ (\S+)$", text, re.MULTILINE)}
    assert {anchor for anchor in re.findall(r"\]\(#([\w-]+)\)", text)} <= headings | {"provider-configuration",
                                                                                      "types"}
