package main

import (
	"fmt"

	"github.com/pulumi-pcimage/pcimage/sdk/go/pcimage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func program(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "")
	os := pcimage.OperatingSystem(cfg.Get("os"))
	if os == "" {
		os = pcimage.OperatingSystemAlinux2023
	}
	instanceType := cfg.Get("instanceType")
	if instanceType == "" {
		instanceType = "c6i.xlarge"
	}

	// Asked during preview too: the provider answers with the official images of its region.
	architecture := pcimage.Architecture_X86_64
	parents, err := pcimage.GetOfficialImages(ctx, &pcimage.GetOfficialImagesArgs{Os: &os, Architecture: &architecture})
	if err != nil {
		return err
	}
	if len(parents.Images) == 0 {
		return fmt.Errorf("the ParallelCluster API lists no official %s x86_64 image in this region", os)
	}
	parent := parents.Images[0]
	for _, candidate := range parents.Images[1:] {
		if candidate.Name > parent.Name { // names end with the build date: the newest sorts last
			parent = candidate
		}
	}

	image, err := pcimage.NewCustomImage(ctx, "hpc-base", &pcimage.CustomImageArgs{
		ImageConfiguration: pcimage.ImageConfigurationArgs{
			Build: pcimage.ImageConfigurationBuildArgs{
				InstanceType:     pulumi.String(instanceType),
				ParentImage:      pulumi.String(parent.AmiId),
				UpdateOsPackages: pcimage.ImageConfigurationUpdateOsPackagesArgs{Enabled: pulumi.Bool(true)},
			},
			Image: pcimage.ImageConfigurationImageArgs{
				Tags: pcimage.ImageConfigurationTagArray{
					pcimage.ImageConfigurationTagArgs{Key: pulumi.String("team"), Value: pulumi.String("hpc")},
				},
			},
		},
	}, pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "2h", Delete: "30m"}))
	if err != nil {
		return err
	}

	ctx.Export("parentAmiId", pulumi.String(parent.AmiId))
	ctx.Export("imageId", image.ImageId)
	ctx.Export("amiId", image.AmiId)
	return nil
}
