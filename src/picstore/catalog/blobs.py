"""Blob rows: where each blob lives, its size and hash, and the orphan marks ``gc`` works from.

A blob row exists before its bytes are written (:meth:`BlobRows.reserve`, see
:mod:`picstore.catalog.reservations`) and is deleted only together with its bytes
(:meth:`BlobRows.collect_orphans`), so no stored byte is ever unaccounted for. A row whose
``orphaned_us`` is set is used by no image and is never served; ``gc`` deletes it only once it is also
held by no upload in flight.

The statement helpers at module level take an open connection: the image repository composes them into
its own transactions (an image and its blob rows are written together).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, exists, func, select, update

from picstore.catalog.clock import now_us
from picstore.catalog.reservations import Reservation, lock_rows, release_rows, reserve_rows
from picstore.catalog.tables import blobs, images, variants
from picstore.catalog.transactions import Transactions
from picstore.errors import NotFound
from picstore.models import BlobLocation

#: Rows ``gc`` deletes per transaction: big enough that statements grow with batches, not orphans;
#: small enough that no transaction (and, on SQLite, the one write lock) is held for long.
GC_BATCH = 500


def location_of(row: Any) -> BlobLocation:
    """A BlobLocation from a row of the blobs table."""
    return BlobLocation(row.key, row.store, row.size, row.sha256, row.content_type)


def _unused() -> ColumnElement[bool]:
    return ~exists().where(images.c.blob_key == blobs.c.key) & ~exists().where(
        variants.c.blob_key == blobs.c.key
    )


def mark_orphans(conn: Connection, keys: Sequence[str]) -> list[str]:
    """Mark the rows among ``keys`` that no image or variant uses as orphaned now; returns their keys.

    The rows are locked first, so that the check runs after any transaction recording an image on them
    has committed (on PostgreSQL a statement sees only what committed before it started).
    """
    if not keys:
        return []
    lock_rows(conn, keys)
    orphans = sorted(
        conn.execute(
            select(blobs.c.key).where(blobs.c.key.in_(keys), blobs.c.orphaned_us.is_(None), _unused())
        )
        .scalars()
        .all()
    )
    if orphans:
        conn.execute(update(blobs).where(blobs.c.key.in_(orphans)).values(orphaned_us=now_us()))
    return orphans


class BlobRows:
    """The ``blobs`` table: locations, reservations, the key-ordered walk, migration moves, orphans."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def get(self, key: str, *, live: bool = False) -> BlobLocation:
        """Where the blob with this key lives; NotFound otherwise.

        With ``live``, only a blob some image uses now: an orphan (its images deleted, or an upload not
        yet committed) is NotFound, so it is never served even while its bytes wait for ``gc``.
        """
        query = select(blobs).where(blobs.c.key == key)
        if live:
            query = query.where(blobs.c.orphaned_us.is_(None))
        with self._tx() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no blob {key!r} in the catalog")
        return location_of(row)

    def by_key(self, keys: Sequence[str]) -> dict[str, BlobLocation]:
        """The locations of several blobs in one query; unknown keys are absent from the result."""
        with self._tx() as conn:
            rows = conn.execute(select(blobs).where(blobs.c.key.in_(list(keys)))).all()
        return {r.key: location_of(r) for r in rows}

    def record_bytes(self, loc: BlobLocation) -> None:
        """Correct the recorded size and SHA-256 of a blob to what its store really holds."""
        with self._tx() as conn:
            conn.execute(update(blobs).where(blobs.c.key == loc.key).values(size=loc.size, sha256=loc.sha256))

    def reserve(self, locations: Sequence[BlobLocation]) -> Reservation:
        """Hold the rows of blobs about to be written, creating them as orphans, before any byte is
        written; see :mod:`picstore.catalog.reservations`.

        Pass the result to :meth:`Images.add <picstore.catalog.images.Images.add>`, or to
        :meth:`release` when the upload fails. If the upload dies instead, ``gc`` removes the bytes it
        wrote once the lease and the grace period have passed: nothing written is unaccounted for.
        """
        with self._tx() as conn:
            return reserve_rows(conn, locations, now_us())

    def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose upload failed: its new rows become ordinary orphans."""
        with self._tx() as conn:
            release_rows(conn, reservation.keys, now_us())

    def iter_blobs(
        self, after_key: str | None, limit: int, *, not_in: str | None = None
    ) -> list[BlobLocation]:
        """One page of blob rows in key order: the first ``limit`` whose key sorts after ``after_key``;
        with ``not_in``, only blobs that live elsewhere than that store.

        Pass the last key of a page to get the next one; an empty page is the end. Each page is one
        primary-key range read, so walking a catalog of any size holds at most ``limit`` rows, and a
        walk interrupted after some key resumes from it.
        """
        query = select(blobs).order_by(blobs.c.key).limit(limit)
        if after_key is not None:
            query = query.where(blobs.c.key > after_key)
        if not_in is not None:
            query = query.where(blobs.c.store != not_in)
        with self._tx() as conn:
            return [location_of(r) for r in conn.execute(query).all()]

    def walk(
        self, page_size: int = 1000, *, after_key: str | None = None, not_in: str | None = None
    ) -> Iterator[BlobLocation]:
        """Every blob row (living elsewhere than ``not_in``, when given) with a key after ``after_key``,
        in key order, read ``page_size`` rows at a time (see :meth:`iter_blobs`)."""
        after = after_key
        while page := self.iter_blobs(after, page_size, not_in=not_in):
            yield from page
            after = page[-1].key

    def totals(self, *, not_in: str | None = None) -> tuple[int, int]:
        """How many blobs there are (living elsewhere than ``not_in``, when given) and their bytes."""
        query = select(func.count(), func.coalesce(func.sum(blobs.c.size), 0))
        if not_in is not None:
            query = query.where(blobs.c.store != not_in)
        with self._tx() as conn:
            count, size = conn.execute(query).one()
        return int(count), int(size)

    def move(self, key: str, store: str) -> None:
        """Record that a blob now lives in ``store`` (called after its copy there is verified)."""
        self.move_blobs([key], store)

    def move_blobs(self, keys: Sequence[str], store: str) -> None:
        """Record that these blobs now live in ``store``, in one statement (their copies are verified)."""
        if keys:
            with self._tx() as conn:
                conn.execute(update(blobs).where(blobs.c.key.in_(list(keys))).values(store=store))

    def collect_orphans(
        self, cutoff_us: int, remove_bytes: Callable[[Sequence[BlobLocation]], None], batch: int = GC_BATCH
    ) -> list[BlobLocation]:
        """Delete up to ``batch`` blobs orphaned before ``cutoff_us`` that nothing needs: their rows and,
        inside the same transaction, their bytes (``remove_bytes``). Returns what was deleted.

        One DELETE picks and removes the rows, oldest orphan first, through the partial index on
        ``orphaned_us``. It skips rows held by an upload in flight (see
        :mod:`picstore.catalog.reservations`) and, on PostgreSQL, rows another ``gc`` has locked. An
        upload reserving one of these rows waits for this transaction, then finds the row gone and writes
        the bytes again. If removing the bytes fails, the transaction rolls back and the rows stay.
        """
        now = now_us()
        ripe = (
            select(blobs.c.key)
            .where(
                blobs.c.orphaned_us < cutoff_us,
                blobs.c.reserved_until_us.is_(None) | (blobs.c.reserved_until_us < now),
                _unused(),
            )
            .order_by(blobs.c.orphaned_us)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        stmt = delete(blobs).where(blobs.c.key.in_(ripe.scalar_subquery())).returning(*blobs.c)
        with self._tx() as conn:
            rows = sorted(conn.execute(stmt).all(), key=lambda r: (r.orphaned_us, r.key))  # oldest first
            gone = [location_of(r) for r in rows]
            if gone:
                remove_bytes(gone)
        return gone
