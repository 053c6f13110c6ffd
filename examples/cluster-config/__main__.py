"""A custom image and the ParallelCluster cluster configuration that uses it, ready for `pcluster create-cluster`."""

import pulumi
import yaml

from pulumi_pcimage import CustomImage, get_official_images

config = pulumi.Config()
os_name = config.get("os") or "alinux2023"
subnet_id = config.require("subnetId")  # a subnet of your VPC, for the head node and the compute nodes
key_name = config.get("keyName")  # optional EC2 key pair for SSH to the head node

parent = max(get_official_images(os=os_name, architecture="x86_64"), key=lambda image: image.name)
image = CustomImage(
    "hpc-base",
    image_configuration={
        "Build": {"InstanceType": "c6i.xlarge", "ParentImage": parent.ami_id,
                  "UpdateOsPackages": {"Enabled": True}},
        "Image": {"Name": f"hpc-base-{os_name}"},
    },
)


def cluster_configuration(ami_id: str, region: str) -> str:
    """ParallelCluster 3 cluster configuration whose nodes all boot the custom image."""
    head_node = {"InstanceType": "c6i.large", "Networking": {"SubnetId": subnet_id}}
    if key_name:
        head_node["Ssh"] = {"KeyName": key_name}
    doc = {
        "Region": region,  # where the image was built: clusters boot it there
        "Image": {"Os": os_name, "CustomAmi": ami_id},
        "HeadNode": head_node,
        "Scheduling": {
            "Scheduler": "slurm",
            "SlurmQueues": [{
                "Name": "compute",
                "ComputeResources": [{"Name": "c6i", "InstanceType": "c6i.4xlarge", "MinCount": 0, "MaxCount": 8}],
                "Networking": {"SubnetIds": [subnet_id]},
            }],
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


pulumi.export("ami_id", image.ami_id)
pulumi.export("cluster_config", pulumi.Output.all(image.ami_id, image.region).apply(
    lambda values: cluster_configuration(*values)))
