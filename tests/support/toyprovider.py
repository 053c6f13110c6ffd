"""A small file-backed dynamic provider that exercises every operation of the SDK's provider host.

Each resource is one text file ``<directory>/<name>``. Inputs: ``directory`` and ``name`` (a change replaces the
file, deleting the old one first since the path may stay the same), ``content`` (updated in place), and two knobs
for tests: ``sleep`` (seconds create blocks, for concurrency) and ``fail`` (create raises this message).
The stack config key ``toy:banner`` (sent to the host by Configure) is copied into every output.
Importable by reference, so ``__provider`` stays small and the host imports this module.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (CheckFailure, CheckResult, ConfigureRequest, CreateResult, DiffResult, ReadResult,
                            Resource, ResourceProvider, UpdateResult)
from pulumi.output import Unknown

NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
REPLACE_KEYS = ("directory", "name")  # a change moves the file: a new resource
UPDATE_KEYS = ("content",)


def _unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


class FileProvider(ResourceProvider):
    banner = ""

    def configure(self, req: ConfigureRequest) -> None:
        self.banner = req.config.get("toy:banner") or ""

    def check(self, olds: dict, news: dict) -> CheckResult:
        failures = []
        for key in ("directory", "name"):
            if not news.get(key) and not _unknown(news.get(key)):
                failures.append(CheckFailure(key, f"{key} is required"))
        name = news.get("name")
        if isinstance(name, str) and name and not NAME_RULE.match(name):
            failures.append(CheckFailure("name", f"name {name!r} must match {NAME_RULE.pattern}"))
        inputs = {"content": "", **news}  # a default, so checked inputs differ from the program's
        return CheckResult(inputs, failures)

    def diff(self, id_: str, olds: dict, news: dict) -> DiffResult:
        changed = [k for k in REPLACE_KEYS + UPDATE_KEYS if _unknown(news.get(k)) or olds.get(k) != news.get(k)]
        replaces = [k for k in changed if k in REPLACE_KEYS]
        return DiffResult(changes=bool(changed), replaces=replaces,
                          stables=[k for k in REPLACE_KEYS if k not in replaces],
                          delete_before_replace=bool(replaces))

    def create(self, props: dict) -> CreateResult:
        time.sleep(float(props.get("sleep") or 0))
        if props.get("fail"):
            raise RuntimeError(props["fail"])
        path = Path(props["directory"], props["name"])
        path.write_text(props["content"])
        pulumi.log.info(f"toy: wrote {path}")
        print(f"toy: created {path.name}")  # the host's stdout, after its port line
        return CreateResult(str(path), self._outs(props, path))

    def read(self, id_: str, props: dict) -> ReadResult:
        path = Path(id_)
        if not path.exists():
            return ReadResult("", {})
        return ReadResult(id_, self._outs({**props, "content": path.read_text()}, path))

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        path = Path(id_)
        path.write_text(news["content"])
        return UpdateResult(self._outs(news, path))

    def delete(self, id_: str, props: dict) -> None:
        Path(id_).unlink(missing_ok=True)

    def _outs(self, inputs: dict, path: Path) -> dict:
        # Outputs repeat the inputs: Diff receives the old outputs as its olds.
        return {**inputs, "path": str(path), "size": path.stat().st_size, "banner": self.banner}


class ToyFile(Resource, module="toy", name="File"):
    path: pulumi.Output[str]
    size: pulumi.Output[float]
    content: pulumi.Output[str]
    banner: pulumi.Output[str]

    def __init__(self, name: str, *, directory: pulumi.Input[str], file_name: pulumi.Input[str],
                 content: pulumi.Input[str] | None = None, fail: pulumi.Input[str] | None = None,
                 sleep: pulumi.Input[float] | None = None, opts: pulumi.ResourceOptions | None = None):
        props = {"directory": directory, "name": file_name, "content": content, "fail": fail, "sleep": sleep,
                 "path": None, "size": None, "banner": None}  # None: outputs the provider fills in
        super().__init__(FileProvider(), name, props, opts)
