"""Checking that every blob the catalog knows is where it says, with the bytes it recorded.

An orphan row (an upload that failed or has not finished writing, or a deleted image's blob waiting for
``gc``) whose bytes are absent is not missing: nothing serves it and ``gc`` removes the row. Such rows are
listed in :attr:`VerifyReport.pending`, apart from the missing blobs of live images.

The walk streams the catalog in key order (:mod:`picstore.ops.walk`), so memory stays flat whatever the
catalog's size. Besides missing and damaged blobs it counts where the blobs live: once every blob lives
in the write target and is intact, every store used before can be removed.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from picstore.blobs.base import check_bytes
from picstore.errors import IntegrityError, NotFound, PicstoreError
from picstore.models import BlobLocation
from picstore.ops.migrate import Progress
from picstore.ops.walk import PAGE_SIZE, for_each
from picstore.store import ImageStore


@dataclass
class VerifyReport:
    """What a verification run found."""

    write_target: str = ""
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    #: Orphan rows without bytes (see the module docstring): harmless, removed by ``gc``.
    pending: list[str] = field(default_factory=list)
    #: Blobs that could not be checked (the store did not answer), with why.
    unchecked: dict[str, str] = field(default_factory=dict)
    #: How many blobs live in each store.
    stores: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every catalogued blob is present with the recorded size (and hash, when read)."""
        return not self.missing and not self.damaged and not self.unchecked

    @property
    def elsewhere(self) -> dict[str, int]:
        """Stores other than the write target that blobs still live in, with their counts."""
        return {url: n for url, n in self.stores.items() if url != self.write_target}

    @property
    def old_stores_removable(self) -> bool:
        """True when nothing lives outside the write target and all of it checked out."""
        return self.ok and not self.elsewhere

    def to_dict(self) -> dict[str, object]:
        """The JSON form ``picstore verify --json`` prints."""
        return {
            "write_target": self.write_target,
            "checked": self.checked,
            "missing": self.missing,
            "damaged": self.damaged,
            "unchecked": self.unchecked,
            "stores": self.stores,
            "old_stores_removable": self.old_stores_removable,
        }


def verify(
    store: ImageStore,
    *,
    full: bool = True,
    workers: int = 8,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
) -> VerifyReport:
    """Check every catalogued blob where the catalog says it lives: size always, SHA-256 when ``full``."""
    report = VerifyReport(write_target=store.blobs.url)
    lock = threading.Lock()
    stores: Counter[str] = Counter()

    def one(loc: BlobLocation) -> None:
        blobs = store.store_for(loc.store_url)
        problem: list[str] | None = None
        unchecked: str | None = None
        try:
            if full:
                check_bytes(blobs.get(loc.key), loc, loc.store_url)
            elif blobs.head(loc.key).size != loc.size:
                problem = report.damaged
        except NotFound:
            problem = report.missing if _live(store, loc.key) else report.pending
        except IntegrityError:
            problem = report.damaged
        except PicstoreError as exc:
            unchecked = exc.message
        with lock:
            report.checked += 1
            stores[loc.store_url] += 1
            if problem is not None:
                problem.append(loc.key)
            if unchecked is not None:
                report.unchecked[loc.key] = unchecked
        if progress is not None:
            progress(loc)

    for_each(store.catalog.blobs.walk(page_size), one, workers=workers, name="verify")
    report.missing.sort()
    report.damaged.sort()
    report.pending.sort()
    report.stores = dict(sorted(stores.items()))
    return report


def _live(store: ImageStore, key: str) -> bool:
    try:
        store.catalog.blobs.get(key, live=True)
    except NotFound:
        return False
    return True
