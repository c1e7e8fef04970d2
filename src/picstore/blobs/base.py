"""The BlobStore protocol every backend implements, and the key rules they share.

Keys are content addresses made by picstore (``img/ab/cd/<sha256>.jpg``), never user input, but each store
still validates them so that a bug elsewhere can never write outside the store's root or prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, Literal, Protocol, runtime_checkable

from picstore.errors import InvalidKey
from picstore.models import BlobInfo

PutMode = Literal["create", "overwrite"]

_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
MAX_KEY_LENGTH = 512


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise :class:`InvalidKey`.

    A key is ``/``-separated segments of ``[A-Za-z0-9._-]``; no segment is empty, starts with a dot
    (no ``.``, ``..`` or hidden files) or holds anything a filesystem or URL would reinterpret.
    """
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"invalid blob key {key!r}: must be 1-{MAX_KEY_LENGTH} characters")
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment):  # fullmatch: `$` alone would accept a trailing newline
            raise InvalidKey(f"invalid blob key {key!r}: bad segment {segment!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """Return a listing prefix if it is empty or a valid key start (a trailing ``/`` is allowed)."""
    if prefix:
        validate_key(prefix.rstrip("/"))
    return prefix


@runtime_checkable
class BlobStore(Protocol):
    """A flat namespace of immutable byte objects.

    ``put`` with ``mode="create"`` is create-only: when the key exists it raises
    :class:`~picstore.errors.AlreadyExists` and leaves the existing bytes alone, which makes
    content-addressed writes race-safe. ``get``/``open``/``head`` raise :class:`~picstore.errors.NotFound`
    for a missing key; ``delete`` of a missing key is not an error.
    """

    #: The URL this store was made from (``file:///srv/blobs``, ``s3://bucket/prefix``, ``memory://``).
    url: str

    def put(self, key: str, data: bytes, *, content_type: str, mode: PutMode = "create") -> BlobInfo: ...

    def get(self, key: str) -> bytes: ...

    def open(self, key: str) -> BinaryIO: ...

    def head(self, key: str) -> BlobInfo: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str = "") -> Iterator[BlobInfo]: ...

    def public_url(self, key: str) -> str | None:
        """A URL a browser can fetch the blob from directly, or None if picstore must serve it."""
        ...

    def close(self) -> None: ...
