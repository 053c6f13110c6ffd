"""The Pulumi engine's step sequences for dynamic resources, kept in a state between calls.

`Stack` holds what the engine's state holds for each resource (URN, id, checked inputs, outputs) and turns
`preview` / `up` / `refresh` / `destroy` into the Check / Diff / Create / Update / Delete / Read calls the engine
makes through a `ProviderHost`, beyond the common path. Each rule below was read in pulumi/pulumi
(`pkg/resource/deploy/step_generator.go` `generateSteps` / `continueStepsFromDiff` / `diff`, `step.go`,
`sdk/go/common/resource/plugin/provider_plugin.go`):

- `ignore_changes`: the ignored keys' old input values are put into the new inputs before Check
  (`processIgnoreChanges(inputs, oldInputs, goal.IgnoreChanges)`).
- Check gets the old inputs (looked up under the URN, then under each alias) unless there are none or the resource
  is a `--replace` target: then `Olds` is empty and `News` are the program's raw inputs (`goal.Properties`).
- A targeted replacement (`pulumi up --replace`) calls no Diff: the diff is `ReplaceKeys: ["id"]`, with no
  delete-before-replace from the provider, and there is no second Check.
- A replacement Diff asked for calls Check a second time with no old inputs and the raw program inputs; Create
  gets that Check's result.
- Delete-before-replace: the provider's `deleteBeforeReplace`, overridden by the resource option when it is set
  (`if goal.DeleteBeforeReplace != nil { deleteBeforeReplace = *goal.DeleteBeforeReplace }`).
- Create-before-delete: the old resource is deleted after the new one was created, with the old state's id,
  inputs and outputs; if that delete fails, the old resource stays in the state as a pending delete, and every
  later `up` deletes it again (with the same old inputs) along with the update's other deletes.
- Refresh: Read gets the id, the old outputs and the old inputs; an empty id drops the resource from the state.
- customTimeouts: Create, Update and Delete get the resource option's seconds as `timeout` (0 when unset); the
  state keeps them, so a later delete of the resource (destroy, a pending delete) uses the ones it was created with.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Sequence

from pulumi_pcimage.testing.host import DiffResult, HostError, ProviderHost


class CheckRejected(Exception):
    """The provider's Check rejected the inputs; `failures` are (property, reason) pairs as the CLI prints them."""

    def __init__(self, urn: str, failures: list[tuple[str, str]]):
        super().__init__(f"{urn}: " + "; ".join(f"{prop}: {reason}" for prop, reason in failures))
        self.failures = failures


@dataclass(frozen=True)
class Options:
    """The resource options the engine acts on."""

    ignore_changes: Sequence[str] = ()
    delete_before_replace: bool | None = None
    aliases: Sequence[str] = ()  # old URNs of this resource (renames, moved parents, stack or project renames)
    replace: bool = False  # a targeted replacement: `pulumi up --replace <urn>`
    custom_timeouts: dict[str, float] = field(default_factory=dict)  # "create" / "update" / "delete" -> seconds


@dataclass
class ResourceState:
    urn: str
    id: str
    inputs: dict
    outputs: dict
    timeouts: dict = field(default_factory=dict)  # the customTimeouts it was last created or updated with


@dataclass
class Step:
    """What the engine decided for one resource: create, same, update, replace or delete."""

    op: str
    urn: str
    diff: DiffResult | None = None
    delete_before_replace: bool = False
    inputs: dict = field(default_factory=dict)  # the checked inputs the step goes on with


@dataclass
class Stack:
    """One stack's state and the engine's steps over it; `path` (optional) keeps the state in a JSON file."""

    host: ProviderHost
    path: str | Path | None = None
    resources: dict[str, ResourceState] = field(default_factory=dict)
    pending_deletes: list[ResourceState] = field(default_factory=list)

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

    # --- planning --------------------------------------------------------------------------------------------------

    def _old(self, urn: str, options: Options) -> ResourceState | None:
        for candidate in (urn, *options.aliases):
            if candidate in self.resources:
                return self.resources[candidate]
        return None

    def _check(self, urn: str, olds: dict, news: dict) -> dict:
        result = self.host.check(urn, olds, news)
        if result.failures:
            raise CheckRejected(urn, result.failures)
        return result.inputs

    def _plan(self, urn: str, news: dict, options: Options) -> tuple[Step, ResourceState | None]:
        old = self._old(urn, options)
        if old is None:
            return Step("create", urn, inputs=self._check(urn, {}, news)), None
        if options.replace:
            return Step("replace", urn, DiffResult(True, ["id"], [], False, []), bool(options.delete_before_replace),
                        self._check(urn, {}, news)), old
        ignored = {key: old.inputs[key] for key in options.ignore_changes if key in old.inputs}
        checked = self._check(urn, old.inputs, {**news, **ignored})
        diff = self.host.diff(old.id, urn, old.outputs, checked, old_inputs=old.inputs,
                              ignore_changes=list(options.ignore_changes))
        if not diff.changes:
            return Step("same", urn, diff, inputs=checked), old
        if not diff.replaces:
            return Step("update", urn, diff, inputs=checked), old
        delete_first = diff.delete_before_replace if options.delete_before_replace is None \
            else options.delete_before_replace
        return Step("replace", urn, diff, delete_first, self._check(urn, {}, news)), old

    # --- operations ------------------------------------------------------------------------------------------------

    def preview(self, urn: str, news: dict, options: Options = Options()) -> Step:
        """Check and Diff only (the dynamic host does not preview creates); raises CheckRejected like the CLI."""
        return self._plan(urn, news, options)[0]

    def up(self, urn: str, news: dict, options: Options = Options()) -> Step:
        step, old = self._plan(urn, news, options)
        checked = step.inputs
        try:
            if step.op == "create":
                self._create(urn, checked, options)
            elif step.op == "same":
                self._move(old, urn).inputs = checked
            elif step.op == "update":
                assert old is not None
                outputs = self.host.update(old.id, urn, old.outputs, checked, old_inputs=old.inputs,
                                           timeout=options.custom_timeouts.get("update"))
                state = self._move(old, urn)
                state.inputs, state.outputs, state.timeouts = checked, outputs, dict(options.custom_timeouts)
            elif step.delete_before_replace:
                assert old is not None
                self.host.delete(old.id, old.urn, old.outputs, old_inputs=old.inputs,
                                 timeout=old.timeouts.get("delete"))
                self.resources.pop(old.urn)
                self._create(urn, checked, options)
            else:
                assert old is not None
                self.resources.pop(old.urn)
                try:
                    self._create(urn, checked, options)
                except BaseException:
                    self.resources[old.urn] = old  # a failed create leaves the old resource as it was
                    raise
                self.pending_deletes.append(old)
        finally:
            self._save()
        self._delete_pending()
        return step

    def _move(self, old: ResourceState | None, urn: str) -> ResourceState:
        assert old is not None
        self.resources.pop(old.urn)
        old.urn = urn
        self.resources[urn] = old
        return old

    def _create(self, urn: str, checked: dict, options: Options) -> None:
        # a failed create leaves nothing in the state
        id_, outputs = self.host.create(urn, checked, timeout=options.custom_timeouts.get("create"))
        self.resources[urn] = ResourceState(urn, id_, checked, outputs, dict(options.custom_timeouts))

    def _delete_pending(self) -> None:
        """Delete replaced resources with their own old inputs; any that fail stay pending and raise."""
        errors = []
        for old in list(self.pending_deletes):
            try:
                self.host.delete(old.id, old.urn, old.outputs, old_inputs=old.inputs,
                                 timeout=old.timeouts.get("delete"))
                self.pending_deletes.remove(old)
            except HostError as exc:
                errors.append(exc)
        self._save()
        if errors:
            raise errors[0]

    def import_(self, urn: str, id: str) -> None:
        """`pulumi import <type> <name> <id>` (and the `import` resource option): Read with the id alone; the
        inputs the provider answers become the resource's inputs in the state, so the next preview compares the
        program against them (the engine fails an import whose Check + Diff then show changes)."""
        id_, outputs, inputs = self.host.read_with_inputs(id, urn, {}, inputs={})
        if not id_:
            raise HostError(None, f"resource {id!r} does not exist: nothing to import")
        self.resources[urn] = ResourceState(urn, id_, inputs, outputs)
        self._save()

    def refresh(self, urn: str) -> str:
        """Read the resource; returns its id ("" once it is gone and was dropped from the state)."""
        state = self.resources[urn]
        id_, outputs = self.host.read(state.id, urn, state.outputs, inputs=state.inputs)
        if not id_:
            del self.resources[urn]
        else:
            state.outputs = outputs
        self._save()
        return id_

    def destroy(self, urn: str | None = None) -> None:
        """Delete one resource (or every one, and the pending deletes) with its state's inputs."""
        self._delete_pending()
        for state in [self.resources[urn]] if urn else list(self.resources.values())[::-1]:
            self.host.delete(state.id, state.urn, state.outputs, old_inputs=state.inputs,
                             timeout=state.timeouts.get("delete"))
            del self.resources[state.urn]
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
