"""Transform renditions in the catalog: the rows they are recorded in, render claims and render jobs.

A transform's rendition is a ``variants`` row named ``t:<geometry>,<encoder params>`` (see
:mod:`picstore.transformer`), so deleting its image orphans its blob, ``gc`` removes it, and ``migrate``
and ``verify`` treat it like a preset; :attr:`Image.variants <picstore.models.Image.variants>` lists
presets only. Invariants:

- at most one node holds the claim on a key at a time; a claim is released by its owner or expires, and
  an expired claim can be taken over in one statement (no read-then-write race);
- a job is leased by one node at a time: on PostgreSQL the due row is picked with ``FOR UPDATE SKIP
  LOCKED``, so nodes polling together pick different rows; on SQLite (one writer at a time) a conditional
  UPDATE does the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from picstore.catalog.clock import now_us
from picstore.catalog.reservations import Reservation, claim_rows
from picstore.catalog.rows import variant_of, variant_row
from picstore.catalog.tables import blobs, render_claims, render_jobs, variants
from picstore.catalog.transactions import Transactions
from picstore.models import Variant

#: Variant names of transform renditions start with this; preset names cannot (see IngestOptions).
TRANSFORM_PREFIX = "t:"


@dataclass(frozen=True)
class RenderJob:
    """A background render: the blob ``key`` to make, from ``spec`` of image ``image_id``."""

    key: str
    image_id: str
    spec: str
    attempts: int


class Renders:
    """Transform renditions, render claims and render jobs (``Catalog.renders``)."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    # --- renditions --------------------------------------------------------------------------------

    def transform_variant(self, image_id: str, name: str, fmt: str) -> Variant | None:
        """The recorded rendition ``name`` in ``fmt`` of an image, if its blob is live."""
        query = (
            select(variants)
            .join(blobs, blobs.c.key == variants.c.blob_key)
            .where(
                variants.c.image_id == image_id,
                variants.c.name == name,
                variants.c.format == fmt,
                blobs.c.orphaned_us.is_(None),
            )
        )
        with self._tx() as conn:
            v = conn.execute(query).first()
        return None if v is None else variant_of(v)

    def record_transform(self, image_id: str, variant: Variant, reservation: Reservation) -> None:
        """Record a rendition and mark its reserved blob row used, in one transaction.

        Conflict when the image was deleted meanwhile (the foreign key) or the reservation ran out; the
        caller then gives the reservation back and ``gc`` collects the bytes.
        """
        with self._tx() as conn:
            claim_rows(conn, reservation, now_us())
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(insert(variants).values(**variant_row(image_id, variant)).on_conflict_do_nothing())

    # --- claims ------------------------------------------------------------------------------------

    def claim_render(self, key: str, owner: str, ttl_us: int) -> bool:
        """Take the claim on ``key`` for ``owner`` (or take over an expired one); True if it is ours now."""
        now = now_us()
        with self._tx() as conn:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            stmt = insert(render_claims).values(key=key, owner=owner, expires_us=now + ttl_us)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[render_claims.c.key],
                    set_={"owner": owner, "expires_us": now + ttl_us},
                    where=render_claims.c.expires_us < now,
                )
            )
            holder = conn.execute(select(render_claims.c.owner).where(render_claims.c.key == key)).scalar()
        return holder == owner

    def release_render(self, key: str, owner: str) -> None:
        """Give up ``owner``'s claim on ``key`` (after a render, whether it worked or not)."""
        with self._tx() as conn:
            conn.execute(
                delete(render_claims).where(render_claims.c.key == key, render_claims.c.owner == owner)
            )

    def render_claimed(self, key: str) -> bool:
        """True while some node holds an unexpired claim on ``key``."""
        with self._tx() as conn:
            row = conn.execute(
                select(render_claims.c.key).where(
                    render_claims.c.key == key, render_claims.c.expires_us >= now_us()
                )
            ).first()
        return row is not None

    # --- jobs --------------------------------------------------------------------------------------

    def add_render_job(self, key: str, image_id: str, spec: str) -> None:
        """Queue a background render of ``spec`` into blob ``key`` (no-op when it is queued already)."""
        now = now_us()
        with self._tx() as conn:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(
                insert(render_jobs)
                .values(key=key, image_id=image_id, spec=spec, created_us=now, due_us=now, attempts=0)
                .on_conflict_do_nothing()
            )

    def lease_render_job(self, owner: str, lease_us: int) -> RenderJob | None:
        """Lease the oldest due job to ``owner`` for ``lease_us``; None when no job is due."""
        now = now_us()
        with self._tx() as conn:
            query = (
                select(render_jobs).where(render_jobs.c.due_us <= now).order_by(render_jobs.c.due_us).limit(1)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = conn.execute(query).first()
            if row is None:
                return None
            leased = conn.execute(
                update(render_jobs)
                .where(render_jobs.c.key == row.key, render_jobs.c.due_us <= now)
                .values(lease_owner=owner, due_us=now + lease_us, attempts=render_jobs.c.attempts + 1)
            ).rowcount
        return RenderJob(row.key, row.image_id, row.spec, row.attempts + 1) if leased else None

    def finish_render_job(self, key: str) -> None:
        """Remove a job that is done (or given up)."""
        with self._tx() as conn:
            conn.execute(delete(render_jobs).where(render_jobs.c.key == key))

    def retry_render_job(self, key: str, error: str, delay_us: int) -> None:
        """Make a failed job due again after ``delay_us``, keeping its last error."""
        with self._tx() as conn:
            conn.execute(
                update(render_jobs)
                .where(render_jobs.c.key == key)
                .values(due_us=now_us() + delay_us, lease_owner=None, last_error=error[:500])
            )

    def render_jobs_count(self) -> int:
        """How many background renders are queued."""
        with self._tx() as conn:
            return len(conn.execute(select(render_jobs.c.key)).all())
