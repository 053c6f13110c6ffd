import * as pulumi from "@pulumi/pulumi";
import * as pcimage from "@pulumi-pcimage/pcimage";

const config = new pulumi.Config();
const os = config.get("os") ?? "alinux2023";
const instanceType = config.get("instanceType") ?? "c6i.xlarge";

function isOperatingSystem(value: string): value is pcimage.OperatingSystem {
    return (Object.values(pcimage.OperatingSystem) as string[]).includes(value);
}
if (!isOperatingSystem(os)) {
    throw new Error(`typescript:os is ${os}: it must be one of ${Object.values(pcimage.OperatingSystem).join(", ")}`);
}

// Asked during preview too: the provider answers with the official images of its region.
const parent = pcimage.getOfficialImagesOutput({ os, architecture: pcimage.Architecture.X86_64 }).images.apply(images => {
    if (images.length === 0) {
        throw new Error(`the ParallelCluster API lists no official ${os} x86_64 image in this region`);
    }
    // names end with the build date: the newest sorts last
    return images.reduce((newest, image) => (image.name > newest.name ? image : newest));
});

const image = new pcimage.CustomImage("hpc-base", {
    imageConfiguration: {
        Build: {
            InstanceType: instanceType,
            ParentImage: parent.amiId,
            UpdateOsPackages: { Enabled: true },
        },
        Image: { Tags: [{ Key: "team", Value: "hpc" }] },
    },
}, { customTimeouts: { create: "2h", delete: "30m" } });

export const parentAmiId = parent.amiId;
export const imageId = image.imageId;
export const amiId = image.amiId;
