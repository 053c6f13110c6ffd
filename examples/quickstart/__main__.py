"""One ParallelCluster custom image, built from the newest official ParallelCluster image for the chosen OS."""

import pulumi

from pulumi_pcimage import CustomImage, get_official_images

config = pulumi.Config()
os_name = config.get("os") or "alinux2023"
architecture = config.get("architecture") or "x86_64"
# The build instance must match the parent image's architecture (c7g is Graviton, arm64).
instance_type = config.get("instanceType") or {"x86_64": "c6i.xlarge", "arm64": "c7g.xlarge"}[architecture]

# Runs in the program, during preview too; the API answers with the images of the stack's region.
parents = get_official_images(os=os_name, architecture=architecture)
if not parents:
    raise ValueError(f"the ParallelCluster API lists no official {os_name} {architecture} image in this region")
parent = max(parents, key=lambda image: image.name)  # names end with the build date: the newest sorts last

image = CustomImage(
    "hpc-base",
    image_configuration={
        "Build": {
            "InstanceType": instance_type,
            "ParentImage": parent.ami_id,
            "UpdateOsPackages": {"Enabled": True},
        },
        "Image": {"Name": "hpc-base", "Tags": [{"Key": "team", "Value": "hpc"}]},
    },
)

pulumi.export("parent_ami_id", parent.ami_id)
pulumi.export("image_id", image.image_id)
pulumi.export("ami_id", image.ami_id)
