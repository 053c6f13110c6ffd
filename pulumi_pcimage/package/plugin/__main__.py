"""The `pcimage` provider plugin, as `pulumi package add <plugin dir>` runs it (same as `pulumi-resource-pcimage`)."""

from pulumi_pcimage.package.server import main

if __name__ == "__main__":
    main()
