"""An x86_64 and an arm64 image from one shared base configuration; Pulumi builds both at the same time."""

import copy

import pulumi

from pulumi_pcimage import CustomImage, get_official_images

config = pulumi.Config()
os_name = config.get("os") or "alinux2023"

# What both images share; each architecture only adds its build instance and parent image.
BASE = {
    "Build": {"UpdateOsPackages": {"Enabled": True}},
    "Image": {"RootVolume": {"Size": 60}, "Tags": [{"Key": "team", "Value": "hpc"}]},
}
BUILD_INSTANCES = {"x86_64": "c6i.xlarge", "arm64": "c7g.xlarge"}


def configuration_for(architecture: str) -> dict:
    parent = max(get_official_images(os=os_name, architecture=architecture), key=lambda image: image.name)
    doc = copy.deepcopy(BASE)
    doc["Build"].update(InstanceType=BUILD_INSTANCES[architecture], ParentImage=parent.ami_id)
    doc["Image"]["Name"] = f"hpc-{os_name}-{architecture}"
    return doc


images = {arch: CustomImage(f"hpc-{arch}", image_configuration=configuration_for(arch)) for arch in BUILD_INSTANCES}

pulumi.export("ami_ids", {arch: image.ami_id for arch, image in images.items()})
pulumi.export("architectures", {arch: image.architecture for arch, image in images.items()})
