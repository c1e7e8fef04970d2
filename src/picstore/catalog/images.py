"""Image rows and their variants: add (with the blob rows, in one transaction), get, list, count, delete.

An image is written in one transaction together with its variants and its blob rows, whose orphan marks
it clears; a delete marks the blobs no image uses any more as orphans in the same transaction, so ``gc``
(and never a delete) removes bytes, after a grace period.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, tuple_

from picstore.catalog.blobs import mark_orphans
from picstore.catalog.clock import now_us, to_us
from picstore.catalog.cursor import decode_cursor, encode_cursor
from picstore.catalog.located import located_from_rows, located_query
from picstore.catalog.reservations import Reservation, claim_rows, release_rows
from picstore.catalog.rows import image_of, variant_of, variant_row
from picstore.catalog.tables import images, tenants, variants
from picstore.catalog.transactions import Transactions
from picstore.errors import Conflict, NotFound
from picstore.models import BlobLocation, Image, Page, Variant


def images_from_rows(conn: Connection, rows: Sequence[Any]) -> list[Image]:
    """Images (with their preset variants) from rows of ``images`` joined with the tenant's slug."""
    ids = [r.id for r in rows]
    by_image: dict[str, list[Variant]] = {i: [] for i in ids}
    if ids:
        vrows = conn.execute(
            select(variants)
            # Presets only: transform renditions (named "t:...") are looked up one by one.
            .where(variants.c.image_id.in_(ids), ~variants.c.name.startswith("t:"))
            .order_by(variants.c.image_id, variants.c.name, variants.c.format)
        ).all()
        for v in vrows:
            by_image[v.image_id].append(variant_of(v))
    return [image_of(r, r.slug, by_image[r.id]) for r in rows]


class Images:
    """The ``images`` and ``variants`` tables, composed with the blob-row statements of
    :mod:`picstore.catalog.blobs`."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def add(
        self, image: Image, tenant_id: str, reservation: Reservation, idempotency_key: str | None
    ) -> Image:
        """Record an image and its variants, and mark the blob rows it reserved as used, in one
        transaction (the reservation is given back; see :mod:`picstore.catalog.reservations`).

        With an idempotency key that this tenant used before, no image is written and the earlier image
        is returned, so a retried request makes one image. Conflict when the reservation's lease ran out.
        """
        try:
            return self._add_image(image, tenant_id, reservation, idempotency_key)
        except Conflict:
            # Two requests with one idempotency key raced: the loser answers with the winner's image.
            if idempotency_key is None:
                raise
            with self._tx() as conn:
                earlier = self._by_idempotency_key(conn, tenant_id, idempotency_key)
                if earlier is None:
                    raise
                release_rows(conn, reservation.keys, now_us())
                return self._image(conn, earlier)

    @staticmethod
    def _by_idempotency_key(conn: Connection, tenant_id: str, idempotency_key: str) -> str | None:
        found = conn.execute(
            select(images.c.id).where(
                images.c.tenant_id == tenant_id, images.c.idempotency_key == idempotency_key
            )
        ).scalar()
        return None if found is None else str(found)

    def _add_image(
        self, image: Image, tenant_id: str, reservation: Reservation, idempotency_key: str | None
    ) -> Image:
        with self._tx() as conn:
            if idempotency_key is not None:
                earlier = self._by_idempotency_key(conn, tenant_id, idempotency_key)
                if earlier is not None:
                    release_rows(conn, reservation.keys, now_us())
                    return self._image(conn, earlier)
            claim_rows(conn, reservation, now_us())
            created = to_us(image.created_at)
            conn.execute(
                insert(images).values(
                    id=image.id,
                    tenant_id=tenant_id,
                    blob_key=image.key,
                    format=image.format,
                    width=image.width,
                    height=image.height,
                    frames=image.frames,
                    bytes=image.bytes,
                    sha256=image.sha256,
                    filename=image.filename,
                    alt=image.alt,
                    idempotency_key=idempotency_key,
                    created_us=created,
                )
            )
            if image.variants:
                conn.execute(insert(variants), [variant_row(image.id, v) for v in image.variants])
        return image

    def _image(self, conn: Connection, image_id: str) -> Image:
        row = conn.execute(
            select(images, tenants.c.slug)
            .join(tenants, tenants.c.id == images.c.tenant_id)
            .where(images.c.id == image_id)
        ).first()
        if row is None:
            raise NotFound(f"no image {image_id!r}")
        return images_from_rows(conn, [row])[0]

    def get(self, image_id: str) -> Image:
        """The image with this id; NotFound otherwise."""
        with self._tx() as conn:
            return self._image(conn, image_id)

    def many(self, image_ids: Sequence[str]) -> list[Image]:
        """The images with these ids (unknown ids are left out), in one transaction of two statements."""
        query = (
            select(images, tenants.c.slug)
            .join(tenants, tenants.c.id == images.c.tenant_id)
            .where(images.c.id.in_(list(image_ids)))
        )
        with self._tx() as conn:
            return images_from_rows(conn, conn.execute(query).all())

    def located(self, image_ids: Sequence[str]) -> tuple[list[Image], dict[str, BlobLocation]]:
        """The images with these ids (unknown ids left out) and the locations of all their blobs by
        key, from one statement (see :mod:`picstore.catalog.located`)."""
        with self._tx() as conn:
            return located_from_rows(conn.execute(located_query(image_ids)).all())

    def page(self, tenant_id: str, limit: int, cursor: str | None) -> Page:
        """A tenant's images, newest first, ``limit`` at a time."""
        query = (
            select(images, tenants.c.slug)
            .join(tenants, tenants.c.id == images.c.tenant_id)
            .where(images.c.tenant_id == tenant_id)
            .order_by(images.c.created_us.desc(), images.c.id.desc())
            .limit(limit + 1)
        )
        if cursor:
            # A row-value comparison is a range of the (tenant_id, created_us, id) index on SQLite and
            # PostgreSQL (also in a generic prepared plan), so a deep page costs what the first one does;
            # the equivalent OR of two comparisons makes PostgreSQL walk and filter every newer row.
            query = query.where(tuple_(images.c.created_us, images.c.id) < tuple_(*decode_cursor(cursor)))
        with self._tx() as conn:
            rows = conn.execute(query).all()
            items = images_from_rows(conn, rows[:limit])
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last.created_us, last.id)
        return Page(items=tuple(items), next_cursor=next_cursor)

    def count(self, tenant_id: str | None = None) -> int:
        """How many images there are (of one tenant, or in all)."""
        query = select(func.count()).select_from(images)
        if tenant_id is not None:
            query = query.where(images.c.tenant_id == tenant_id)
        with self._tx() as conn:
            return int(conn.execute(query).scalar_one())

    def delete(self, image_id: str) -> list[str]:
        """Remove an image and its variants; mark blobs no image uses any more as orphaned.

        Returns the keys that became orphans. Their bytes stay until ``gc`` runs after a grace period,
        so an upload of the same bytes racing this delete can never end with a row pointing at nothing.
        """
        with self._tx() as conn:
            row = conn.execute(select(images.c.blob_key).where(images.c.id == image_id)).first()
            if row is None:
                raise NotFound(f"no image {image_id!r}")
            keys = {row.blob_key}
            keys.update(
                conn.execute(select(variants.c.blob_key).where(variants.c.image_id == image_id)).scalars()
            )
            conn.execute(delete(variants).where(variants.c.image_id == image_id))
            conn.execute(delete(images).where(images.c.id == image_id))
            return mark_orphans(conn, sorted(keys))
