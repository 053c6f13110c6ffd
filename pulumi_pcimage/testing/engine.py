"""The Pulumi engine's step sequences for custom resources, kept in a state between commands.

`Stack` holds what the engine's state holds for each resource (URN, id, checked inputs, outputs, initialization
errors, a pending replacement) and the replaced resources still to delete, and turns `preview` / `up` / `refresh` /
`destroy` / `import_` into the Check / Diff / Create / Update / Delete / Read calls the engine makes through a
`ProviderHost`. Each rule below was read in pulumi/pulumi (`pkg/resource/deploy/step_generator.go`
`continueStepsFromImport` / `continueStepsFromDiff` / `diff`, `step.go`, `sdk/go/common/resource/plugin/
provider_plugin.go`) and is held to the real CLI (v3.276) by `tests/cli/test_model_agreement.py`, which plays the
same scenarios both ways:

- One command, one provider process: the CLI starts the plugin (or the dynamic provider host) for each command, so
  whatever a provider remembers lasts one `preview`, `up`, `refresh` or `destroy`. (`pulumi up` without
  `--skip-preview` runs its preview in a process of its own first; `Stack.up` is the update that follows.)
- `ignore_changes`: each path's old value is put into the program's inputs before Check, inside objects too
  (`imageConfiguration.Build.InstanceType`), and a key the old inputs lack is removed (`processIgnoreChanges`,
  `PropertyPath.Reset`); a path into an element that exists on one side only is reported and left alone.
- Check gets the old inputs (looked up under the URN, then under each alias) unless there are none or the resource
  is a `--replace` target: then `Olds` is empty and `News` are the program's raw inputs (`goal.Properties`). Every
  Check of one resource in one command gets the same random seed, drawn anew for each command.
- A targeted replacement (`pulumi up --replace`) calls no Diff: the diff is `ReplaceKeys: ["id"]`, with no
  delete-before-replace from the provider, and there is no second Check.
- Diff: a DIFF_UNKNOWN answer is settled by comparing the old inputs with the checked ones. A replacement Diff
  asked for calls Check a second time with no old inputs and the raw program inputs; Create gets that Check's
  result. A resource with initialization errors and no changes is updated (so the provider can finish it).
- Delete-before-replace: the provider's `deleteBeforeReplace`, overridden by the resource option when it is set
  (`if goal.DeleteBeforeReplace != nil { deleteBeforeReplace = *goal.DeleteBeforeReplace }`). The old resource is
  deleted first and stays in the state as a pending replacement until its replacement exists: if that create
  fails, the next `up` replaces it again without a second delete.
- Create-before-delete: the old resource is deleted at the end of the command, after every resource's steps, with
  the old state's id, inputs and outputs; if that delete fails, it stays in the state as a pending delete, deleted
  again (with the same old inputs) at the end of every later `up` that targets it.
- A partial failure of Create or Update (`PartialFailure`: the resource exists but did not finish) keeps the
  resource with the outputs the provider returned and the reasons as its initialization errors; when it was a
  create-before-delete replacement, the old resource becomes a pending delete.
- A step that fails ends the command: no later step runs, pending deletes included.
- `protect`: a command that would delete a protected resource fails before anything is deleted; a replacement is
  refused while both the state and the program protect it. `pulumi import` protects what it imports; an `up` gives
  the state the program's option.
- Refresh: Read gets the id, the old outputs and the old inputs, for every resource and pending delete; an empty
  id drops it from the state.
- customTimeouts: Create, Update and Delete get the resource option's seconds as `timeout` (0 when unset); the
  state keeps them, so a later delete of the resource (destroy, a pending delete) uses the ones it was created with.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pulumi_pcimage.testing.host import DiffResult, HostError, PartialFailure, ProviderHost
from pulumi_pcimage.testing.paths import ignore_changes as reset_ignored

# What the engine prints for an ignoreChanges path it cannot apply (step_generator.go `processIgnoreChanges`).
CANNOT_IGNORE = "cannot ignore changes in added or removed elements of the path: "


class CheckRejected(Exception):
    """The provider's Check rejected the inputs; `failures` are (property, reason) pairs as the CLI prints them."""

    def __init__(self, urn: str, failures: list[tuple[str, str]]):
        super().__init__(f"{urn}: " + "; ".join(f"{prop}: {reason}" for prop, reason in failures))
        self.failures = failures


@dataclass(frozen=True)
class Options:
    """The resource options the engine acts on, and `replace` (`pulumi up --replace <urn>`)."""

    ignore_changes: Sequence[str] = ()  # property paths: "image_configuration", "imageConfiguration.Build.Iam"
    delete_before_replace: bool | None = None
    aliases: Sequence[str] = ()  # old URNs of this resource (renames, moved parents, stack or project renames)
    replace: bool = False  # a targeted replacement: `pulumi up --replace <urn>`
    custom_timeouts: dict[str, float] = field(default_factory=dict)  # "create" / "update" / "delete" -> seconds
    protect: bool = False


@dataclass
class ResourceState:
    urn: str
    id: str
    inputs: dict
    outputs: dict
    timeouts: dict = field(default_factory=dict)  # the customTimeouts it was last created or updated with
    init_errors: list[str] = field(default_factory=list)  # a partial failure's reasons: the next `up` updates it
    pending_replacement: bool = False  # deleted before its replacement was created (which has not happened yet)
    protect: bool = False  # `pulumi import` protects what it imports; an `up` gives it the program's option


@dataclass
class Step:
    """What the engine decided for one resource: create, same, update, replace or delete."""

    op: str
    urn: str
    diff: DiffResult | None = None
    delete_before_replace: bool = False
    inputs: dict = field(default_factory=dict)  # the checked inputs the step goes on with
    messages: list[str] = field(default_factory=list)  # what the engine printed about the resource (info)


@dataclass
class Command:
    """One command: the steps it planned, and (URN, op) of each step it completed and each that failed, in order,
    in the CLI's words (`create`, `same`, `update`, `create-replacement`, `replace`, `delete-replaced`, `delete`;
    a refresh reports `same`, `update` or `delete` for each resource it read)."""

    kind: str = ""  # "preview", "up", or "" (refresh, destroy, import: no program)
    targets: Collection[str] | None = None  # None: every resource (no --target)
    steps: list[Step] = field(default_factory=list)
    applied: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    declared: set[str] = field(default_factory=set)  # the URNs (and aliases) the program declared


@dataclass
class Stack:
    """One stack's state and the engine's steps over it; `path` (optional) keeps the state in a JSON file."""

    host: ProviderHost
    path: str | Path | None = None
    resources: dict[str, ResourceState] = field(default_factory=dict)
    pending_deletes: list[ResourceState] = field(default_factory=list)
    last: Command = field(default_factory=Command)  # the latest command's steps
    _current: Command | None = field(default=None, repr=False)
    _served: Any = field(default=None, repr=False)  # the provider process the latest command used

    def __post_init__(self) -> None:
        if self.path is not None and Path(self.path).exists():
            saved = json.loads(Path(self.path).read_text())
            self.resources = {r["urn"]: ResourceState(**r) for r in saved["resources"]}
            self.pending_deletes = [ResourceState(**r) for r in saved["pending_deletes"]]

    def _save(self) -> None:
        if self.path is not None:
            Path(self.path).write_text(json.dumps({
                "resources": [asdict(r) for r in self.resources.values()],
                "pending_deletes": [asdict(r) for r in self.pending_deletes]}, indent=1, default=str))

    # --- commands ----------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def command(self, kind: str = "", targets: Collection[str] | None = None) -> Iterator[Command]:
        """One CLI command (`run_program` runs a whole program in one): a provider process of its own. When every
        step of an "up" succeeded, the engine then deletes what the program no longer declares and the pending
        deletes (of the targeted resources: `targets` are URNs, None for all); a "preview" plans those deletes.
        A call inside a command is part of it."""
        if self._current is not None:
            yield self._current
            return
        with self.host.serving(self._served) as self._served:
            self._current = self.last = Command(kind, targets)
            try:
                yield self._current
                gone = [urn for urn in self.resources if urn not in self._current.declared
                        and (targets is None or urn in targets)]
                if kind == "preview":
                    self._current.steps += [Step("delete", urn) for urn in gone]
                elif kind == "up":
                    self._deletable([self.resources[urn] for urn in gone])
                    self._current.steps += [Step("delete", urn) for urn in gone]
                    self._delete_all([self.resources[urn] for urn in reversed(gone)], targets)
            finally:
                self._current = None
                self._save()

    def _done(self, urn: str, op: str) -> None:
        if self._current is not None:
            self._current.applied.append((urn, op))

    def _failed(self, urn: str, op: str) -> None:
        if self._current is not None:
            self._current.failed.append((urn, op))

    # --- planning --------------------------------------------------------------------------------------------------

    def _old(self, urn: str, options: Options) -> ResourceState | None:
        for candidate in (urn, *options.aliases):
            if candidate in self.resources:
                return self.resources[candidate]
        return None

    def _check(self, urn: str, olds: dict, news: dict, seed: bytes) -> dict:
        result = self.host.check(urn, olds, news, seed=seed)
        if result.failures:
            raise CheckRejected(urn, result.failures)
        return result.inputs

    def _plan(self, urn: str, news: dict, options: Options) -> tuple[Step, ResourceState | None]:
        assert self._current is not None, "planned inside a command"
        self._current.declared.update((urn, *options.aliases))
        step, old = self._decide(urn, news, options)
        self._current.steps.append(step)
        return step, old

    def _decide(self, urn: str, news: dict, options: Options) -> tuple[Step, ResourceState | None]:
        seed = os.urandom(32)  # one per resource and command (the engine's `randomSeed`)
        old = self._old(urn, options)
        if old is None:
            return Step("create", urn, inputs=self._check(urn, {}, news, seed)), None
        if options.replace:
            self._unprotected(old, options)
            return Step("replace", urn, DiffResult(True, ["id"], [], False, []), bool(options.delete_before_replace),
                        self._check(urn, {}, news, seed)), old
        inputs, invalid = reset_ignored(news, old.inputs, list(options.ignore_changes))
        messages = [f'{CANNOT_IGNORE}"{", ".join(invalid)}"'] if invalid else []
        checked = self._check(urn, old.inputs, inputs, seed)
        diff = self.host.diff(old.id, urn, old.outputs, checked, old_inputs=old.inputs,
                              ignore_changes=list(options.ignore_changes))
        if diff.changes is None:  # DIFF_UNKNOWN: the engine compares the inputs itself
            compared = reset_ignored(checked, old.inputs, list(options.ignore_changes))[0]
            diff = replace(diff, changes=old.inputs != compared)
        if diff.changes or old.pending_replacement:
            if diff.replaces or old.pending_replacement:
                self._unprotected(old, options)
                delete_first = diff.delete_before_replace if options.delete_before_replace is None \
                    else options.delete_before_replace
                return Step("replace", urn, diff, delete_first, self._check(urn, {}, news, seed), messages), old
            return Step("update", urn, diff, inputs=checked, messages=messages), old
        # unchanged, but not finished: an update lets the provider finish it
        return Step("update" if old.init_errors else "same", urn, diff, inputs=checked, messages=messages), old

    @staticmethod
    def _unprotected(old: ResourceState, options: Options) -> None:
        """A replacement deletes: refused while both the state and the program protect the resource."""
        if old.protect and options.protect:
            raise HostError(None, f'unable to replace resource "{old.urn}" as it is currently marked for protection')

    @staticmethod
    def _deletable(states: list[ResourceState]) -> None:
        """A command that would delete a protected resource fails before it deletes anything."""
        for state in states:
            if state.protect:
                raise HostError(None, f'resource "{state.urn}" cannot be deleted because it is protected')

    def unprotect(self, urn: str) -> None:
        """`pulumi state unprotect <urn>`."""
        self.resources[urn].protect = False
        self._save()

    # --- operations ------------------------------------------------------------------------------------------------

    def preview(self, urn: str, news: dict, options: Options = Options()) -> Step:
        """Check and Diff only (the dynamic host does not preview creates); raises CheckRejected like the CLI.
        Alone, `pulumi preview --target <urn>`; inside `command()`, that resource's part of a whole preview."""
        with self.command("preview", [urn]):
            return self._plan(urn, news, options)[0]

    def up(self, urn: str, news: dict, options: Options = Options()) -> Step:
        """One resource's steps. Alone, `pulumi up --target <urn>`: its steps, then its pending deletes; inside
        `command()`, that resource's part of a whole `pulumi up` (the pending deletes come at the command's end)."""
        with self.command("up", [urn]):
            step, old = self._plan(urn, news, options)
            try:
                self._apply(step, old, options)
            finally:
                self._save()
            return step

    def untargeted(self, urn: str, options: Options = Options()) -> ResourceState | None:
        """A registration `--target` leaves out: no Check, no Diff; the engine keeps its old state (or, for a new
        resource, creates nothing) and reports a `same` step. Returns the state kept."""
        assert self._current is not None, "inside a command"
        self._done(urn, "same")
        return self._old(urn, options)

    def _apply(self, step: Step, old: ResourceState | None, options: Options) -> None:
        urn, checked = step.urn, step.inputs
        if step.op == "create":
            self._create(urn, checked, options, "create")
        elif step.op == "same":
            assert old is not None
            state = self._move(old, urn)
            state.inputs, state.protect = checked, options.protect
            self._done(urn, "same")
        elif step.op == "update":
            assert old is not None
            try:
                outputs = self.host.update(old.id, urn, old.outputs, checked, old_inputs=old.inputs,
                                           timeout=options.custom_timeouts.get("update"),
                                           ignore_changes=list(options.ignore_changes))
            except PartialFailure as exc:
                self._move(old, urn)
                old.inputs, old.outputs, old.init_errors = checked, exc.outputs, exc.reasons
                self._failed(urn, "update")
                raise
            except HostError:
                self._failed(urn, "update")
                raise
            state = self._move(old, urn)
            state.inputs, state.outputs, state.timeouts = checked, outputs, dict(options.custom_timeouts)
            state.init_errors, state.protect = [], options.protect
            self._done(urn, "update")
        elif step.delete_before_replace:
            assert old is not None
            if not old.pending_replacement:
                self._delete(old, "delete-replaced")
                old.pending_replacement = True  # kept until its replacement exists
            self._done(urn, "replace")
            self._create(urn, checked, options, "create-replacement", replacing=old, delete_later=False)
        else:
            assert old is not None
            self._create(urn, checked, options, "create-replacement", replacing=old, delete_later=True)
            self._done(urn, "replace")

    def _move(self, old: ResourceState | None, urn: str) -> ResourceState:
        assert old is not None
        self.resources.pop(old.urn)
        old.urn = urn
        self.resources[urn] = old
        return old

    def _create(self, urn: str, checked: dict, options: Options, op: str,
                replacing: ResourceState | None = None, delete_later: bool = False) -> None:
        try:
            id_, outputs = self.host.create(urn, checked, timeout=options.custom_timeouts.get("create"))
        except PartialFailure as exc:  # the resource exists: kept, with what stopped it as its init errors
            self._created(urn, ResourceState(urn, exc.id, checked, exc.outputs, dict(options.custom_timeouts),
                                             exc.reasons, protect=options.protect), replacing, delete_later)
            self._failed(urn, op)
            raise
        except HostError:  # nothing was created: the state is as it was (a pending replacement stays one)
            self._failed(urn, op)
            raise
        self._created(urn, ResourceState(urn, id_, checked, outputs, dict(options.custom_timeouts),
                                         protect=options.protect), replacing, delete_later)
        self._done(urn, op)

    def _created(self, urn: str, new: ResourceState, replacing: ResourceState | None, delete_later: bool) -> None:
        if replacing is not None:
            self.resources.pop(replacing.urn, None)
            if delete_later:  # create-before-delete: the old one is deleted at the command's end
                self.pending_deletes.append(replacing)
        self.resources[urn] = new

    def _delete(self, state: ResourceState, op: str) -> None:
        try:
            self.host.delete(state.id, state.urn, state.outputs, old_inputs=state.inputs,
                             timeout=state.timeouts.get("delete"))
        except HostError:
            self._failed(state.urn, op)
            raise
        self._done(state.urn, op)

    def _delete_all(self, gone: list[ResourceState], targets: Collection[str] | None) -> None:
        """The deletes the engine runs together, none waiting for another: of `gone` (resources of the state), and
        of the pending deletes (with their own old inputs; a `delete-replaced` step, in a destroy too). Those that
        fail stay in the state; the first error is raised once all were tried."""
        errors = []
        doomed = [(state, "delete") for state in gone] + [
            (old, "delete-replaced") for old in self.pending_deletes if targets is None or old.urn in targets]
        for state, op in doomed:
            try:
                self._delete(state, op)
            except HostError as exc:
                errors.append(exc)
                continue
            if any(pending is state for pending in self.pending_deletes):
                self.pending_deletes = [pending for pending in self.pending_deletes if pending is not state]
            else:
                del self.resources[state.urn]
        self._save()
        if errors:
            raise errors[0]

    def import_(self, urn: str, id: str) -> None:
        """`pulumi import <type> <name> <id>`: Read with the id alone; the inputs the provider answers become the
        resource's inputs in the state, so the next preview compares the program against them. The resource is
        protected (the code `pulumi import` writes says `protect: true`) until an `up` of a program that does not
        protect it, or `unprotect`. An id the provider does not find fails the import's own preview."""
        with self.command("", [urn]):
            id_, outputs, inputs = self.host.read_with_inputs(id, urn, {}, inputs={})
            if not id_:  # the import's own preview fails: no step runs
                raise HostError(None, f"resource {id!r} does not exist: nothing to import")
            self.resources[urn] = ResourceState(urn, id_, inputs, outputs, protect=True)
            self._done(urn, "import")

    def refresh(self, urn: str | None = None) -> str:
        """`pulumi refresh` (of one resource: `--target <urn>`): Read each resource and pending delete; returns
        the resource's id ("" once it is gone and was dropped from the state)."""
        with self.command("", [urn] if urn else None):
            found = ""
            for state in list(self.resources.values()):
                if urn is None or state.urn == urn:
                    found = self._read(state) or found
                    if not state.id:
                        del self.resources[state.urn]
            for state in self.pending_deletes:
                if urn is None or state.urn == urn:
                    self._read(state)
            self.pending_deletes = [state for state in self.pending_deletes if state.id]
            return found

    def _read(self, state: ResourceState) -> str:
        """Refresh one state in place: its outputs, or an empty id once the provider finds nothing."""
        id_, outputs = self.host.read(state.id, state.urn, state.outputs, inputs=state.inputs)
        self._done(state.urn, "delete" if not id_ else "same" if outputs == state.outputs else "update")
        state.id, state.outputs = id_, outputs if id_ else {}
        return id_

    def destroy(self, urn: str | None = None) -> None:
        """`pulumi destroy` (of one resource: `--target <urn>`, which reports the others as `same`): delete each
        resource with its state's inputs, and the pending deletes, none waiting for another."""
        with self.command("", [urn] if urn else None):
            self._deletable([self.resources[urn]] if urn else list(self.resources.values()))
            for other in self.resources:  # what --target leaves out is reported unchanged
                if urn and other != urn:
                    self._done(other, "same")
            self._delete_all([self.resources[urn]] if urn else list(self.resources.values())[::-1],
                             [urn] if urn else None)

    def rename(self, *, stack: str | None = None, project: str | None = None) -> None:
        """`pulumi stack rename [<project>/]<stack>`: every URN in the state names the new stack (and project);
        inputs and outputs are left as they are."""
        def renamed(urn: str) -> str:
            head, old_project, rest = urn.split("::", 2)
            old_stack = head.removeprefix("urn:pulumi:")
            return f"urn:pulumi:{stack or old_stack}::{project or old_project}::{rest}"

        self.resources = {renamed(u): replace(s, urn=renamed(u)) for u, s in self.resources.items()}
        self.pending_deletes = [replace(s, urn=renamed(s.urn)) for s in self.pending_deletes]
        self._save()

    def outputs(self, urn: str) -> dict[str, Any]:
        return self.resources[urn].outputs


class StackResource:
    """One resource of a `Stack`, as a user sees it: its state and the engine's operations on it.

    Subclasses give `stack` and `urn` (how a test names its resources); the rest is the Stack's.
    """

    stack: Stack

    @property
    def urn(self) -> str:
        raise NotImplementedError

    @property
    def state(self) -> ResourceState | None:
        return self.stack.resources.get(self.urn)

    @property
    def id(self) -> str:
        return self.state.id if self.state else ""

    @property
    def inputs(self) -> dict:
        return self.state.inputs if self.state else {}

    @property
    def outputs(self) -> dict:
        return self.state.outputs if self.state else {}

    def preview(self, news: dict, options: Options = Options()) -> Step:
        return self.stack.preview(self.urn, news, options)

    def up(self, news: dict, options: Options = Options()) -> Step:
        return self.stack.up(self.urn, news, options)

    def refresh(self) -> str:
        return self.stack.refresh(self.urn)

    def destroy(self) -> None:
        self.stack.destroy(self.urn)
