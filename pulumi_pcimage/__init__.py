"""Pulumi dynamic provider for AWS ParallelCluster custom images."""

from typing import TYPE_CHECKING, Any

from ._version import __version__

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
    from .fields import reference_table_markdown as reference_table_markdown
    from .functions import ImageInfo as ImageInfo
    from .functions import ImageSummary as ImageSummary
    from .functions import OfficialImage as OfficialImage
    from .functions import get_image as get_image
    from .functions import get_image_output as get_image_output
    from .functions import get_official_images as get_official_images
    from .functions import get_official_images_output as get_official_images_output
    from .functions import list_images as list_images
    from .functions import list_images_output as list_images_output
    from .identity import derive_image_id as derive_image_id
    from .provider import CustomImageProvider as CustomImageProvider
    from .resource import CustomImage as CustomImage
    from .resource import CustomImageArgs as CustomImageArgs


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
