"""The AWS regions ParallelCluster 3.16.1 supports: neutral data shared by the provider side and the emulator.

Copied from `pcluster/resources/supported-regions` of aws-parallelcluster 3.16.1 (the list its API falls back to;
`tests/conformance/test_regions.py` compares). A region outside it is answered 400 "invalid or unsupported region"
by every operation, so it is refused locally before anything is sent.
"""

from __future__ import annotations

SUPPORTED_REGIONS: tuple[str, ...] = (
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
    "ap-southeast-3", "ap-southeast-5", "ap-southeast-7", "ca-central-1", "cn-north-1", "cn-northwest-1",
    "eu-central-1", "eu-north-1", "eu-south-1", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-south-1",
    "sa-east-1", "us-east-1", "us-east-2", "us-iso-east-1", "us-iso-west-1", "us-isob-east-1", "us-gov-east-1",
    "us-gov-west-1", "us-west-1", "us-west-2",
)

# The same list as a regular expression, for checks that are declared as patterns.
PATTERN = "^(" + "|".join(SUPPORTED_REGIONS) + ")$"


def is_supported(region: str) -> bool:
    return region in SUPPORTED_REGIONS


def unsupported_message(region: str) -> str:
    """AWS's own wording (pcluster.api.controllers.common._set_region)."""
    return f"invalid or unsupported region '{region}'"
