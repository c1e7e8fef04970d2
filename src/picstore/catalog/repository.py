"""The catalog repository: typed methods over the tables, returning models only."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from picstore.catalog.base import from_us, now_us, tenant_of, to_us, variant_row
from picstore.catalog.blobs import BlobCatalog
from picstore.catalog.tables import blobs, images, tenants, variants
from picstore.errors import Conflict, InvalidRequest, NotFound
from picstore.models import BlobLocation, Image, Page, Tenant, Variant

__all__ = ["Catalog", "now_us", "to_us"]


def _encode_cursor(created_us: int, image_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_us}:{image_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, image_id = raw.split(":", 1)
        created_us = int(created)
        # A crafted cursor must not reach the database: bigints beyond 63 bits and NUL break the query.
        if not 0 <= created_us < 2**63 or not (image_id.isascii() and image_id.isalnum()):
            raise ValueError(raw)
        return created_us, image_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("invalid cursor: pass the next_cursor of a previous page") from exc


class Catalog(BlobCatalog):
    """Tenants, images, variants and blob locations in one SQL database."""

    # --- tenants -----------------------------------------------------------------------------------

    def create_tenant(self, tenant_id: str, slug: str, name: str, api_key_hash: str) -> Tenant:
        """Insert a tenant; Conflict when the slug is taken."""
        created = now_us()
        with self._tx() as conn:
            if conn.execute(select(tenants.c.id).where(tenants.c.slug == slug)).first():
                raise Conflict(f"tenant {slug!r} already exists")
            conn.execute(
                insert(tenants).values(
                    id=tenant_id, slug=slug, name=name, api_key_hash=api_key_hash, created_us=created
                )
            )
        return Tenant(id=tenant_id, slug=slug, name=name, created_at=from_us(created))

    def _tenant_where(self, clause: Any) -> Tenant | None:
        with self._tx() as conn:
            row = conn.execute(select(tenants).where(clause)).first()
        if row is None:
            return None
        return tenant_of(row)

    def tenant(self, slug: str) -> Tenant:
        """The tenant with this slug; NotFound otherwise."""
        found = self._tenant_where(tenants.c.slug == slug)
        if found is None:
            raise NotFound(f"no tenant {slug!r}: create it with `picstore tenant create {slug}`")
        return found

    def tenant_by_key_hash(self, api_key_hash: str) -> Tenant | None:
        """The tenant whose API key hashes to this value, if any."""
        return self._tenant_where(tenants.c.api_key_hash == api_key_hash)

    def list_tenants(self) -> list[Tenant]:
        """All tenants, by slug."""
        with self._tx() as conn:
            rows = conn.execute(select(tenants).order_by(tenants.c.slug)).all()
        return [tenant_of(r) for r in rows]

    # --- images ------------------------------------------------------------------------------------

    def add_image(
        self, image: Image, tenant_id: str, locations: Sequence[BlobLocation], idempotency_key: str | None
    ) -> Image:
        """Record an image, its variants and their blobs in one transaction.

        With an idempotency key that this tenant used before, nothing is written and the earlier image
        is returned, so a retried request makes one image.
        """
        try:
            return self._add_image(image, tenant_id, locations, idempotency_key)
        except Conflict:
            # Two requests with one idempotency key raced: the loser answers with the winner's image.
            if idempotency_key is None:
                raise
            with self._tx() as conn:
                earlier = self._by_idempotency_key(conn, tenant_id, idempotency_key)
                if earlier is None:
                    raise
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
        self, image: Image, tenant_id: str, locations: Sequence[BlobLocation], idempotency_key: str | None
    ) -> Image:
        with self._tx() as conn:
            if idempotency_key is not None:
                earlier = self._by_idempotency_key(conn, tenant_id, idempotency_key)
                if earlier is not None:
                    return self._image(conn, earlier)
            created = to_us(image.created_at)
            for loc in locations:
                self._upsert_blob(conn, loc, created)
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
        return self._images_from_rows(conn, [row])[0]

    @staticmethod
    def _images_from_rows(conn: Connection, rows: Sequence[Any]) -> list[Image]:
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
                by_image[v.image_id].append(
                    Variant(v.name, v.format, v.width, v.height, v.bytes, v.sha256, v.blob_key)
                )
        return [
            Image(
                id=r.id,
                tenant=r.slug,
                format=r.format,
                width=r.width,
                height=r.height,
                bytes=r.bytes,
                sha256=r.sha256,
                created_at=from_us(r.created_us),
                key=r.blob_key,
                frames=r.frames,
                filename=r.filename,
                alt=r.alt,
                variants=tuple(by_image[r.id]),
            )
            for r in rows
        ]

    def image(self, image_id: str) -> Image:
        """The image with this id; NotFound otherwise."""
        with self._tx() as conn:
            return self._image(conn, image_id)

    def images(self, image_ids: Sequence[str]) -> list[Image]:
        """The images with these ids (unknown ids are left out), in one transaction of two statements."""
        query = (
            select(images, tenants.c.slug)
            .join(tenants, tenants.c.id == images.c.tenant_id)
            .where(images.c.id.in_(list(image_ids)))
        )
        with self._tx() as conn:
            return self._images_from_rows(conn, conn.execute(query).all())

    def list_images(self, tenant_id: str, limit: int, cursor: str | None) -> Page:
        """A tenant's images, newest first, ``limit`` at a time."""
        query = (
            select(images, tenants.c.slug)
            .join(tenants, tenants.c.id == images.c.tenant_id)
            .where(images.c.tenant_id == tenant_id)
            .order_by(images.c.created_us.desc(), images.c.id.desc())
            .limit(limit + 1)
        )
        if cursor:
            created, last_id = _decode_cursor(cursor)
            query = query.where(
                or_(
                    images.c.created_us < created,
                    and_(images.c.created_us == created, images.c.id < last_id),
                )
            )
        with self._tx() as conn:
            rows = conn.execute(query).all()
            items = self._images_from_rows(conn, rows[:limit])
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = _encode_cursor(last.created_us, last.id)
        return Page(items=tuple(items), next_cursor=next_cursor)

    def count_images(self, tenant_id: str | None = None) -> int:
        """How many images there are (of one tenant, or in all)."""
        query = select(func.count()).select_from(images)
        if tenant_id is not None:
            query = query.where(images.c.tenant_id == tenant_id)
        with self._tx() as conn:
            return int(conn.execute(query).scalar_one())

    def delete_image(self, image_id: str) -> list[str]:
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
            orphans = [k for k in sorted(keys) if not self._blob_in_use(conn, k)]
            if orphans:
                conn.execute(update(blobs).where(blobs.c.key.in_(orphans)).values(orphaned_us=now_us()))
        return orphans
