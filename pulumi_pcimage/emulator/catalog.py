"""Static facts the emulator serves: official images, instance types, naming of ParallelCluster's resources."""

from __future__ import annotations

import hashlib
import re

VERSION = "3.16.1"  # the aws-parallelcluster release whose API is emulated
ACCOUNT = "123456789012"

# os name → the part of the official AMI name that identifies it (pcluster.constants.OS_TO_IMAGE_NAME_PART_MAP);
# the keys are 3.16.1's SUPPORTED_OSES, in its order (error messages list them), without alinux2 and ubuntu2004.
OS_NAME_PARTS = {
    "alinux2023": "amzn2023-hvm",
    "ubuntu2204": "ubuntu-2204-lts-hvm",
    "ubuntu2404": "ubuntu-2404-lts-hvm",
    "rhel8": "rhel8-hvm",
    "rocky8": "rocky8-hvm",
    "rhel9": "rhel9-hvm",
    "rocky9": "rocky9-hvm",
}
SUPPORTED_OSES = list(OS_NAME_PARTS)
SUPPORTED_ARCHITECTURES = ["x86_64", "arm64"]

# A `g` right after the generation digit marks Graviton (c7g, m6gd, t4g, r7gd, c8g, hpc7g, im4gn); a1 is Graviton 1.
_GRAVITON = re.compile(r"^(a1|[a-z]+\d+g[a-z0-9-]*)\.")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9]*\d[a-z0-9-]*\.(nano|micro|small|medium|large|\d*xlarge|metal(-\d+xl)?)$")


def digest(*parts: object, length: int) -> str:
    """Deterministic hex digits derived from `parts` (ids that look random but are reproducible)."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


def architecture_of(instance_type: str) -> str:
    return "arm64" if _GRAVITON.match(instance_type) else "x86_64"


def is_instance_type(instance_type: str) -> bool:
    return bool(_INSTANCE_TYPE.match(instance_type))


def official_images(region: str) -> list[dict]:
    """The official ParallelCluster AMIs of `region`, as ListOfficialImages returns them."""
    return [
        {
            "amiId": "ami-" + digest("official", region, os, arch, length=17),
            "os": os,
            "name": f"aws-parallelcluster-{VERSION}-{part}-{arch}-202510211627 2025-10-21T16-30-59.613Z",
            "architecture": arch,
            "version": VERSION,
        }
        for os, part in OS_NAME_PARTS.items()
        for arch in SUPPORTED_ARCHITECTURES
    ]


def official_ami_id(region: str, os: str = "alinux2023", architecture: str = "x86_64") -> str:
    """The id of an official image in `region` (AMI ids differ between regions, as on AWS): a valid parent."""
    return next(image["amiId"] for image in official_images(region)
                if image["os"] == os and image["architecture"] == architecture)


def official_image(region: str, ami_id: str) -> dict | None:
    return next((image for image in official_images(region) if image["amiId"] == ami_id), None)


def stack_arn(region: str, image_id: str, created_at: float) -> str:
    uid = digest("stack", region, image_id, created_at, length=32)
    return (f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{image_id}/"
            f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:]}")


def log_group(image_id: str) -> str:
    return f"/aws/imagebuilder/ParallelClusterImage-{image_id}"


def log_group_arn(region: str, image_id: str) -> str:
    return f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{log_group(image_id)}"


def bucket(region: str) -> str:
    return f"parallelcluster-{digest('bucket', region, length=16)}-v1-do-not-delete"


def artifact_dir(region: str, image_id: str, created_at: float) -> str:
    return f"parallelcluster/{VERSION}/images/{image_id}-{digest('dir', region, image_id, created_at, length=16)}"
