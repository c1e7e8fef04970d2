"""The BlobStore protocol every backend implements, its optional abilities, and the rules they share.

Keys are content addresses made by picstore (``img/ab/cd/<sha256>.jpg``), never user input, but each store
still validates them so that a bug elsewhere can never write outside the store's root or prefix.

Invariants:

- Upper layers never ask which concrete store they hold. What only some backends can do is one small
  runtime-checkable protocol per ability (:class:`LocalFiles`, :class:`DirectPost`,
  :class:`IncomingSibling`, :class:`Encloses`, :class:`BucketSetup`), checked with ``isinstance``; a
  backend claims an ability by having its method, and :mod:`picstore.testing` then checks that it works.
- Stored bytes are checked against what the catalog recorded in one place: :func:`check_bytes`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol, runtime_checkable

from picstore.errors import IntegrityError, InvalidKey
from picstore.models import BlobInfo, BlobLocation

PutMode = Literal["create", "overwrite"]

#: Cache-Control of every blob, wherever it is served from: a key is a content address, so a URL never
#: changes meaning and any cache may keep it for a year.
IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"

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


# --- optional abilities ------------------------------------------------------------------------------


@runtime_checkable
class LocalFiles(Protocol):
    """Blobs are files this process can open: the web layer serves them with sendfile and Range."""

    def path_for(self, key: str) -> Path:
        """The real path of ``key``'s file (which may not exist); InvalidKey for a bad or escaping key."""
        ...


@dataclass(frozen=True)
class PresignedPost:
    """Where a browser posts its file and the form fields to send before the ``file`` field."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


@runtime_checkable
class DirectPost(Protocol):
    """A browser can POST a file straight into this store, under a policy the store signs."""

    def sign_post(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
        """A policy allowing one POST of 1..``max_bytes`` bytes of ``content_type`` to exactly ``key``,
        valid ``expires_in`` seconds (at most 900)."""
        ...


@runtime_checkable
class IncomingSibling(Protocol):
    """The store knows a private place beside itself where uploads wait until ingest has passed them."""

    def incoming_sibling(self) -> BlobStore:
        """A store nothing serves, beside this one and outside everything its public URLs reach."""
        ...


@runtime_checkable
class Encloses(Protocol):
    """The store can tell whether another location lies inside what its public reads reach."""

    def encloses(self, other: BlobStore) -> str | None:
        """None when ``other``'s blobs are out of reach of this store's public URLs (or web server);
        otherwise a sentence saying how they are reachable, for an error message. A store encloses
        itself."""
        ...


@dataclass(frozen=True)
class SetupResult:
    """What :meth:`BucketSetup.setup_bucket` did."""

    bucket: str
    created: bool
    public_read: bool
    policy: dict[str, Any] | None
    #: The CORS rule set on the bucket (browsers POST direct uploads to it).
    cors: dict[str, Any] | None = None


@runtime_checkable
class BucketSetup(Protocol):
    """The store's container (a bucket) can be created and its public-read policy applied."""

    def setup_bucket(self, *, public: bool | None = None) -> SetupResult:
        """Create the container if missing and apply the read policy; returns what was done."""
        ...


# --- shared rules --------------------------------------------------------------------------------------


def check_bytes(data: bytes, loc: BlobLocation, where: str) -> None:
    """Raise :class:`IntegrityError` unless ``data`` has the size and SHA-256 the catalog recorded."""
    if not matches(data, size=loc.size, sha256=loc.sha256):
        raise IntegrityError(
            f"{loc.key} in {where} does not match the catalog (size {len(data)} vs {loc.size}, or its "
            "SHA-256 differs): run `picstore verify` to list damaged blobs"
        )


def matches(data: bytes, *, size: int | None = None, sha256: str | None) -> bool:
    """True when ``data`` has ``size`` bytes (if given) and the SHA-256 ``sha256`` (if given)."""
    if size is not None and len(data) != size:
        return False
    return sha256 is None or hashlib.sha256(data).hexdigest() == sha256
