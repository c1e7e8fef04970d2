"""A tenant's listing in the catalog: description, the pictures' chosen order and captions, usage.

Invariants: every query is scoped by tenant id, so one tenant's call never reads or changes another's
pictures; the order is total and stable (pictures the customer has not placed yet come first, newest
first, then the placed ones by position); a page costs a fixed number of queries whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from picstore.catalog.clock import now_us
from picstore.catalog.images import images_from_rows
from picstore.catalog.tables import images, listing_pictures, listings, tenants, variants
from picstore.catalog.transactions import Transactions
from picstore.errors import NotFound
from picstore.models import Image


@dataclass(frozen=True)
class Listing:
    """A tenant's listing settings."""

    description: str
    custom_order: bool


@dataclass(frozen=True)
class Picture:
    """An image as its listing shows it."""

    image: Image
    caption: str


@dataclass(frozen=True)
class Usage:
    """What a tenant stores: pictures, and bytes of masters and variants together."""

    pictures: int
    bytes: int


class ListingRows:
    """Read and change tenants' listings (``Catalog.listings``)."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def listing(self, tenant_id: str) -> Listing:
        """The tenant's listing settings (defaults when it never changed them)."""
        with self._tx() as conn:
            row = conn.execute(select(listings).where(listings.c.tenant_id == tenant_id)).first()
        if row is None:
            return Listing(description="", custom_order=False)
        return Listing(description=row.description or "", custom_order=bool(row.custom_order))

    @staticmethod
    def _save_listing(conn: Connection, tenant_id: str, **values: object) -> None:
        values["updated_us"] = now_us()
        changed = conn.execute(update(listings).where(listings.c.tenant_id == tenant_id).values(**values))
        if changed.rowcount == 0:
            row: dict[str, object] = {"description": None, "custom_order": False, **values}
            conn.execute(insert(listings).values(tenant_id=tenant_id, **row))

    def fingerprint(self, tenant_id: str) -> tuple[int, int, int, str]:
        """What changes whenever the tenant's listing does through picstore: how many pictures, the
        newest's time, the last change of the listing (order, text, name), the display name."""
        counted = select(func.count(images.c.id), func.coalesce(func.max(images.c.created_us), 0)).where(
            images.c.tenant_id == tenant_id
        )
        changed = (
            select(func.coalesce(listings.c.updated_us, 0), tenants.c.name)
            .select_from(tenants)
            .outerjoin(listings, listings.c.tenant_id == tenants.c.id)
            .where(tenants.c.id == tenant_id)
        )
        with self._tx() as conn:
            count, newest = conn.execute(counted).one()
            row = conn.execute(changed).first()
        updated, name = (row[0], row[1]) if row is not None else (0, "")
        return int(count), int(newest), int(updated), str(name)

    def set_listing(self, tenant_id: str, *, name: str | None = None, description: str | None = None) -> None:
        """Change the display name (the tenant's name) and/or the description."""
        with self._tx() as conn:
            if name is not None:
                conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(name=name))
            changes = {} if description is None else {"description": description}
            self._save_listing(conn, tenant_id, **changes)

    def set_custom_order(self, tenant_id: str, custom: bool) -> None:
        """Show the pictures in the chosen order (True) or newest first (False)."""
        with self._tx() as conn:
            self._save_listing(conn, tenant_id, custom_order=custom)

    @staticmethod
    def _order(custom: bool) -> list[ColumnElement[Any]]:
        newest: list[ColumnElement[Any]] = [images.c.created_us.desc(), images.c.id.desc()]
        if not custom:
            return newest
        placed: list[ColumnElement[Any]] = [
            listing_pictures.c.position.is_(None).desc(),
            listing_pictures.c.position.asc(),
        ]
        return placed + newest

    def pictures(self, tenant_id: str, *, custom_order: bool, limit: int, offset: int = 0) -> list[Picture]:
        """A page of the tenant's pictures in listing order."""
        query = (
            select(images, tenants.c.slug, listing_pictures.c.caption)
            .join(tenants, tenants.c.id == images.c.tenant_id)
            .outerjoin(listing_pictures, listing_pictures.c.image_id == images.c.id)
            .where(images.c.tenant_id == tenant_id)
            .order_by(*self._order(custom_order))
            .limit(limit)
            .offset(offset)
        )
        with self._tx() as conn:
            rows = conn.execute(query).all()
            found = images_from_rows(conn, rows)
        return [Picture(image=i, caption=r.caption or "") for i, r in zip(found, rows, strict=True)]

    def usage(self, tenant_id: str | None = None) -> dict[str, Usage]:
        """Pictures and bytes by tenant id (of one tenant, or of all that have pictures)."""
        # Grouped by tenant, each group has a row with bytes (NOT NULL), so no sum is ever NULL.
        masters = select(images.c.tenant_id, func.count(), func.sum(images.c.bytes))
        derived = select(images.c.tenant_id, func.sum(variants.c.bytes)).join(
            variants, variants.c.image_id == images.c.id
        )
        if tenant_id is not None:
            masters = masters.where(images.c.tenant_id == tenant_id)
            derived = derived.where(images.c.tenant_id == tenant_id)
        with self._tx() as conn:
            counted = conn.execute(masters.group_by(images.c.tenant_id)).all()
            extra = {r[0]: r[1] for r in conn.execute(derived.group_by(images.c.tenant_id))}
        return {t: Usage(int(n), int(b) + int(extra.get(t, 0))) for t, n, b in counted}

    def set_text(self, tenant_id: str, image_id: str, *, alt: str, caption: str) -> None:
        """Set a picture's alt text and caption; NotFound for another tenant's picture."""
        with self._tx() as conn:
            done = conn.execute(
                update(images)
                .where(images.c.id == image_id, images.c.tenant_id == tenant_id)
                .values(alt=alt or None)
            )
            if done.rowcount != 1:
                raise NotFound(f"no picture {image_id!r}")
            self._upsert_pictures(conn, tenant_id, {image_id: {"caption": caption or None}})
            self._save_listing(conn, tenant_id)  # marks the listing changed (see fingerprint)

    @staticmethod
    def _upsert_pictures(conn: Connection, tenant_id: str, values: dict[str, dict[str, object]]) -> None:
        have = set(
            conn.execute(
                select(listing_pictures.c.image_id).where(listing_pictures.c.image_id.in_(list(values)))
            ).scalars()
        )
        for image_id, fields in values.items():
            if image_id in have:
                conn.execute(
                    update(listing_pictures).where(listing_pictures.c.image_id == image_id).values(**fields)
                )
            else:
                conn.execute(
                    insert(listing_pictures).values(image_id=image_id, tenant_id=tenant_id, **fields)
                )

    def order(self, tenant_id: str, *, custom_order: bool) -> list[str]:
        """The ids of all the tenant's pictures in listing order."""
        query = (
            select(images.c.id)
            .outerjoin(listing_pictures, listing_pictures.c.image_id == images.c.id)
            .where(images.c.tenant_id == tenant_id)
            .order_by(*self._order(custom_order))
        )
        with self._tx() as conn:
            return list(conn.execute(query).scalars())

    def move(self, tenant_id: str, image_id: str, before: str | None) -> None:
        """Place a picture just before ``before`` (at the end when None) and switch to the chosen order.

        Every picture of the tenant gets its position, so the order is whole and stable from then on.
        """
        query = (
            select(images.c.id, listing_pictures.c.position)
            .outerjoin(listing_pictures, listing_pictures.c.image_id == images.c.id)
            .where(images.c.tenant_id == tenant_id)
            .order_by(*self._order(self.listing(tenant_id).custom_order))
        )
        with self._tx() as conn:
            rows = conn.execute(query).all()
            order = [r.id for r in rows]
            if image_id not in order or (before is not None and before not in order):
                raise NotFound(f"no picture {before if image_id in order else image_id!r}")
            order.remove(image_id)
            order.insert(order.index(before) if before is not None else len(order), image_id)
            old = {r.id: r.position for r in rows}
            changed = {i: pos for pos, i in enumerate(order) if old[i] != pos}
            placed = [i for i in changed if old[i] is not None]
            if placed:
                conn.execute(
                    update(listing_pictures)
                    .where(listing_pictures.c.image_id == bindparam("iid"))
                    .values(position=bindparam("pos")),
                    [{"iid": i, "pos": changed[i]} for i in placed],
                )
            self._upsert_pictures(
                conn, tenant_id, {i: {"position": pos} for i, pos in changed.items() if old[i] is None}
            )
            self._save_listing(conn, tenant_id, custom_order=True)
