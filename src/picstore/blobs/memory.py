"""An in-process blob store for tests and demos.

Like httpx's ``MockTransport``, it ships in the package so that applications can test against picstore
without a disk or a bucket. Every ``MemoryStore`` is independent: two stores made from the same URL do not
share objects (there is no module-level state).
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO
from urllib.parse import urlsplit

from picstore.blobs.base import PutMode, validate_key, validate_prefix
from picstore.errors import AlreadyExists, ConfigError, NotFound
from picstore.models import BlobInfo

_NAME = re.compile(r"[A-Za-z0-9._-]*")


@dataclass(frozen=True)
class _Entry:
    data: bytes
    info: BlobInfo


class MemoryStore:
    """A thread-safe :class:`~picstore.blobs.base.BlobStore` that keeps objects in a dict.

    ``name`` only labels the store (``memory://name``), which helps when a test uses two of them.
    """

    def __init__(self, name: str = "") -> None:
        if not _NAME.fullmatch(name):
            raise ConfigError(f"invalid memory store name {name!r}: use letters, digits, '.', '_' or '-'")
        self.name = name
        self.url = f"memory://{name}"
        self._objects: dict[str, _Entry] = {}
        # One lock for the whole dict: the check-then-insert of create-only puts must be atomic.
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> MemoryStore:
        """Make a store from ``memory://`` or ``memory://name``."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "memory" or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigError(f"invalid memory store URL {url!r}: use memory:// or memory://name")
        return cls(parts.netloc)

    def put(self, key: str, data: bytes, *, content_type: str, mode: PutMode = "create") -> BlobInfo:
        """Store ``data`` under ``key``; create-only unless ``mode="overwrite"``."""
        validate_key(key)
        # Copy so that a caller mutating a bytearray afterwards cannot change what was stored.
        data = bytes(data)
        info = BlobInfo(
            key=key,
            size=len(data),
            content_type=content_type,
            etag='"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"',
            last_modified=datetime.now(UTC),
        )
        with self._lock:
            if mode == "create" and key in self._objects:
                raise AlreadyExists(f"blob {key!r} already exists in {self.url}")
            self._objects[key] = _Entry(data, info)
        return info

    def _entry(self, key: str) -> _Entry:
        validate_key(key)
        with self._lock:
            entry = self._objects.get(key)
        if entry is None:
            raise NotFound(f"no blob {key!r} in {self.url}")
        return entry

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; :class:`~picstore.errors.NotFound` if there are none."""
        return self._entry(key).data

    def open(self, key: str) -> BinaryIO:
        """A ``BytesIO`` over the stored bytes."""
        return io.BytesIO(self._entry(key).data)

    def head(self, key: str) -> BlobInfo:
        """Size, content type, etag and time of the object under ``key``."""
        return self._entry(key).info

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        validate_key(key)
        with self._lock:
            self._objects.pop(key, None)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Objects whose key starts with ``prefix`` (a plain string prefix, as in S3), sorted by key."""
        validate_prefix(prefix)
        # Snapshot under the lock so iteration never sees the dict change size.
        with self._lock:
            infos = [e.info for k, e in self._objects.items() if k.startswith(prefix)]
        infos.sort(key=lambda i: i.key)
        return iter(infos)

    def incoming_sibling(self) -> MemoryStore:
        """A new, separate store ``memory://<name>-incoming`` (nothing serves memory stores directly)."""
        return MemoryStore(f"{self.name or 'default'}-incoming")

    def public_url(self, key: str) -> str | None:
        """Always None: picstore serves memory blobs itself."""
        validate_key(key)
        return None

    def close(self) -> None:
        """Nothing to release; the objects stay readable."""

    def __repr__(self) -> str:
        return f"MemoryStore({self.url!r}, objects={len(self._objects)})"
