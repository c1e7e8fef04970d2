"""Mappings between catalog rows and models, each written once: images, variants.

Each ``*_of`` takes anything with the table's column names as attributes (a result row, or a view of a
joined row's labelled columns, see :mod:`picstore.catalog.located`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from picstore.catalog.clock import from_us
from picstore.models import Image, Variant


def image_of(row: Any, tenant_slug: str, variants: Sequence[Variant]) -> Image:
    """An Image from a row of the images table, its tenant's slug and its (preset) variants."""
    return Image(
        id=row.id,
        tenant=tenant_slug,
        format=row.format,
        width=row.width,
        height=row.height,
        bytes=row.bytes,
        sha256=row.sha256,
        created_at=from_us(row.created_us),
        key=row.blob_key,
        frames=row.frames,
        filename=row.filename,
        alt=row.alt,
        variants=tuple(variants),
    )


def variant_of(row: Any) -> Variant:
    """A Variant from a row of the variants table (the inverse of :func:`variant_row`)."""
    return Variant(row.name, row.format, row.width, row.height, row.bytes, row.sha256, row.blob_key)


def variant_row(image_id: str, variant: Variant) -> dict[str, Any]:
    """The row of the variants table that records ``variant`` of the image ``image_id``."""
    return {
        "image_id": image_id,
        "name": variant.name,
        "format": variant.format,
        "blob_key": variant.key,
        "width": variant.width,
        "height": variant.height,
        "bytes": variant.bytes,
        "sha256": variant.sha256,
    }
