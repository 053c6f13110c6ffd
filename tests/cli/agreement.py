"""One scenario, two engines: the model (`pulumi_pcimage.testing.Stack` over a `ProviderHost`) and the real Pulumi
CLI, each against an emulator of its own, compared after every command (tests/cli/test_model_agreement.py).

A scenario is data: programs (`Image`s with their inputs and resource options) and the commands run on them
(`Preview`, `Up`, `Refresh`, `Destroy`, `Import`, `RenameStack`, and `Aws` for what happens behind Pulumi's back).
Each side renders a program its own way: on the dynamic face the same Python program runs under `run_program` (the
model) and under the CLI; on the package face the CLI runs a Pulumi YAML program (a Python one when components are
needed) and the model hands the same properties and options to `Stack`. Each side reports an `Outcome` in the same
terms: the planned op, replace reasons and detailed diff of each image, the steps completed and failed, what the
state holds, what the API holds. Image ids derive from the URN, the configuration and the region, and both sides
use the same project and stack names, so even the ids must agree.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import rpc

from pulumi_pcimage import config
from pulumi_pcimage.client import ParallelClusterClient
from pulumi_pcimage.emulator import Emulator
from pulumi_pcimage.emulator.catalog import official_ami_id
from pulumi_pcimage.package.schema import camel
from pulumi_pcimage.testing import (
    CheckFailed, CheckRejected, HostError, Options, ProviderHost, Stack, run_program,
)
from pulumi_pcimage.testing.cli import CliResult, CliStack

from .conftest import ENV, REGION

PROJECT, STACK = "agree", "dev"
PARENT = official_ami_id(REGION)
TYPES = {"dynamic": "pulumi-python:dynamic/pcimage:CustomImage", "package": "pcimage:index:CustomImage"}
PLUGIN_ARGS = ["-u", "-m", "pulumi_pcimage.package"]  # the plugin, as tests/package starts it
HELD = 3600.0  # seconds: a build that ends only when the scenario ends it


# ---------------------------------------------------------------- scenarios as data


@dataclass
class Image:
    """One CustomImage as a program declares it. Inputs and ignore_changes paths are written as the dynamic face
    names them (`force_delete`, `image_configuration`); the package face's program spells them in camelCase."""

    name: str = "base"
    instance_type: str = "c6i.xlarge"
    inputs: dict[str, Any] = field(default_factory=dict)
    configuration: dict | None = None  # the whole configuration, instead of one with `instance_type`
    as_text: bool = False  # package face: the configuration as YAML text, not an object
    parent: str | None = None  # under a component of type agree:index:<parent>
    ignore_changes: tuple[str, ...] = ()
    delete_before_replace: bool | None = None
    aliases: tuple[tuple[str, str | None], ...] = ()  # (old name, old parent) of each earlier identity
    custom_timeouts: dict[str, str] = field(default_factory=dict)  # package face: {"create": "2s"}
    secret: bool = False  # the configuration is a secret (`pulumi.Output.secret`, `fn::secret`)

    def configuration_value(self) -> dict:
        return self.configuration or {"Build": {"InstanceType": self.instance_type, "ParentImage": PARENT}}


Program = tuple[Image, ...]
# api_url values each side replaces with an address of its own: its API under a stage that does not exist, and
# another API (an emulator of its own) that has never seen the side's images.
WRONG_STAGE, OTHER_API = "<the API under a wrong stage>", "<another API>"


@dataclass(kw_only=True)
class Act:
    expect: dict[str, Any] = field(default_factory=dict)  # Outcome fields both sides must show (or pass, if callables)
    says: str = ""  # text both sides must show (the CLI's output; the model's errors, messages and host output)
    never_says: str = ""  # text neither side may show


@dataclass
class Preview(Act):
    program: Image | Program


@dataclass
class Up(Act):
    program: Image | Program
    replace: tuple[str, ...] = ()  # `--replace` of these images (by `key`: "base", "Gpu/base")
    target: tuple[str, ...] = ()  # `--target`
    # "completes" (in a second); "fails": the build it starts fails; "hangs": it runs until `Aws(finish_builds)`;
    # "interrupted": once it runs, Ctrl-C (the CLI gets SIGINT; the model sends Cancel, as the engine does);
    # "killed": once it runs, the CLI and its plugins are killed (SIGKILL; the model kills the provider process)
    build: str = "completes"


@dataclass
class Refresh(Act):
    pass


@dataclass
class Destroy(Act):
    target: tuple[str, ...] = ()  # by `key`


@dataclass
class Import(Act):
    name: str
    image_id: str


@dataclass
class RenameStack(Act):
    stack: str
    project: str | None = None


@dataclass
class Aws(Act):
    """Behind Pulumi's back: `action(emulator, ids)` with `ids` the name -> image id of the live images."""

    action: Callable[[Emulator, dict[str, str]], None]


def programs(program: Image | Program) -> Program:
    return program if isinstance(program, tuple) else (program,)


@dataclass
class Outcome:
    """What one command did, as both engines report it."""

    ok: bool
    ops: dict[str, str] = field(default_factory=dict)  # planned op of each image (preview and up)
    replaces: dict[str, list[str]] = field(default_factory=dict)  # replace reasons of each replaced image, sorted
    diffs: dict[str, dict[str, str]] = field(default_factory=dict)  # detailed diffs, where the provider gives one
    applied: dict[str, list[str]] = field(default_factory=dict)  # completed steps of each image, in order
    failed: dict[str, list[str]] = field(default_factory=dict)
    live: dict[str, str] = field(default_factory=dict)  # image -> id in the state
    pending_deletes: list[str] = field(default_factory=list)  # ids
    pending_replacements: list[str] = field(default_factory=list)  # images deleted before their replacement
    unfinished: list[str] = field(default_factory=list)  # images kept with initialization errors
    images: list[str] = field(default_factory=list)  # at the API ("eu-west-1/<id>" outside us-east-1)
    builds: int = 0  # builds started at the API so far


def _unordered(act: Act, outcome: Outcome) -> Outcome:
    """A refresh reads every resource at once: the steps of a resource and of its pending deletes (the same name)
    come in no particular order."""
    if isinstance(act, Refresh):
        outcome.applied = {name: sorted(ops) for name, ops in outcome.applied.items()}
    return outcome


def key(urn: str) -> str:
    """How an outcome names a resource: its name, after its parents' types (`Gpu/base`)."""
    chain, name = urn.split("::")[2:4]
    parents = [t.rsplit(":", 1)[-1] for t in chain.split("$")[:-1]]
    return "/".join([*parents, name])


# ---------------------------------------------------------------- what happens at the API


def building(emulator: Emulator) -> list[str]:
    service = emulator.service
    return [r.image_id for r in service.store.all() if service.state(r) == "building"]


def finish_builds(emulator: Emulator, ids: dict[str, str]) -> None:
    for image_id in building(emulator):
        emulator.complete_build(image_id)


def delete_image(name: str) -> Callable[[Emulator, dict[str, str]], None]:
    """`pcluster delete-image` of the image `name` has in the state."""
    def act(emulator: Emulator, ids: dict[str, str]) -> None:
        ParallelClusterClient(emulator.url).delete_image(ids[name], region=REGION)
        wait_until(lambda: ids[name] not in emulator.images(), f"{ids[name]} deleted")
    return act


def set_in_use(name: str, in_use: bool = True) -> Callable[[Emulator, dict[str, str]], None]:
    """Instances (or launch templates, shares) start using the image `name` has in the state."""
    def act(emulator: Emulator, ids: dict[str, str]) -> None:
        emulator.set_in_use(ids[name], in_use)
    return act


def free_all(emulator: Emulator, ids: dict[str, str]) -> None:
    """Nothing uses any image any more."""
    for image_id in emulator.images():
        emulator.set_in_use(image_id, False)


def break_image(name: str) -> Callable[[Emulator, dict[str, str]], None]:
    """The image's stack failed again at AWS (its AMI deregistered): the next refresh finds BUILD_FAILED."""
    def act(emulator: Emulator, ids: dict[str, str]) -> None:
        emulator.service.store.update(REGION, ids[name], outcome="failed", reason="AMI deregistered")
    return act


def built_elsewhere(image_id: str, owner: str | None = None) -> Callable[[Emulator, dict[str, str]], None]:
    """An image built outside this stack (`pcluster build-image`), tagged as `owner`'s when given."""
    def act(emulator: Emulator, ids: dict[str, str]) -> None:
        doc = Image().configuration_value()
        client = ParallelClusterClient(emulator.url)
        client.build_image(image_id, config.dump(config.with_owner(doc, owner) if owner else doc),
                           rollback_on_failure=True, region=REGION)
        wait_until(lambda: client.describe_image(image_id, region=REGION)["imageBuildStatus"] == "BUILD_COMPLETE",
                   f"{image_id} built")
    return act


def throttling(rate: float) -> Callable[[Emulator, dict[str, str]], None]:
    """The API throttles this share of requests (429)."""
    def act(emulator: Emulator, ids: dict[str, str]) -> None:
        emulator.set_faults(throttle_rate=rate)
    return act


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def builds(emulator: Emulator, how: str, interrupt: Callable[[str], None]) -> Iterator[None]:
    """The builds started meanwhile complete (after a second), or hang until completed; "fails", "interrupted" and
    "killed" (see `Up.build`) happen to the first one as soon as it runs."""
    if how == "completes":
        yield
        return
    emulator.service.build_seconds = HELD
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            running = building(emulator)
            if running:
                if how == "fails":
                    emulator.fail_build(running[0], reason="component install-slurm exited with status 1")
                else:
                    time.sleep(0.5)  # the create is waiting on the build
                    interrupt(how)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True) if how != "hangs" else None
    if watcher:
        watcher.start()
    try:
        yield
    finally:
        stop.set()
        if watcher:
            watcher.join()
        emulator.service.build_seconds = 1.0


# ---------------------------------------------------------------- the programs


def _urn(face: str, image_name: str, parent: str | None, project: str, stack: str) -> str:
    chain = f"agree:index:{parent}${TYPES[face]}" if parent else TYPES[face]
    return f"urn:pulumi:{stack}::{project}::{chain}::{image_name}"


def _properties(face: str, image: Image, urls: dict[str, str]) -> dict[str, Any]:
    """The image's properties in the face's spelling, with each side's own URLs in place of the sentinels."""
    inputs = {k: urls.get(v, v) if isinstance(v, str) else v for k, v in image.inputs.items()}
    if face == "dynamic":
        return {"image_configuration": image.configuration_value(), **inputs}
    configuration = image.configuration_value()
    return {"imageConfiguration": yaml.safe_dump(configuration, sort_keys=False) if image.as_text else configuration,
            **{camel(k): v for k, v in inputs.items()}}


def _path(face: str, path: str) -> str:
    """An ignore_changes path in the face's spelling: its first key camelCase on the package face."""
    if face == "dynamic":
        return path
    head, dot, rest = path.partition(".")
    return camel(head) + dot + rest


def python_program(face: str, program: Program, project: str, stack: str, urls: dict[str, str]) -> str:
    """The program in Python: a CustomImage (dynamic face) or a `pulumi.CustomResource` of the package's type."""
    lines = ["import pulumi", "from pulumi_pcimage import CustomImage", "",
             "class Component(pulumi.ComponentResource):",
             "    def __init__(self, kind):",
             "        super().__init__(f'agree:index:{kind}', kind.lower())", "",
             "components = {}", ""]
    for image in program:
        options = []
        if image.parent:
            lines.append(f"components.setdefault({image.parent!r}, Component({image.parent!r}))")
            options.append(f"parent=components[{image.parent!r}]")
        if image.ignore_changes:
            options.append(f"ignore_changes={[_path(face, p) for p in image.ignore_changes]!r}")
        if image.delete_before_replace is not None:
            options.append(f"delete_before_replace={image.delete_before_replace!r}")
        if image.aliases:
            urns = [_urn(face, name, parent, project, stack) for name, parent in image.aliases]
            options.append(f"aliases={urns!r}")
        if image.custom_timeouts:
            options.append(f"custom_timeouts=pulumi.CustomTimeouts(**{dict(image.custom_timeouts)!r})")
        opts = f"pulumi.ResourceOptions({', '.join(options)})"
        props = {k: repr(v) for k, v in _properties(face, image, urls).items()}
        if image.secret:
            configuration = "image_configuration" if face == "dynamic" else "imageConfiguration"
            props[configuration] = f"pulumi.Output.secret({props[configuration]})"
        if face == "dynamic":
            arguments = ", ".join(f"{k}={v}" for k, v in props.items())
            lines.append(f"CustomImage({image.name!r}, {arguments}, opts={opts})")
        else:
            arguments = "{" + ", ".join(f"{k!r}: {v}" for k, v in props.items()) + "}"
            lines.append(f"pulumi.CustomResource({TYPES[face]!r}, {image.name!r}, {arguments}, opts={opts})")
    return "\n".join(lines) + "\n"


def yaml_program(program: Program, project: str, stack: str, urls: dict[str, str]) -> str:
    resources = {}
    for image in program:
        assert image.parent is None, "Pulumi YAML declares no components: such scenarios render Python"
        options: dict[str, Any] = {}
        if image.ignore_changes:
            options["ignoreChanges"] = [_path("package", p) for p in image.ignore_changes]
        if image.delete_before_replace is not None:
            options["deleteBeforeReplace"] = image.delete_before_replace
        if image.aliases:
            options["aliases"] = [_urn("package", n, p, project, stack) for n, p in image.aliases]
        if image.custom_timeouts:
            options["customTimeouts"] = dict(image.custom_timeouts)
        properties = _properties("package", image, urls)
        if image.secret:
            properties["imageConfiguration"] = {"fn::secret": properties["imageConfiguration"]}
        resources[image.name] = {"type": TYPES["package"], **({"options": options} if options else {}),
                                 "properties": properties}
    return yaml.safe_dump({"name": project, "runtime": "yaml", "resources": resources}, sort_keys=False)


def write_program(folder: Path, face: str, program: Program, project: str, stack: str, urls: dict[str, str],
                  runtime: str) -> None:
    """The project's files for `program` (`runtime`: "python" or "yaml")."""
    folder.mkdir(parents=True, exist_ok=True)
    if runtime == "yaml":
        (folder / "Pulumi.yaml").write_text(yaml_program(program, project, stack, urls))
    else:
        (folder / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n")
        (folder / "__main__.py").write_text(python_program(face, program, project, stack, urls))


def _seconds(text: str) -> float:
    """customTimeouts' duration strings: "2s", "5m", "1h"."""
    return float(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]


# ---------------------------------------------------------------- the two sides

REGIONS = (REGION, "eu-west-1", "us-west-2")  # where scenarios build; the parent AMI is copied to the others


class Side:
    """One engine playing a scenario against its own emulator."""

    face: str
    runtime: str  # of the programs: "python", or "yaml" (the package face, unless components are needed)
    emulator: Emulator
    project: str = PROJECT
    stack_name: str = STACK
    declared: Program = ()

    def __init__(self, face: str, runtime: str, emulator: Emulator):
        self.face, self.runtime, self.emulator = face, runtime, emulator
        self._elsewhere: Emulator | None = None

    @property
    def urls(self) -> dict[str, str]:
        """This side's addresses for the sentinels WRONG_STAGE and OTHER_API."""
        if self._elsewhere is None:
            self._elsewhere = Emulator(build_seconds=1.0, delete_seconds=0.2, region=REGION).start()
        return {WRONG_STAGE: self.emulator.url.rsplit("/", 1)[0] + "/beta", OTHER_API: self._elsewhere.url}

    def close(self) -> None:
        if self._elsewhere is not None:
            self._elsewhere.close()

    def urn(self, label: str) -> str:
        """The URN of the declared image called `label` (its `key`)."""
        for image in self.declared:
            urn = _urn(self.face, image.name, image.parent, self.project, self.stack_name)
            if key(urn) == label:
                return urn
        raise KeyError(f"no image {label!r} in the program")

    def _api(self, outcome: Outcome) -> Outcome:
        for region in REGIONS:
            prefix = "" if region == REGION else f"{region}/"
            outcome.images += sorted(prefix + image_id for image_id in self.emulator.images(region=region))
        outcome.builds = self.emulator.counters()["builds_started"]
        return outcome


class ModelSide(Side):
    """`Stack` over the SDK's dynamic provider host (the program run by `run_program`) or over the plugin."""

    def __init__(self, face: str, runtime: str, emulator: Emulator, folder: Path, settings: dict[str, str]):
        super().__init__(face, runtime, emulator)
        self.folder = folder
        self.folder.mkdir(parents=True)
        (self.folder / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")
        if face == "dynamic":
            self.host = ProviderHost(self.folder, env=ENV)
        else:
            self.host = ProviderHost(project=PROJECT, env=ENV, command=[sys.executable, *PLUGIN_ARGS],
                                     config={"apiUrl": emulator.url, **settings})
        self.host.start()
        self.stack = Stack(self.host)

    def close(self) -> None:
        self.host.close()
        super().close()

    def live_ids(self) -> dict[str, str]:
        return {key(urn): state.id for urn, state in self.stack.resources.items()}

    def play(self, act: Act) -> tuple[Outcome, str]:
        said: list[str] = []
        stderr_before, logs_before = len(self.host.stderr_text()), len(self.host.log_requests)
        ok = True
        try:
            self._run(act)
        except (HostError, CheckRejected, CheckFailed) as exc:
            ok = False
            said += [str(exc), getattr(exc, "details", "")]
        said.append(self.host.stderr_text()[stderr_before:])
        said += [r.message for r in self.host.log_requests[logs_before:]]
        outcome = Outcome(ok)
        if isinstance(act, (Aws, RenameStack)):  # no command ran
            return self._api(self._state(outcome)), "\n".join(said)
        command = self.stack.last
        said += [m for step in command.steps for m in step.messages]
        if isinstance(act, (Preview, Up)):
            for step in command.steps:
                outcome.ops[key(step.urn)] = step.op
                if step.op == "replace" and step.diff is not None:
                    outcome.replaces[key(step.urn)] = sorted(step.diff.replaces)
                if step.op in ("update", "replace") and step.diff is not None and step.diff.detailed:
                    outcome.diffs[key(step.urn)] = {path: kind.lower().replace("_", "-")
                                                    for path, kind in step.diff.detailed.items()}
        killed = isinstance(act, Up) and act.build == "killed"  # an engine killed with its provider reports nothing
        for urn, op in [] if killed else command.applied:
            outcome.applied.setdefault(key(urn), []).append(op)
        for urn, op in [] if killed else command.failed:
            outcome.failed.setdefault(key(urn), []).append(op)
        return self._api(self._state(_unordered(act, outcome))), "\n".join(said)

    def _state(self, outcome: Outcome) -> Outcome:
        outcome.live = self.live_ids()
        outcome.pending_deletes = sorted(s.id for s in self.stack.pending_deletes)
        outcome.pending_replacements = sorted(key(u) for u, s in self.stack.resources.items()
                                              if s.pending_replacement)
        outcome.unfinished = sorted(key(u) for u, s in self.stack.resources.items() if s.init_errors)
        return outcome

    def _interrupt(self, how: str) -> None:
        if how == "killed":
            self.host.kill()  # the engine and its plugins gone at once: nothing more reaches the state
        else:
            self.host.cancel()  # what the engine sends its plugins on Ctrl-C

    def _run(self, act: Act) -> None:
        if isinstance(act, (Preview, Up)):
            self.declared = programs(act.program)
            preview = isinstance(act, Preview)
            targets = [self.urn(n) for n in act.target] if isinstance(act, Up) and act.target else None
            replace = [self.urn(n) for n in act.replace] if isinstance(act, Up) else []
            how = act.build if isinstance(act, Up) else "completes"
            try:
                with builds(self.emulator, how, self._interrupt):
                    if self.face == "dynamic":
                        write_program(self.folder, "dynamic", self.declared, self.project, self.stack_name,
                                      self.urls, "python")
                        run_program(self.folder, self.host, project=self.project, stack=self.stack_name,
                                    config={"pcimage:apiUrl": self.emulator.url}, preview=preview,
                                    state=self.stack, targets=targets, replace=replace)
                    else:
                        self._package(preview, targets, replace)
            finally:
                if how == "killed":  # the next command's provider process
                    self.host.restart()
        elif isinstance(act, Refresh):
            self.stack.refresh()
        elif isinstance(act, Destroy):
            for label in act.target:
                self.stack.destroy(self.urn(label))
            if not act.target:
                self.stack.destroy()
        elif isinstance(act, Import):
            self.stack.import_(_urn(self.face, act.name, None, self.project, self.stack_name), act.image_id)
        elif isinstance(act, RenameStack):
            self.stack.rename(stack=act.stack, project=act.project)
            self.stack_name, self.project = act.stack, act.project or self.project
            self.host.project = self.project  # the next command's provider process runs in the renamed project
        elif isinstance(act, Aws):
            act.action(self.emulator, self.live_ids())

    def _package(self, preview: bool, targets: list[str] | None, replace: list[str]) -> None:
        """The package face's program, registration by registration, as one command."""
        with self.stack.command("preview" if preview else "up", targets):
            for image in self.declared:
                urn = _urn("package", image.name, image.parent, self.project, self.stack_name)
                options = Options(
                    ignore_changes=tuple(_path("package", p) for p in image.ignore_changes),
                    delete_before_replace=image.delete_before_replace,
                    aliases=tuple(_urn("package", n, p, self.project, self.stack_name) for n, p in image.aliases),
                    replace=urn in replace,
                    custom_timeouts={k: _seconds(v) for k, v in image.custom_timeouts.items()})
                if targets is not None and urn not in targets:
                    self.stack.untargeted(urn, options)
                    continue
                news = _properties("package", image, self.urls)
                if image.secret:
                    news["imageConfiguration"] = rpc.wrap_rpc_secret(news["imageConfiguration"])
                (self.stack.preview if preview else self.stack.up)(urn, news, options)


class CliSide(Side):
    """The real `pulumi` CLI on a file backend: the program as the CLI runs it, results from its `--json` output
    and `pulumi stack export`."""

    def __init__(self, face: str, runtime: str, emulator: Emulator, folder: Path,
                 make_stack: Callable[..., CliStack], settings: dict[str, str], first: Program):
        super().__init__(face, runtime, emulator)
        self.declared = first
        write_program(folder, face, first, self.project, self.stack_name, self.urls, runtime)
        self.cli = make_stack(folder)
        self.cli.config_set("pcimage:apiUrl", emulator.url)
        for name, value in settings.items():
            self.cli.config_set(f"pcimage:{name}", value)

    def live_ids(self) -> dict[str, str]:
        return {key(r["urn"]): r["id"] for r in self._images() if not r.get("delete")}

    def _images(self) -> list[dict]:
        return [r for r in self.cli.resources() if r["type"] == TYPES[self.face]]

    def play(self, act: Act) -> tuple[Outcome, str]:
        result = self._run(act)
        if result is None:
            return self._api(self._state(Outcome(True))), ""
        outcome = Outcome(result.returncode == 0)
        if isinstance(act, (Preview, Up)):
            for step in result.steps:
                if step.type.rsplit("$", 1)[-1] != TYPES[self.face]:
                    continue
                name = key(step.urn)
                outcome.ops[name] = step.op
                if step.op == "replace":
                    outcome.replaces[name] = sorted(step.replace_reasons)
                if step.op in ("update", "replace") and step.detailed_diff:
                    outcome.diffs[name] = step.detailed_diff
            if outcome.ok:  # the JSON leaves out the steps of unchanged resources
                targets = act.target if isinstance(act, Up) else ()
                for image in self.declared:
                    label = key(_urn(self.face, image.name, image.parent, self.project, self.stack_name))
                    if not targets or label in targets:
                        outcome.ops.setdefault(label, "same")
        for event in result.events:
            for kind, where in (("resOutputsEvent", outcome.applied), ("resOpFailedEvent", outcome.failed)):
                metadata = (event.get(kind) or {}).get("metadata")
                if metadata and metadata["type"] == TYPES[self.face]:
                    where.setdefault(key(metadata["urn"]), []).append(metadata["op"])
        return self._api(self._state(_unordered(act, outcome))), "\n".join([*result.diagnostics, result.stderr])

    def _state(self, outcome: Outcome) -> Outcome:
        images = self._images()
        outcome.live = {key(r["urn"]): r["id"] for r in images if not r.get("delete")}
        outcome.pending_deletes = sorted(r["id"] for r in images if r.get("delete"))
        outcome.pending_replacements = sorted(key(r["urn"]) for r in images if r.get("pendingReplacement"))
        outcome.unfinished = sorted(key(r["urn"]) for r in images if r.get("initErrors"))
        return outcome

    def _with_parents(self, labels: tuple[str, ...]) -> list[str]:
        """The URNs to target: each image's, and its component's (the CLI refuses a target whose parent is not)."""
        urns = []
        for label in labels:
            parent = next(i.parent for i in self.declared
                          if key(_urn(self.face, i.name, i.parent, self.project, self.stack_name)) == label)
            if parent:
                urns.append(f"urn:pulumi:{self.stack_name}::{self.project}::agree:index:{parent}::{parent.lower()}")
            urns.append(self.urn(label))
        return urns

    def _interrupt(self, how: str) -> None:
        assert self.cli.background is not None
        os.killpg(self.cli.background.pid, signal.SIGKILL if how == "killed" else signal.SIGINT)

    def _run(self, act: Act) -> CliResult | None:
        cli = self.cli
        if isinstance(act, (Preview, Up)):
            self.declared = programs(act.program)
            write_program(cli.project_dir, self.face, self.declared, self.project, self.stack_name, self.urls,
                          self.runtime)
            if isinstance(act, Preview):
                return cli.preview(check=False)
            args = [arg for label in act.replace for arg in ("--replace", self.urn(label))]
            args += [arg for urn in self._with_parents(act.target) for arg in ("--target", urn)]
            with builds(self.emulator, act.build, self._interrupt):
                if act.build in ("interrupted", "killed"):  # in the background, to be interrupted
                    cli.start("up", "--yes", "--json", *args)
                    result = cli.finish()
                    if act.build == "killed":  # its lock stays: what the CLI then tells the user to run
                        cli.run("cancel", "--yes")
                    return result
                return cli.up(*args, check=False)
        if isinstance(act, Refresh):
            return cli.refresh(check=False)
        if isinstance(act, Destroy):
            return cli.destroy(*[arg for label in act.target for arg in ("--target", self.urn(label))],
                               check=False)
        if isinstance(act, Import):
            return cli.run("import", TYPES[self.face], act.name, act.image_id, "--yes", "--json", check=False)
        if isinstance(act, RenameStack):
            project = act.project or self.project
            cli.run("stack", "rename", f"organization/{project}/{act.stack}" if act.project else act.stack)
            self.stack_name, self.project = act.stack, project
            if act.project:  # the project's files name it, and its stack is selected again
                settings = cli.project_dir / "Pulumi.yaml"
                settings.write_text(yaml.safe_dump({**yaml.safe_load(settings.read_text()), "name": project},
                                                   sort_keys=False))
                cli.run("stack", "select", act.stack)
            return None
        if isinstance(act, Aws):
            act.action(self.emulator, self.live_ids())
            return None
        raise TypeError(act)


# ---------------------------------------------------------------- playing a scenario both ways


def play(face: str, acts: list[Act], *, make_stack: Callable[..., CliStack], folder: Path,
         settings: dict[str, str] | None = None) -> list[Outcome]:
    """Play `acts` on the model and through the CLI, each against a fresh emulator, asserting after each act
    that both give the same outcome, what the act expects, and the text it `says` (and `never_says`).
    `settings`: the provider's (`pcimage:<name>`, the package face). Returns the outcomes."""
    settings = settings or {}
    declared = [image for act in acts if isinstance(act, (Preview, Up)) for image in programs(act.program)]
    runtime = "yaml" if face == "package" and not any(image.parent for image in declared) else "python"
    played = []
    with Emulator(build_seconds=1.0, delete_seconds=0.2, region=REGION) as model_api, \
            Emulator(build_seconds=1.0, delete_seconds=0.2, region=REGION) as cli_api:
        for api in (model_api, cli_api):
            for region in REGIONS[1:]:  # a customer's own parent AMI, copied to the other regions
                api.register_parent_image(PARENT, region=region)
        model = ModelSide(face, runtime, model_api, folder / "model", settings)
        cli: CliSide | None = None
        try:
            first = next(programs(a.program) for a in acts if isinstance(a, (Preview, Up)))
            cli = CliSide(face, runtime, cli_api, folder / "program", make_stack, settings, first)
            for number, act in enumerate(acts, 1):
                by_model, model_said = model.play(act)
                by_cli, cli_said = cli.play(act)
                where = f"act {number} ({type(act).__name__})"
                assert by_model == by_cli, (
                    f"{where}: the model and the CLI disagree\n{_compare(by_model, by_cli)}\n"
                    f"the model said:\n{model_said[-2000:]}\nthe CLI said:\n{cli_said[-2000:]}")
                for name, value in act.expect.items():  # a value, or a test of one
                    shown = getattr(by_cli, name)
                    assert value(shown) if callable(value) else shown == value, f"{where}: {name} is {shown!r}"
                if act.says:
                    assert act.says in cli_said, f"{where}: the CLI did not say {act.says!r}:\n{cli_said[-3000:]}"
                    assert act.says in model_said, f"{where}: the model did not say {act.says!r}:\n{model_said}"
                if act.never_says:
                    assert act.never_says not in cli_said, f"{where}: the CLI said {act.never_says!r}"
                    assert act.never_says not in model_said, f"{where}: the model said {act.never_says!r}"
                played.append(by_cli)
        finally:
            model.close()
            if cli is not None:
                cli.close()
    return played


def _compare(model: Outcome, cli: Outcome) -> str:
    lines = []
    for name in model.__dataclass_fields__:
        a, b = getattr(model, name), getattr(cli, name)
        if a != b:
            lines.append(f"  {name}:\n    model: {json.dumps(a, default=str)}\n    CLI:   {json.dumps(b, default=str)}")
    return "\n".join(lines)
