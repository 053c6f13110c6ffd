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


def test_custom_images_region_input_is_checked_against_the_same_list():
    from pulumi_pcimage.fields import BY_NAME

    region = BY_NAME["region"]
    assert region.problems("eu-south-1") == []
    [problem] = region.problems("us-eest-1")  # matches the old pattern, refused by AWS with a 400
    assert problem.startswith("region 'us-eest-1' must match ^(af-south-1|") and "|us-west-2)$" in problem
