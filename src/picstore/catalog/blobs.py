"""Blob rows: where each blob lives, its size and hash, and the orphan marks ``gc`` works from."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import Connection, delete, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from picstore.catalog.base import CatalogBase, location_of, now_us
from picstore.catalog.tables import blobs, images, variants
from picstore.errors import NotFound
from picstore.models import BlobLocation


class BlobCatalog(CatalogBase):
    """The blob half of the catalog (see :class:`~picstore.catalog.repository.Catalog`)."""

    @staticmethod
    def _upsert_blob(conn: Connection, loc: BlobLocation, created: int, orphaned: int | None = None) -> None:
        """Insert a blob row, or mark the existing one as used (``orphaned`` None) or re-orphaned now.

        One statement, so concurrent uploads of the same bytes cannot race between a check and an insert.
        An existing row keeps its store (it may be mid-migration); as a reservation (``orphaned`` set) it
        only restarts an orphan's clock and never marks a used blob as an orphan.
        """
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        stmt = dialect_insert(blobs).values(
            key=loc.key,
            store=loc.store_url,
            size=loc.size,
            sha256=loc.sha256,
            content_type=loc.content_type,
            created_us=created,
            orphaned_us=orphaned,
        )
        only_orphans = None if orphaned is None else blobs.c.orphaned_us.is_not(None)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[blobs.c.key], set_={"orphaned_us": orphaned}, where=only_orphans
            )
        )

    @staticmethod
    def _blob_in_use(conn: Connection, key: str) -> bool:
        used = select(
            or_(
                exists().where(images.c.blob_key == key),
                exists().where(variants.c.blob_key == key),
            )
        )
        return bool(conn.execute(used).scalar())

    def blob(self, key: str, *, live: bool = False) -> BlobLocation:
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

    def record_blob_bytes(self, loc: BlobLocation) -> None:
        """Correct the recorded size and SHA-256 of a blob to what its store really holds."""
        with self._tx() as conn:
            conn.execute(update(blobs).where(blobs.c.key == loc.key).values(size=loc.size, sha256=loc.sha256))

    def reserve_blobs(self, locations: Sequence[BlobLocation]) -> None:
        """Record blobs about to be written, as orphans, before their bytes are written.

        If the upload dies before :meth:`add_image`, ``gc`` finds these rows and removes the bytes after
        the grace period, so nothing written is ever unaccounted for. A row that exists already is left
        alone, except that an orphan's clock restarts: a ``gc`` running now cannot take bytes this upload
        is about to reuse (``add_image`` then clears the mark).
        """
        if not locations:
            return
        stamp = now_us()
        with self._tx() as conn:
            for loc in locations:
                self._upsert_blob(conn, loc, stamp, orphaned=stamp)

    def blobs_by_key(self, keys: Sequence[str]) -> dict[str, BlobLocation]:
        """The locations of several blobs in one query; unknown keys are absent from the result."""
        with self._tx() as conn:
            rows = conn.execute(select(blobs).where(blobs.c.key.in_(list(keys)))).all()
        return {r.key: location_of(r) for r in rows}

    def blobs_in(self, store: str | None = None) -> Iterator[BlobLocation]:
        """Every blob (in one store, when given), by key."""
        query = select(blobs).order_by(blobs.c.key)
        if store is not None:
            query = query.where(blobs.c.store == store)
        with self._tx() as conn:
            rows = conn.execute(query).all()
        for r in rows:
            yield location_of(r)

    def move_blob(self, key: str, store: str) -> None:
        """Record that a blob now lives in ``store`` (called after its copy there is verified)."""
        with self._tx() as conn:
            conn.execute(update(blobs).where(blobs.c.key == key).values(store=store))

    def orphans_before(self, cutoff_us: int) -> list[BlobLocation]:
        """Blobs orphaned before ``cutoff_us`` and still unused."""
        with self._tx() as conn:
            rows = conn.execute(
                select(blobs).where(blobs.c.orphaned_us.is_not(None), blobs.c.orphaned_us < cutoff_us)
            ).all()
            return [location_of(r) for r in rows if not self._blob_in_use(conn, r.key)]

    def forget_orphan(self, key: str, cutoff_us: int, remove_bytes: Callable[[], None]) -> bool:
        """Delete a blob orphaned before ``cutoff_us`` and still unused: its row and, inside the same
        transaction, its bytes.

        The conditional DELETE locks the row, so an upload reserving the blob (:meth:`reserve_blobs`)
        waits for this transaction and then finds the row gone and writes the bytes again; if removing
        the bytes fails, the row stays. True when the blob was removed.
        """
        with self._tx() as conn:
            gone = conn.execute(
                delete(blobs).where(
                    blobs.c.key == key,
                    blobs.c.orphaned_us < cutoff_us,
                    ~exists().where(images.c.blob_key == key),
                    ~exists().where(variants.c.blob_key == key),
                )
            ).rowcount
            if gone:
                remove_bytes()
            return bool(gone)
