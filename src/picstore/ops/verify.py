"""Checking that every blob the catalog knows is where it says, with the bytes it recorded.

An orphan row (an upload that failed or has not finished writing, or a deleted image's blob waiting for
``gc``) whose bytes are absent is not missing: nothing serves it and ``gc`` removes the row. Such rows are
listed in :attr:`VerifyReport.pending`, apart from the missing blobs of live images.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from picstore.blobs.base import check_bytes
from picstore.errors import IntegrityError, NotFound
from picstore.models import BlobLocation
from picstore.ops.migrate import Progress
from picstore.store import ImageStore


@dataclass
class VerifyReport:
    """What a verification run found."""

    checked: int = 0
    missing: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    #: Orphan rows without bytes (see the module docstring): harmless, removed by ``gc``.
    pending: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every catalogued blob is present with the recorded size (and hash, when read)."""
        return not self.missing and not self.damaged


def verify(
    store: ImageStore, *, full: bool = True, workers: int = 8, progress: Progress | None = None
) -> VerifyReport:
    """Check every catalogued blob where the catalog says it lives: size always, SHA-256 when ``full``."""
    report = VerifyReport()
    lock = threading.Lock()

    def one(loc: BlobLocation) -> None:
        blobs = store.store_for(loc.store_url)
        problem: list[str] | None = None
        try:
            if full:
                check_bytes(blobs.get(loc.key), loc, loc.store_url)
            elif blobs.head(loc.key).size != loc.size:
                problem = report.damaged
        except NotFound:
            problem = report.missing if _live(store, loc.key) else report.pending
        except IntegrityError:
            problem = report.damaged
        with lock:
            report.checked += 1
            if problem is not None:
                problem.append(loc.key)
        if progress is not None:
            progress(loc)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="verify") as pool:
        list(pool.map(one, list(store.catalog.blobs.walk())))
    report.missing.sort()
    report.damaged.sort()
    report.pending.sort()
    return report


def _live(store: ImageStore, key: str) -> bool:
    try:
        store.catalog.blobs.get(key, live=True)
    except NotFound:
        return False
    return True
