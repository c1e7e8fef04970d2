"""Writing blobs the crash-safe way, one rule for uploads and transform renditions alike.

1. The blob rows are reserved in the catalog before any byte is written (:func:`reserved`): ``gc`` never
   takes a reserved row, whatever its grace period, and a crash leaves a reservation whose lease runs out.
2. The bytes are written create-only under their content address (:func:`write_blob`), so a retry or a
   race rewrites nothing.
3. One catalog transaction records what uses the rows (an image, a rendition) and claims them. When
   anything fails before that, the reservation is given back and the rows become ordinary orphans.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence

from picstore.blobs.base import BlobStore, matches
from picstore.catalog.blobs import BlobRows
from picstore.catalog.reservations import Reservation
from picstore.errors import AlreadyExists
from picstore.models import BlobLocation


@contextlib.contextmanager
def reserved(rows: BlobRows, planned: Sequence[BlobLocation]) -> Iterator[Reservation]:
    """Hold ``planned``'s blob rows for the block; give them back if the block raises."""
    reservation = rows.reserve(planned)
    try:
        yield reservation
    except BaseException:
        # If the catalog itself is gone, the lease runs out instead.
        with contextlib.suppress(Exception):
            rows.release(reservation)
        raise


def write_blob(
    blobs: BlobStore, rows: BlobRows, planned: BlobLocation, data: bytes, *, keyed_by_bytes: bool
) -> BlobLocation:
    """Write ``data`` create-only under ``planned.key``; returns what is really stored there.

    ``keyed_by_bytes``: the key is the hash of these bytes (a master), so bytes already stored under it
    are these. Otherwise (a variant, keyed by the hash of its spec) another libvips may have rendered other
    bytes under the key: those are kept, and their real size and hash are recorded.
    """
    try:
        blobs.put(planned.key, data, content_type=planned.content_type, mode="create")
    except AlreadyExists:
        if not keyed_by_bytes:
            stored = blobs.get(planned.key)
            if not matches(stored, size=planned.size, sha256=planned.sha256):
                actual = BlobLocation(
                    planned.key,
                    planned.store_url,
                    len(stored),
                    hashlib.sha256(stored).hexdigest(),
                    planned.content_type,
                )
                rows.record_bytes(actual)
                return actual
    return planned
