"""The catalog's records of direct uploads: one row per ``POST /v1/uploads``, until it is completed and
swept.

A record names where the incoming object waits (never a location anything serves) and what was promised
about it (type, byte cap, expiry); once ``complete`` has published it, the image it became.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update

from picstore.catalog.clock import now_us
from picstore.catalog.tables import uploads
from picstore.catalog.transactions import Transactions
from picstore.errors import NotFound


@dataclass(frozen=True)
class UploadRecord:
    """A direct upload: where its incoming object waits and what was promised about it."""

    id: str
    tenant_id: str
    store: str
    key: str
    filename: str | None
    content_type: str
    max_bytes: int
    token_hash: str | None
    image_id: str | None
    created_us: int
    expires_us: int

    @property
    def expires_at(self) -> datetime:
        """When the upload stops accepting its file."""
        return datetime.fromtimestamp(self.expires_us / 1_000_000, tz=UTC)

    def expired(self, at_us: int | None = None) -> bool:
        """True once the upload no longer accepts its file."""
        return (now_us() if at_us is None else at_us) >= self.expires_us


class UploadRecords:
    """The ``uploads`` table: create, look up, mark completed, sweep."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def add(self, record: UploadRecord) -> UploadRecord:
        """Record a new upload."""
        with self._tx() as conn:
            conn.execute(insert(uploads).values(**record.__dict__))
        return record

    def get(self, upload_id: str) -> UploadRecord:
        """The upload with this id; NotFound otherwise."""
        with self._tx() as conn:
            row = conn.execute(select(uploads).where(uploads.c.id == upload_id)).first()
        if row is None:
            raise NotFound(f"no upload {upload_id!r}")
        return UploadRecord(**row._asdict())

    def complete(self, upload_id: str, image_id: str) -> None:
        """Record the image an upload became."""
        with self._tx() as conn:
            conn.execute(update(uploads).where(uploads.c.id == upload_id).values(image_id=image_id))

    def expired(self, before_us: int, limit: int = 100) -> list[UploadRecord]:
        """Uploads that expired before ``before_us``, oldest first."""
        with self._tx() as conn:
            rows = conn.execute(
                select(uploads)
                .where(uploads.c.expires_us < before_us)
                .order_by(uploads.c.expires_us)
                .limit(limit)
            ).all()
        return [UploadRecord(**r._asdict()) for r in rows]

    def forget(self, upload_id: str) -> None:
        """Remove an upload's row (its incoming object must be deleted first)."""
        with self._tx() as conn:
            conn.execute(delete(uploads).where(uploads.c.id == upload_id))
