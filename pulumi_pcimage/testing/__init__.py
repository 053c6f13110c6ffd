"""Run Pulumi programs and providers without the Pulumi CLI: for tests, and for trying the package locally.

``ProviderHost`` launches the SDK's real dynamic provider host (``python -m pulumi.dynamic``) and plays the engine's
part over gRPC; ``run_program`` runs a program under ``pulumi.runtime`` mocks that forward every dynamic resource to
that host (Check, then Create); ``Stack`` keeps a state between runs and plays the engine's full step sequences
(preview, up with updates and replacements, refresh, destroy), each command in a provider process of its own,
as the CLI runs it. Together with ``pulumi_pcimage.emulator.Emulator`` a whole program can be built, inspected and
destroyed on one machine.
"""

from pulumi_pcimage.testing.values import UNKNOWN, urn
from pulumi_pcimage.testing.host import (
    CheckResult, DiffResult, HostError, PartialFailure, ProviderHost, provider_value,
)
from pulumi_pcimage.testing.engine import (
    CheckRejected, Command, Options, ResourceState, Stack, StackResource, Step,
)
from pulumi_pcimage.testing.program import (
    CheckFailed, ProgramRun, RegisteredResource, destroy_program, run_program,
)

__all__ = [
    "UNKNOWN", "CheckFailed", "CheckRejected", "CheckResult", "Command", "DiffResult", "HostError", "Options",
    "PartialFailure", "ProgramRun", "ProviderHost", "RegisteredResource", "ResourceState", "Stack", "StackResource",
    "Step", "destroy_program", "provider_value", "run_program", "urn",
]
