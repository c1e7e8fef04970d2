"""Moving every blob to another store, proving each copy before the catalog points at it.

Per blob: read it from where the catalog says it lives, check it against the recorded size and SHA-256,
write it to the target create-only, read the target's copy back and check it again, and only then flip
the blob's location in the catalog. Each flip is its own transaction, so a migration killed at any point
resumes where it stopped; a blob already in the target is verified, not copied again, and a second run
over a finished migration copies nothing. The source is never modified.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from picstore.blobs.base import BlobStore, check_bytes
from picstore.errors import AlreadyExists, PicstoreError
from picstore.models import BlobLocation
from picstore.store import ImageStore

Progress = Callable[[BlobLocation], None]


@dataclass
class MigrationReport:
    """What a migration run did."""

    target: str
    total: int = 0
    copied: int = 0
    already_there: int = 0
    bytes_copied: int = 0
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every blob now lives, verified, in the target."""
        return not self.failed


def copy_blob(store: ImageStore, loc: BlobLocation, target: BlobStore) -> bool:
    """Copy one blob to ``target``, verify the copy, flip its location; False when it was already there."""
    data = store.store_for(loc.store_url).get(loc.key)
    check_bytes(data, loc, loc.store_url)
    written = True
    try:
        target.put(loc.key, data, content_type=loc.content_type, mode="create")
    except AlreadyExists:
        written = False  # an earlier, interrupted run got this far: verify below, then flip
    check_bytes(target.get(loc.key), loc, target.url)
    store.catalog.blobs.move(loc.key, target.url)
    return written


def migrate(
    store: ImageStore,
    target_url: str,
    *,
    workers: int = 8,
    progress: Progress | None = None,
) -> MigrationReport:
    """Move every catalogued blob that is not yet in ``target_url`` there, ``workers`` at a time."""
    target = store.store_for(target_url)
    pending = [loc for loc in store.catalog.blobs.walk() if loc.store_url != target.url]
    report = MigrationReport(target=target.url, total=len(pending))
    lock = threading.Lock()

    def one(loc: BlobLocation) -> None:
        try:
            written = copy_blob(store, loc, target)
        except (PicstoreError, OSError) as exc:
            with lock:
                report.failed[loc.key] = str(exc)
        else:
            with lock:
                if written:
                    report.copied += 1
                    report.bytes_copied += loc.size
                else:
                    report.already_there += 1
        if progress is not None:
            progress(loc)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="migrate") as pool:
        list(pool.map(one, pending))
    return report
