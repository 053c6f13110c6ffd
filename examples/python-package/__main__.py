"""One ParallelCluster custom image through the pcimage package (the provider plugin `pulumi-resource-pcimage`) and
its generated Python SDK, `pulumi_pcimage_sdk` (sdk/python): the TypeScript and Go examples' program in Python."""

import pulumi
import pulumi_pcimage_sdk as pcimage

config = pulumi.Config()
os_name = pcimage.OperatingSystem(config.get("os") or "alinux2023")
instance_type = config.get("instanceType") or "c6i.xlarge"

# Asked during preview too: the provider answers with the official images of its region.
parents = pcimage.get_official_images(os=os_name, architecture=pcimage.Architecture.X86_64).images
if not parents:
    raise ValueError(f"the ParallelCluster API lists no official {os_name.value} x86_64 image in this region")
parent = max(parents, key=lambda image: image.name)  # names end with the build date: the newest sorts last

image = pcimage.CustomImage(
    "hpc-base",
    image_configuration=pcimage.ImageConfigurationArgs(
        build=pcimage.ImageConfigurationBuildArgs(
            instance_type=instance_type,
            parent_image=parent.ami_id,
            update_os_packages=pcimage.ImageConfigurationUpdateOsPackagesArgs(enabled=True),
        ),
        image=pcimage.ImageConfigurationImageArgs(tags=[pcimage.ImageConfigurationTagArgs(key="team", value="hpc")]),
    ),
    opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="2h", delete="30m")),
)

pulumi.export("parentAmiId", parent.ami_id)
pulumi.export("imageId", image.image_id)
pulumi.export("amiId", image.ami_id)
