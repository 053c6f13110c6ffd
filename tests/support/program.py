"""The program runner ships in the package (``pulumi_pcimage.testing``); tests import it from here too."""

from pulumi_pcimage.testing.program import (  # noqa: F401
    CheckFailed, ProgramRun, RegisteredResource, run_program,
)
