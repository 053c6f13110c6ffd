"""Pulumi dynamic provider for AWS ParallelCluster custom images."""

__version__ = "0.1.0"

# Loaded on first use so that `pulumi_pcimage.emulator` (and the client) never import the Pulumi SDK.
_LAZY = {
    "CustomImage": "resource",
    "CustomImageArgs": "resource",
    "derive_image_id": "resource",
    "CustomImageProvider": "provider",
    "reference_table_markdown": "fields",
    "get_official_images": "functions",
    "get_official_images_output": "functions",
    "list_images": "functions",
    "list_images_output": "functions",
    "get_image": "functions",
    "get_image_output": "functions",
    "OfficialImage": "functions",
    "ImageSummary": "functions",
    "ImageInfo": "functions",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
