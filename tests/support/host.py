"""The host harness ships in the package (``pulumi_pcimage.testing``); tests import it from here too."""

from pulumi_pcimage.testing.host import (  # noqa: F401
    UNKNOWN, CheckResult, DiffResult, HostError, ProviderHost, _plain, provider_value, urn,
)
