"""Images with the locations of all their blobs, in one statement: what a page of pictures needs to show.

A page of rows holding image ids (Django's ``PictureField``, a host application's own table) needs each
image, its preset variants and where each blob lives, to hand out URLs. Read separately that is three
statements (images, variants, blob rows); here it is one: images joined with their tenant and master blob
row, left-joined with their preset variants and each variant's blob row, one result row per variant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select

from picstore.catalog.blobs import location_of
from picstore.catalog.rows import image_of, variant_of
from picstore.catalog.tables import blobs, images, tenants, variants
from picstore.models import BlobLocation, Image, Variant

_master = blobs.alias("master_blob")
_vblob = blobs.alias("variant_blob")


def _labelled(table: Any, prefix: str) -> list[Any]:
    return [c.label(f"{prefix}{c.name}") for c in table.c]


def located_query(image_ids: Sequence[str]) -> Any:
    """The one SELECT: ``i_*`` image columns, ``slug``, ``m_*`` master blob, ``v_*`` variant, ``vb_*``
    variant blob (the last two NULL for an image without variants)."""
    return (
        select(
            *_labelled(images, "i_"),
            tenants.c.slug,
            *_labelled(_master, "m_"),
            *_labelled(variants, "v_"),
            *_labelled(_vblob, "vb_"),
        )
        .join(tenants, tenants.c.id == images.c.tenant_id)
        .join(_master, _master.c.key == images.c.blob_key)
        # Presets only: transform renditions (named "t:...") are looked up one by one.
        .outerjoin(variants, and_(variants.c.image_id == images.c.id, ~variants.c.name.startswith("t:")))
        .outerjoin(_vblob, _vblob.c.key == variants.c.blob_key)
        .where(images.c.id.in_(list(image_ids)))
        .order_by(images.c.id, variants.c.name, variants.c.format)
    )


class _Prefixed:
    """A view of one row's columns that start with ``prefix``, by their name without it."""

    def __init__(self, row: Any, prefix: str) -> None:
        self._m = row._mapping
        self._p = prefix

    def __getattr__(self, name: str) -> Any:
        return self._m[self._p + name]


def located_from_rows(rows: Sequence[Any]) -> tuple[list[Image], dict[str, BlobLocation]]:
    """Images (in the rows' order of first appearance) and the locations of their blobs, by key."""
    heads: dict[str, Any] = {}
    found: dict[str, list[Variant]] = {}
    locations: dict[str, BlobLocation] = {}
    for row in rows:
        i = _Prefixed(row, "i_")
        if i.id not in heads:
            heads[i.id] = row
            found[i.id] = []
            locations[i.blob_key] = location_of(_Prefixed(row, "m_"))
        if row._mapping["v_name"] is not None:
            v = _Prefixed(row, "v_")
            found[i.id].append(variant_of(v))
            if row._mapping["vb_key"] is not None:
                locations[v.blob_key] = location_of(_Prefixed(row, "vb_"))
    images = [image_of(_Prefixed(row, "i_"), row.slug, found[image_id]) for image_id, row in heads.items()]
    return images, locations
