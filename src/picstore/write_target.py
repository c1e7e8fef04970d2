"""Which blob store takes new writes, as the catalog says, cached for a few seconds per process.

Invariants: every process writes where the catalog's ``write_target`` row says, at most ``ttl`` seconds
late; the settings' storage URL only seeds that row for a new catalog, so a node restarted with old
settings keeps writing where the catalog says (and logs that its settings differ). A store a blob lives
in keeps serving it whatever the write target is: reads follow each blob's own row.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from picstore.blobs.base import BlobStore
from picstore.catalog.targets import WriteTargets
from picstore.errors import NotFound, PicstoreError
from picstore.keys import new_id

log = logging.getLogger("picstore.storage")


def check_store(blobs: BlobStore) -> None:
    """Raise unless ``blobs`` answers: a missing bucket or refused credentials raise
    :class:`~picstore.errors.StorageMisconfigured` at once."""
    # A GET, not a HEAD: only a GET's error body tells a missing bucket from a missing object.
    with contextlib.suppress(NotFound):
        blobs.get(f"health/{new_id(6)}")


class WriteTarget:
    """The catalog's write target for one process: read at start, then again once ``ttl`` has passed."""

    def __init__(self, targets: WriteTargets, open_store: Callable[[str], BlobStore], ttl: float) -> None:
        self._targets = targets
        self._open = open_store
        self._ttl = ttl
        self._url = ""
        self._read_at = 0.0
        self._lock = threading.Lock()

    def start(self, default: str) -> str:
        """Record ``default`` as the target of a new catalog; read (and return) the catalog's target."""
        url = self._targets.ensure(default)
        if url != default:
            log.warning(
                "PICSTORE_STORAGE is %s but the catalog's write target is %s: new blobs go to the "
                "catalog's (set PICSTORE_STORAGE to match, or switch with `picstore storage use`)",
                default,
                url,
            )
        self._set(url)
        return url

    def _set(self, url: str) -> None:
        with self._lock:
            self._url = url
            self._read_at = time.monotonic()

    def url(self) -> str:
        """The current write target's URL (re-read from the catalog once ``ttl`` has passed)."""
        if time.monotonic() - self._read_at >= self._ttl:
            try:
                found = self._targets.current()
            except PicstoreError as exc:
                # The catalog is down: writes fail there anyway; keep the last known target meanwhile.
                log.warning("could not re-read the write target (%s); keeping %s", exc, self._url)
                found = None
            if found is not None and found != self._url:
                log.info("write target switched from %s to %s", self._url, found)
            self._set(found or self._url)
        return self._url

    def store(self) -> BlobStore:
        """The store new blobs are written to now."""
        return self._open(self.url())

    def switch(self, url: str) -> str | None:
        """Make ``url`` the write target of every node; returns the previous target.

        An unusable URL, a missing bucket or refused credentials are refused before the catalog changes.
        """
        check_store(self._open(url))
        previous = self._targets.switch(url)
        self._set(url)
        return previous
