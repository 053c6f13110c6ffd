"""What the harness's modules share, and nothing else: the unknown marker, URNs, the project's name, and plain
values as the engine sends and receives them. A leaf: it imports no other module of `pulumi_pcimage.testing`, so
host, engine, program and cli import it (and one another) one way only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc

from pulumi_pcimage.walk import rebuild

UNKNOWN = rpc.UNKNOWN
DEFAULT_PROJECT = "test-project"  # ProviderHost's and urn()'s project when no Pulumi.yaml names one


def urn(name: str, type_: str = "pulumi-python:dynamic:Resource", *, project: str = DEFAULT_PROJECT,
        stack: str = "stack") -> str:
    """A resource URN as the engine builds it."""
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def project_name(program_dir: str | os.PathLike) -> str:
    """The project's name, from its Pulumi.yaml (as the CLI reads it)."""
    import yaml

    path = Path(program_dir) / "Pulumi.yaml"
    try:
        name = (yaml.safe_load(path.read_text()) or {}).get("name")
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the project name from {path}: {exc}") from None
    if not isinstance(name, str) or not name:
        raise ValueError(f"{path} has no `name:`")
    return name


def plain(value: Any) -> Any:
    """Deserialized values with ``pulumi.output.Unknown`` turned back into the UNKNOWN sentinel."""
    return rebuild(value, lambda leaf: UNKNOWN if isinstance(leaf, Unknown) else leaf, containers=(dict, list))


def unwrap_secrets(value: Any) -> Any:
    """Deserialized values with every secret replaced by what it holds."""
    return rebuild(value, open=rpc.unwrap_rpc_secret, containers=(dict, list))


def engine_ready(props: Any, unwrap_secrets: bool) -> Any:
    """What the engine sends for plain values: Unknown objects as the UNKNOWN sentinel, secrets unwrapped when the
    provider does not accept them."""

    def open(value: Any) -> Any:
        while unwrap_secrets and not isinstance(value, Unknown) and rpc.is_rpc_secret(value):
            value = rpc.unwrap_rpc_secret(value)
        return UNKNOWN if isinstance(value, Unknown) else value

    return rebuild(props, open=open)
