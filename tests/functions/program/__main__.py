"""The functions in a program: plain calls run during preview; output forms wait for what their inputs come from."""

import pulumi

from pulumi_pcimage import (CustomImage, get_image_output, get_official_images, get_official_images_output,
                            list_images_output)

config = pulumi.Config()
parent = get_official_images(os="alinux2023", architecture="x86_64")[0]
image = CustomImage("probe", image_configuration={
    "Build": {"InstanceType": "c6i.xlarge", "ParentImage": parent.ami_id, "UpdateOsPackages": {"Enabled": True}}})

# image_id is known in a preview (derived in the program), but the image it names does not exist yet.
described = get_image_output(image.image_id, region=image.region)
# architecture comes from the API once the image is built: unknown in a preview.
same_architecture = get_official_images_output(os="alinux2023", architecture=image.architecture)
# Nothing unknown and no resource behind it: answered in a preview too.
chosen = get_official_images_output(os=config.get("os") or "rocky9", architecture=pulumi.Output.from_input("arm64"))
listed = list_images_output(config.get("status") or "AVAILABLE")

pulumi.export("parent_ami_id", parent.ami_id)
pulumi.export("described_ami_id", described.ami_id)
pulumi.export("described_architecture", described.architecture)
pulumi.export("same_architecture", same_architecture.apply(lambda images: [i.ami_id for i in images]))
pulumi.export("chosen", chosen.apply(lambda images: [(i.os, i.architecture) for i in images]))
pulumi.export("listed", listed.apply(lambda images: sorted(i.image_id for i in images)))
