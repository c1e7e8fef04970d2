"""Moving every blob to another store, proving each copy before the catalog points at it.

Order of a run: check that the target answers and takes writes (a missing bucket or refused credentials
stop the run before anything changes); make the target the catalog's write target, so every node sends
new uploads there within ``target_ttl`` seconds, and wait that long; then walk the catalog in key order,
a page at a time (:mod:`picstore.ops.walk`: memory stays flat whatever the catalog's size).

Per blob: read it from where the catalog says it lives, check it against the recorded size and SHA-256,
write it to the target create-only, prove the copy (the server's MD5 ETag of the write must be the MD5 of
these bytes; where a store gives no such ETag, or with ``read_back``, the copy is read back and its
SHA-256 checked), and only then flip the blob's location in the catalog (in batches of proved copies).
A migration killed at any point resumes where it stopped: a blob already in the target is read back and
checked, not copied again, and a second run over a finished migration copies nothing. The source is
never modified. A failure every blob would hit (:class:`~picstore.errors.StorageMisconfigured`) stops
the run at once. Uploads that were in flight
during the switch may still land in the old store: the walk repeats until a pass finds nothing to move.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from picstore.blobs.base import BlobStore, check_bytes
from picstore.errors import AlreadyExists, NotFound, PicstoreError, StorageMisconfigured
from picstore.models import BlobLocation
from picstore.ops.walk import PAGE_SIZE, for_each
from picstore.store import ImageStore
from picstore.write_target import check_store

Progress = Callable[[BlobLocation], None]

#: The object written and removed to check that the target takes writes.
PROBE_KEY = "health/migrate-write-check"

#: Walks over the catalog at most: the first moves everything, later ones what in-flight uploads added.
MAX_PASSES = 3


@dataclass
class MigrationReport:
    """What a migration run did (or, with ``dry_run``, would do)."""

    target: str
    previous_target: str | None = None
    dry_run: bool = False
    total: int = 0
    total_bytes: int = 0
    copied: int = 0
    already_there: int = 0
    #: Orphans (no image uses them) whose bytes were never written: nothing to move, gc removes the rows.
    skipped: int = 0
    bytes_copied: int = 0
    passes: int = 0
    #: Seconds spent waiting for every node to follow the switch, then copying.
    settle_seconds: float = 0.0
    seconds: float = 0.0
    failed: dict[str, str] = field(default_factory=dict)
    #: Why the run stopped early (a failure every blob would hit), with what to do.
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        """True when every blob now lives, verified, in the target (or, dry, when it could)."""
        return not self.failed and self.stopped is None

    def to_dict(self) -> dict[str, object]:
        """The JSON form ``picstore migrate --json`` prints."""
        return {
            "target": self.target,
            "previous_target": self.previous_target,
            "dry_run": self.dry_run,
            "total": self.total,
            "total_bytes": self.total_bytes,
            "copied": self.copied,
            "already_there": self.already_there,
            "skipped": self.skipped,
            "bytes_copied": self.bytes_copied,
            "passes": self.passes,
            "settle_seconds": round(self.settle_seconds, 3),
            "seconds": round(self.seconds, 3),
            "failed": self.failed,
            "stopped": self.stopped,
        }


def copy_blob(store: ImageStore, loc: BlobLocation, target: BlobStore, *, read_back: bool = False) -> bool:
    """Copy one blob to ``target`` and prove the copy; False when it was already there.

    The copy is proved by the target's MD5 ETag of the write (computed by the server from the bytes it
    stored) when the store gives one; otherwise, with ``read_back``, or when the blob was already there,
    the copy is read back and checked against the recorded size and SHA-256. The caller flips the
    catalog only after this returns.
    """
    data = store.store_for(loc.store_url).get(loc.key)
    check_bytes(data, loc, loc.store_url)
    try:
        info = target.put(loc.key, data, content_type=loc.content_type, mode="create")
    except AlreadyExists:
        # An earlier, interrupted run got this far (or another writer did): prove what is there.
        check_bytes(target.get(loc.key), loc, target.url)
        return False
    if read_back or not _etag_is_md5_of(info.etag, data):
        check_bytes(target.get(loc.key), loc, target.url)
    return True


def _etag_is_md5_of(etag: str | None, data: bytes) -> bool:
    # A single-part S3 PUT's ETag is the MD5 of the stored bytes; multipart and file ETags are not.
    return etag is not None and etag.strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest()


class _Flips:
    """Catalog flips of proved copies, written in batches (one UPDATE per ``size`` blobs).

    A run killed before a batch is written loses nothing: those blobs are found in the target by the
    next run, proved again and flipped then.
    """

    def __init__(self, store: ImageStore, target: str, size: int = 64) -> None:
        self.store, self.target, self.size = store, target, size
        self._keys: list[str] = []
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        with self._lock:
            self._keys.append(key)
            if len(self._keys) < self.size:
                return
            batch, self._keys = self._keys, []
        self.store.catalog.blobs.move_blobs(batch, self.target)

    def flush(self) -> None:
        with self._lock:
            batch, self._keys = self._keys, []
        self.store.catalog.blobs.move_blobs(batch, self.target)


def check_target(target: BlobStore) -> None:
    """Raise unless ``target`` answers and accepts a write (a probe object, removed at once)."""
    check_store(target)
    # One fixed key: a run killed between these two lines leaves it, and the next run removes it.
    target.put(PROBE_KEY, b"picstore migrate write check", content_type="text/plain", mode="overwrite")
    target.delete(PROBE_KEY)


def migrate(
    store: ImageStore,
    target_url: str,
    *,
    workers: int = 8,
    progress: Progress | None = None,
    dry_run: bool = False,
    page_size: int = PAGE_SIZE,
    read_back: bool = False,
) -> MigrationReport:
    """Make ``target_url`` the write target and move every catalogued blob there, ``workers`` at a time.

    ``read_back`` reads every copy back and checks its SHA-256 even when the target's ETag proved it.
    """
    target = store.store_for(target_url)
    report = MigrationReport(target=target.url, dry_run=dry_run)
    report.total, report.total_bytes = store.catalog.blobs.totals(not_in=target.url)
    try:
        check_target(target)
    except PicstoreError as exc:
        report.stopped = f"{exc.message} (nothing was changed)"
        return report
    if dry_run:
        report.previous_target = store.blobs.url
        return report
    report.previous_target = store.use_storage(target.url)
    if report.previous_target != target.url:
        # Every node re-reads the write target within target_ttl: after that, no new blob lands outside
        # the target except from uploads already running, which a later pass picks up.
        time.sleep(store.settings.target_ttl)
        report.settle_seconds = store.settings.target_ttl
    copying = time.monotonic()
    while report.passes < MAX_PASSES and report.stopped is None:
        report.passes += 1
        moved_before = report.copied + report.already_there
        _one_pass(store, target, report, workers, progress, page_size, read_back)
        if report.copied + report.already_there == moved_before:
            break
    report.seconds = time.monotonic() - copying
    return report


def _one_pass(
    store: ImageStore,
    target: BlobStore,
    report: MigrationReport,
    workers: int,
    progress: Progress | None,
    page_size: int,
    read_back: bool,
) -> None:
    lock = threading.Lock()
    stop = threading.Event()
    retried = set(report.failed)
    flips = _Flips(store, target.url)

    def one(loc: BlobLocation) -> None:
        if loc.key in retried:
            return  # failed once in this run already: the next run tries again
        try:
            written = copy_blob(store, loc, target, read_back=read_back)
            flips.add(loc.key)
        except StorageMisconfigured as exc:
            with lock:
                report.stopped = exc.message
            stop.set()
            return
        except NotFound as exc:
            orphan = _is_orphan(store, loc)
            with lock:
                if orphan:
                    report.skipped += 1
                else:
                    report.failed[loc.key] = str(exc)
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

    try:
        for_each(store.catalog.blobs.walk(page_size, not_in=target.url), one, workers=workers, stop=stop)
    finally:
        flips.flush()


def _is_orphan(store: ImageStore, loc: BlobLocation) -> bool:
    try:
        store.catalog.blobs.get(loc.key, live=True)
    except NotFound:
        return True
    return False
