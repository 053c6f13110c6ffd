"""Pulumi dynamic provider for AWS ParallelCluster custom images."""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Loaded on first use so that `pulumi_pcimage.emulator` (and the client) never import the Pulumi SDK.
_LAZY = {
    "CustomImage": "resource",
    "CustomImageArgs": "resource",
    "derive_image_id": "identity",
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

if TYPE_CHECKING:  # what type checkers (and editors) see; at run time the names load lazily, below
    from .fields import reference_table_markdown
    from .functions import (ImageInfo, ImageSummary, OfficialImage, get_image, get_image_output,
                            get_official_images, get_official_images_output, list_images, list_images_output)
    from .identity import derive_image_id
    from .provider import CustomImageProvider
    from .resource import CustomImage, CustomImageArgs


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
