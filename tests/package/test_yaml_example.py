"""examples/yaml, the Pulumi YAML program: checked against the package's schema, then its function call and its
resource run through the plugin over gRPC (`pulumi up` itself needs the Pulumi CLI)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pulumi_pcimage.package.schema import schema

from .conftest import Image, PROJECT

PROGRAM = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / "yaml" / "Pulumi.yaml").read_text())
EXPRESSION = re.compile(r"^\$\{([^}]+)\}$")


def invokes(node: Any) -> list[dict]:
    if isinstance(node, dict):
        return ([node["fn::invoke"]] if "fn::invoke" in node else []) + [i for v in node.values() for i in invokes(v)]
    return [i for v in node for i in invokes(v)] if isinstance(node, list) else []


def test_the_program_uses_the_schema_as_declared():
    package = schema()
    assert PROGRAM["runtime"] == "yaml"
    for name, resource in PROGRAM["resources"].items():
        spec = package["resources"][resource["type"]]
        assert set(resource["properties"]) <= set(spec["inputProperties"]), name
        assert set(spec["requiredInputs"]) <= set(resource["properties"]), name
        assert set(resource.get("options", {}).get("customTimeouts", {})) <= {"create", "update", "delete"}
    for call in invokes(PROGRAM):
        function = package["functions"][call["function"]]
        assert set(call["arguments"]) <= set(function["inputs"]["properties"])
        assert call["return"] in function["outputs"]["properties"]
    for output in PROGRAM["outputs"].values():  # every output names something the program declares
        root = EXPRESSION.match(output).group(1).split(".")[0].split("[")[0]
        assert root in PROGRAM["variables"] or root in PROGRAM["resources"]


class Scope:
    """The values `${...}` expressions of this program refer to: config, variables, resource outputs."""

    def __init__(self, config: dict[str, Any]):
        self.values = dict(config)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict):
            return {k: self.resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        match = EXPRESSION.match(node) if isinstance(node, str) else None
        if not match:
            return node
        path = match.group(1)
        if path in self.values:  # a config key such as yaml:os
            return self.values[path]
        value: Any = self.values
        for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
            value = value[int(index)] if index else value[key]
        return value


def test_the_program_runs_through_the_plugin(plugin, emulator):
    scope = Scope({key: spec["default"] for key, spec in PROGRAM["config"].items()})
    for name, variable in PROGRAM["variables"].items():
        call = variable["fn::invoke"]
        result, failures = plugin.invoke(call["function"], scope.resolve(call["arguments"]))
        assert failures == []
        scope.values[name] = result[call["return"]]
    image = None
    for name, resource in PROGRAM["resources"].items():
        image = Image(plugin, name)
        assert image.urn.endswith(f"::{PROJECT}::{resource['type']}::{name}")
        image.up(scope.resolve(resource["properties"]))
        scope.values[name] = image.outputs
    outputs = {key: scope.resolve(value) for key, value in PROGRAM["outputs"].items()}
    assert outputs["parentAmiId"].startswith("ami-") and outputs["amiId"].startswith("ami-")
    assert emulator.images() == [outputs["imageId"]]
    build = image.outputs["imageConfiguration"]["Build"]  # the program's object, kept as one
    assert (build["InstanceType"], build["ParentImage"]) == ("c6i.xlarge", outputs["parentAmiId"])
    image.destroy()
    assert emulator.images() == []
