"""The catalog's base: the transaction that translates database errors, and row helpers.

SQLAlchemy errors are translated here, in one place: a lost database becomes
:class:`~picstore.errors.CatalogUnavailable`, a duplicate becomes :class:`~picstore.errors.Conflict`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy import exc as sa_exc

from picstore.catalog.engine import serial
from picstore.errors import CatalogUnavailable, Conflict, InvalidRequest
from picstore.models import BlobLocation, Tenant, Variant

log = logging.getLogger("picstore.catalog")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    """The current time as integer microseconds since the epoch."""
    return time.time_ns() // 1000


def to_us(moment: datetime) -> int:
    """A timezone-aware datetime as integer microseconds since the epoch (exact, no float rounding)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def tenant_of(row: Any) -> Tenant:
    """A Tenant from a row of the tenants table."""
    return Tenant(id=row.id, slug=row.slug, name=row.name, created_at=from_us(row.created_us))


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


def location_of(row: Any) -> BlobLocation:
    """A BlobLocation from a row of the blobs table."""
    return BlobLocation(row.key, row.store, row.size, row.sha256, row.content_type)


class CatalogBase:
    """An engine and the one transaction helper every catalog method goes through."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with serial(self.engine), self.engine.begin() as conn:
                yield conn
        # The driver's own message (host, port, constraint names) goes to the log, never to clients.
        except sa_exc.IntegrityError as exc:
            log.info("catalog conflict: %s", exc.orig)
            raise Conflict("the write conflicts with one made at the same time; try again") from exc
        except sa_exc.DataError as exc:
            # A value the database cannot hold (NUL in text, a number out of range) that got past the
            # callers' checks: the input's fault, not the service's.
            log.info("catalog refused a value: %s", exc.orig)
            raise InvalidRequest("a value in the request is out of range") from exc
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            log.warning("catalog database unavailable: %s", exc.orig)
            raise CatalogUnavailable(
                "the catalog database is unavailable; try again later (operators: see the server log)"
            ) from exc

    def ping(self) -> None:
        """Raise CatalogUnavailable unless the database answers."""
        with self._tx() as conn:
            conn.execute(select(1))
