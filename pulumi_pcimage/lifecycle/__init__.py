"""The CustomImage lifecycle over plain values: check / diff / create / read / update / delete.

One core for every face: the Python dynamic provider (`provider.py`) adapts it to `pulumi.dynamic`, and the package
provider (`package/server.py`) to its own protocol. It knows no face: inputs and outputs are plain dicts (unknown
values are `pulumi.output.Unknown`), results are small dataclasses, errors are `PcImageError`s. It keeps nothing at
module level: what a provider process remembers between calls (clients, dry runs, adoptions, declared
generations) is a `HostState` the face owns and passes in.

One concern per module:

- `core`: the façade, `Lifecycle` (create, read, update, delete; check and diff from `checking`);
- `checking`: identity, the configuration, the dry run; diff;
- `building`: build, reconcile with what the API holds, wait, the failure report;
- `deleting`: wait out a build, delete, retry, advise;
- `messages`: refusals, advice, validation messages, secret redaction;
- `base`: what the parts share (stack config, hooks, state, clients);
- `state`: `HostState` and how clients are made;
- `values`: results, hooks, settings and outputs, the comparisons check, diff and build share.

This package's own names are the ones below; the rest is internal.
"""

from ..errors import BuildFailed, DeleteFailed, DeleteRefused, ImageClash
from .checking import configuration_changes
from .core import Lifecycle
from .state import DRYRUN_MAX_ATTEMPTS, HOST_MAX_ATTEMPTS, ApiClient, HostState, make_client
from .values import (DERIVED, GOING, PROVIDER_KEY, UNFINISHED, Checked, Failure, Hooks, Plan, is_unknown, log,
                     outputs, settings)

__all__ = [
    "DERIVED", "DRYRUN_MAX_ATTEMPTS", "GOING", "HOST_MAX_ATTEMPTS", "PROVIDER_KEY", "UNFINISHED", "ApiClient",
    "BuildFailed", "Checked", "DeleteFailed", "DeleteRefused", "Failure", "Hooks", "HostState", "ImageClash",
    "Lifecycle", "Plan", "configuration_changes", "is_unknown", "log", "make_client", "outputs", "settings",
]
