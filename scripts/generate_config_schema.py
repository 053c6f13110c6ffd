"""Write pulumi_pcimage/pcluster_schema.json from the released ParallelCluster's own image configuration schema.

AWS validates an image configuration with the marshmallow schemas of `pcluster/schemas/imagebuilder_schema.py`
(ImageBuilderSchema and the schemas it nests). This script walks those schema objects and writes what they
enforce as data: every key at every level with its type, required keys, enums, patterns and lengths. The
runtime package reads that data and never imports aws-parallelcluster. A key the schema lets pass but the class
its `post_load` builds cannot do without (e.g. DistributionConfiguration's Regions) is required as well, marked
`"required_by": "constructor"`: AWS fails such a request after its schema accepted it.

Needs `aws-parallelcluster==3.16.1` (installed with --no-deps, as `.ci/run` does) and marshmallow 3 (the test
extra). Usage:

    python scripts/generate_config_schema.py            # rewrite the checked-in file
    python scripts/generate_config_schema.py --stdout   # print it (the test compares this with the file)
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import math
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path
from typing import Any

PCLUSTER_VERSION = "3.16.1"
OUTPUT = Path(__file__).resolve().parent.parent / "pulumi_pcimage" / "pcluster_schema.json"


def generate() -> dict[str, Any]:
    installed = version("aws-parallelcluster")
    if installed != PCLUSTER_VERSION:
        raise SystemExit(f"aws-parallelcluster {installed} is installed; this schema is generated from "
                         f"{PCLUSTER_VERSION}: pip install --no-deps aws-parallelcluster=={PCLUSTER_VERSION}")
    from marshmallow import RAISE, fields, validate
    from pcluster.schemas.imagebuilder_schema import ImageBuilderSchema

    schemas: dict[str, dict[str, Any]] = {}

    def describe_schema(schema: Any) -> str:
        name = type(schema).__name__
        if name in schemas:
            return name
        if schema.unknown != RAISE:  # the checker below treats every mapping as closed
            raise SystemExit(f"{name} does not refuse unknown keys (unknown={schema.unknown!r}): update the checker")
        schemas[name] = {}  # placeholder: a schema that nests itself stops here
        described = {f.data_key: describe_field(f, f"{name}.{f.data_key}") for f in schema.fields.values()
                     if not f.dump_only}
        for attribute in constructor_required(schema):
            field = described[schema.fields[attribute].data_key]
            if not field.get("required"):
                field.update(required=True, required_by="constructor")
        schemas[name] = described
        return name

    def describe_field(f: Any, where: str) -> dict[str, Any]:
        out: dict[str, Any]
        if isinstance(f, fields.Nested):
            schema = describe_schema(f.schema)
            out = {"type": "list", "items": {"type": "object", "schema": schema}} if f.many \
                else {"type": "object", "schema": schema}
        elif isinstance(f, fields.List):
            out = {"type": "list", "items": describe_field(f.inner, f"{where}[]")}
        elif isinstance(f, fields.Dict):
            out = {"type": "mapping"}
        elif isinstance(f, fields.Boolean):
            if set(f.truthy) != set(fields.Boolean.truthy) or set(f.falsy) != set(fields.Boolean.falsy):
                raise SystemExit(f"{where}: a Boolean with its own truthy/falsy values: update the checker")
            out = {"type": "boolean"}
        elif isinstance(f, fields.Integer):
            out = {"type": "integer", "strict": bool(f.strict)}
        elif isinstance(f, (fields.Float, fields.Decimal)) or type(f) is fields.Number:
            out = {"type": "number"}
        elif isinstance(f, fields.String):
            out = {"type": "string"}
        else:
            raise SystemExit(f"{where}: field type {type(f).__name__} is not known to the generator")
        if f.required:
            out["required"] = True
        if f.allow_none:
            out["nullable"] = True
        for v in f.validators:
            if isinstance(v, validate.Regexp):
                out["pattern"] = v.regex.pattern  # marshmallow applies it with re.match
            elif isinstance(v, validate.OneOf):
                out["enum"] = list(v.choices)
            elif isinstance(v, validate.Length):
                if v.equal is not None:
                    out["min_length"] = out["max_length"] = v.equal
                if v.min is not None:
                    out["min_length"] = v.min
                if v.max is not None:
                    out["max_length"] = v.max
            elif isinstance(v, validate.Range):
                for key, bound in (("minimum", v.min), ("maximum", v.max)):
                    if bound is not None and not (isinstance(bound, float) and math.isinf(bound)):
                        out[key] = bound
            else:
                raise SystemExit(f"{where}: validator {v!r} is not known to the generator")
        return out

    root = describe_schema(ImageBuilderSchema())
    return {
        "comment": "Generated by scripts/generate_config_schema.py; do not edit.",
        "source": f"aws-parallelcluster {PCLUSTER_VERSION}, pcluster.schemas.imagebuilder_schema.ImageBuilderSchema",
        "version": PCLUSTER_VERSION,
        "root": root,
        # What marshmallow's Boolean accepts besides true and false (YAML already turns yes/no/on/off into those).
        "booleans": {"true": _sorted(fields.Boolean.truthy), "false": _sorted(fields.Boolean.falsy)},
        "schemas": schemas,
    }


def constructor_required(schema: Any) -> set[str]:
    """Attributes the schema's post_load constructor cannot do without.

    marshmallow lets such a key be missing, then `make_resource` calls e.g. `DistributionConfiguration(**data)`,
    which fails without `regions`: AWS refuses that configuration (with a server error), so it is required.
    """
    required: set[str] = set()
    for hook_name, _many, _options in schema._hooks.get("post_load", []):
        hook = getattr(schema, hook_name)
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(hook)))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and any(k.arg is None for k in node.keywords)):  # SomeClass(..., **data)
                continue
            given = {k.arg for k in node.keywords if k.arg}
            parameters = list(inspect.signature(hook.__globals__[node.func.id].__init__).parameters.values())[1:]
            required |= {p.name for p in parameters if p.default is p.empty and p.name not in given
                         and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return required


def _sorted(values: set) -> list:
    return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdout", action="store_true", help="print instead of writing " + OUTPUT.name)
    args = parser.parse_args()
    text = render(generate())
    if args.stdout:
        sys.stdout.write(text)
    else:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
