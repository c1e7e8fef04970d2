"""picstore: store, clean and serve the pictures your application's customers upload.

The one class an application uses is :class:`ImageStore`; everything it raises is a
:class:`PicstoreError` with a stable ``code``.
"""

from picstore import errors
from picstore.errors import ImageRejected, NotFound, PicstoreError
from picstore.models import Image, ImageUrls, Page, Tenant, Variant
from picstore.settings import Settings, load_settings
from picstore.store import ImageStore

__version__ = "0.1.0"

__all__ = [
    "Image",
    "ImageRejected",
    "ImageStore",
    "ImageUrls",
    "NotFound",
    "Page",
    "PicstoreError",
    "Settings",
    "Tenant",
    "Variant",
    "__version__",
    "errors",
    "load_settings",
]
