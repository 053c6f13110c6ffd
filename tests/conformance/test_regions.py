"""pulumi_pcimage.regions is aws-parallelcluster 3.16.1's own list of supported regions."""

from __future__ import annotations

from importlib import resources

from pulumi_pcimage import regions


def test_the_supported_regions_are_aws_parallelclusters_own():
    shipped = resources.files("pcluster").joinpath("resources", "supported-regions").read_text().split()
    assert list(regions.SUPPORTED_REGIONS) == shipped


def test_a_mistyped_region_is_not_supported():
    assert regions.is_supported("us-east-1") and not regions.is_supported("us-eest-1")
    assert regions.unsupported_message("us-eest-1") == "invalid or unsupported region 'us-eest-1'"
