"""Blob reservations: how an upload in flight holds its blob rows so that no ``gc`` can take them.

An upload reserves its blob rows before it writes a byte (:func:`reserve_rows`), and gives the
reservation back in the transaction that records its image (:func:`claim_rows`) or, when it fails,
straight away (:func:`release_rows`). Invariants:

- A blob row is *needed* while some image or variant uses it (``orphaned_us`` is NULL) or while an
  upload holds a live reservation on it (``reservations > 0`` and ``reserved_until_us`` in the future).
  ``gc`` deletes only rows that are not needed, whatever its grace period, and every change that makes
  a row needed (a reservation, an image recorded) is written to that row itself, under its row lock:
  a ``gc`` deleting the row either finishes first (and the upload then writes the bytes afresh) or sees
  the change.
- ``reservations`` counts the uploads holding the row; two uploads of the same bytes each hold it, and
  the first to finish does not release the second's hold.
- A reservation is a lease of :data:`LEASE_US`: an upload that crashed never gives its reservation
  back, and its rows become collectable once the lease has run out. An upload that outlives its lease is
  refused at commit (a :class:`~picstore.errors.Conflict`; sending it again works) rather than recorded
  over bytes that ``gc`` may have taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from picstore.catalog.tables import blobs
from picstore.errors import Conflict
from picstore.models import BlobLocation

#: How long a reservation protects its blob rows: far longer than any upload's ingest and write.
LEASE_US = 3600 * 1_000_000

#: An upload this close to its lease's end is refused at commit, leaving room for clocks that differ a
#: little between the node that uploads and the node that runs ``gc``.
LEASE_MARGIN_US = 300 * 1_000_000


@dataclass(frozen=True)
class Reservation:
    """The blob rows one upload holds, and until when."""

    keys: tuple[str, ...]
    until_us: int


def reserve_rows(conn: Connection, locations: Sequence[BlobLocation], now: int) -> Reservation:
    """Insert the blob rows as orphans held by this upload, or add this upload's hold to existing rows.

    One statement for all rows, so concurrent uploads of the same bytes cannot race between a check and
    an insert. An existing row keeps its store (it may be mid-migration) and its use: a used row stays
    used, an orphan's clock restarts. A hold whose lease has run out is forgotten (its upload crashed).
    """
    until = now + LEASE_US
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(blobs).values(
        [
            {
                "key": loc.key,
                "store": loc.store_url,
                "size": loc.size,
                "sha256": loc.sha256,
                "content_type": loc.content_type,
                "created_us": now,
                "orphaned_us": now,
                "reservations": 1,
                "reserved_until_us": until,
            }
            # In key order, like every other statement that locks several blob rows: two transactions
            # locking overlapping rows then wait for each other instead of deadlocking.
            for loc in sorted(locations, key=lambda loc: loc.key)
        ]
    )
    held = blobs.c.reserved_until_us >= now
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[blobs.c.key],
            set_={
                "reservations": case((held, blobs.c.reservations + 1), else_=1),
                "reserved_until_us": case(
                    (held & (blobs.c.reserved_until_us > until), blobs.c.reserved_until_us), else_=until
                ),
                "orphaned_us": case((blobs.c.orphaned_us.is_(None), None), else_=now),
            },
        )
    )
    return Reservation(tuple(sorted({loc.key for loc in locations})), until)


def lock_rows(conn: Connection, keys: Sequence[str]) -> None:
    """Lock these blob rows for the rest of the transaction, in key order (PostgreSQL; SQLite has one
    writer at a time and needs no row locks).

    Every statement that locks several blob rows takes them in key order, so two transactions that
    touch the same rows wait for each other instead of deadlocking. Statements after this one see what
    any transaction that held the rows committed.
    """
    if conn.dialect.name == "postgresql" and keys:
        conn.execute(select(blobs.c.key).where(blobs.c.key.in_(keys)).order_by(blobs.c.key).with_for_update())


def _give_back() -> dict[str, object]:
    # SET expressions all see the row as it was: drop one hold; the last hold clears the lease.
    last = blobs.c.reservations <= 1
    return {
        "reservations": case((last, 0), else_=blobs.c.reservations - 1),
        "reserved_until_us": case((last, None), else_=blobs.c.reserved_until_us),
    }


def claim_rows(conn: Connection, reservation: Reservation, now: int) -> None:
    """Mark the reserved rows as used by an image being recorded in this transaction, and give the
    reservation back. Conflict (nothing recorded) when the lease ran out before the commit."""
    if now >= reservation.until_us - LEASE_MARGIN_US:
        raise Conflict("the upload took longer than its reservation allows; send it again")
    lock_rows(conn, reservation.keys)
    claimed = conn.execute(
        update(blobs)
        .where(
            blobs.c.key.in_(reservation.keys),
            blobs.c.reservations > 0,
            blobs.c.reserved_until_us >= now,
        )
        .values(orphaned_us=None, **_give_back())
    ).rowcount
    if claimed != len(reservation.keys):
        raise Conflict("the upload's blob reservation was lost; send it again")


def release_rows(conn: Connection, keys: Sequence[str], now: int) -> None:
    """Give a reservation back without using the rows: orphans among them restart their clock now."""
    lock_rows(conn, keys)
    conn.execute(
        update(blobs)
        .where(blobs.c.key.in_(list(keys)), blobs.c.reservations > 0)
        .values(orphaned_us=case((blobs.c.orphaned_us.is_(None), None), else_=now), **_give_back())
    )
