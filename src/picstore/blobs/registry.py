"""Turn a blob store URL from the settings into a store: the one place that knows every scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from picstore.blobs.base import BlobStore
from picstore.blobs.local import LocalStore
from picstore.blobs.memory import MemoryStore
from picstore.errors import ConfigError

#: Accepted URL forms, as shown in error messages.
SCHEMES = ("file:///path/to/dir", "s3://bucket/prefix", "memory://")


def open_blob_store(url: str, settings: object | None = None) -> BlobStore:
    """The blob store for ``url``: ``file://`` (local disk), ``s3://`` (S3-compatible) or ``memory://``.

    ``settings`` carries what a URL cannot (S3 credentials, endpoint, region); only S3 uses it.
    Raises :class:`~picstore.errors.ConfigError` for anything else.
    """
    scheme = urlsplit(url).scheme.lower() if isinstance(url, str) and "://" in url else ""
    if scheme == "memory":
        return MemoryStore.from_url(url)
    if scheme == "file":
        return LocalStore.from_url(url)
    if scheme == "s3":
        # Imported here so that file:// users never pay for the S3 client stack.
        from picstore.blobs.s3 import S3Store

        return S3Store.from_url(url, settings)
    raise ConfigError(f"unsupported blob store URL {url!r}: use one of {', '.join(SCHEMES)}")
