"""Blob rows, reservations and gc on a real catalog, each rule at its boundary: the gc cutoff and the
lease end at t - 1, t and t + 1, each of the two in-use checks alone, a hold counted per upload.

The reservation functions take ``now`` as an argument and the blob repository reads the clock through
``picstore.catalog.blobs.now_us``, so these tests pin time instead of sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

import picstore.catalog.blobs as blob_rows
from picstore import errors
from picstore.catalog import Catalog, create_catalog_engine, upgrade
from picstore.catalog.blobs import location_of, mark_orphans
from picstore.catalog.reservations import (
    LEASE_MARGIN_US,
    LEASE_US,
    Reservation,
    claim_rows,
    lock_rows,
    release_rows,
    reserve_rows,
)
from picstore.catalog.tables import blobs, images, variants
from picstore.models import BlobLocation
from tests.catalog_support import migrated_catalog, statements

T0 = 10**15  # a fixed "now", in microseconds


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    with migrated_catalog(database_url, "acme") as catalog:
        yield catalog


def _loc(n: int, store: str = "memory://a") -> BlobLocation:
    return BlobLocation(f"img/{n:02d}.jpg", store, 100 + n, f"{n:064d}", f"image/x-{n}")


def _row(catalog: Catalog, key: str) -> Any:
    with catalog.engine.connect() as conn:
        return conn.execute(select(blobs).where(blobs.c.key == key)).one()


def _put_row(catalog: Catalog, n: int, **values: Any) -> str:
    loc = _loc(n)
    row = {
        "key": loc.key,
        "store": loc.store_url,
        "size": loc.size,
        "sha256": loc.sha256,
        "content_type": loc.content_type,
        "created_us": 1,
        "orphaned_us": None,
        "reservations": 0,
        "reserved_until_us": None,
    }
    with catalog.engine.begin() as conn:
        conn.execute(insert(blobs).values({**row, **values}))
    return loc.key


def _use_by_image(catalog: Catalog, key: str, image_id: str = "img1") -> None:
    with catalog.engine.begin() as conn:
        conn.execute(
            insert(images).values(
                id=image_id, tenant_id="t1", blob_key=key, format="jpeg", width=1, height=1, frames=1,
                bytes=1, sha256="0" * 64, created_us=1,
            )
        )  # fmt: skip


def _use_by_variant(catalog: Catalog, key: str) -> None:
    master = _put_row(catalog, 99)
    _use_by_image(catalog, master, "owner")
    with catalog.engine.begin() as conn:
        conn.execute(
            insert(variants).values(
                image_id="owner", name="thumb", format="webp", blob_key=key, width=1, height=1, bytes=1,
                sha256="0" * 64,
            )
        )  # fmt: skip


def _collect(catalog: Catalog, cutoff: int, batch: int = 500) -> list[str]:
    return [loc.key for loc in catalog.blobs.collect_orphans(cutoff, lambda gone: None, batch)]


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(blob_rows, "now_us", lambda: T0)
    return T0


# --- reading and updating rows ---------------------------------------------------------------------


def test_a_location_carries_every_column_of_its_row(catalog: Catalog) -> None:
    key = _put_row(catalog, 7)
    assert location_of(_row(catalog, key)) == _loc(7)
    assert catalog.blobs.get(key) == _loc(7)


def test_get_live_refuses_an_orphan_that_get_still_finds(catalog: Catalog) -> None:
    orphan = _put_row(catalog, 1, orphaned_us=5)
    used = _put_row(catalog, 2)
    assert catalog.blobs.get(orphan) == _loc(1)
    with pytest.raises(errors.NotFound, match=r"no blob 'img/01.jpg' in the catalog"):
        catalog.blobs.get(orphan, live=True)
    assert catalog.blobs.get(used, live=True) == _loc(2)
    with pytest.raises(errors.NotFound):
        catalog.blobs.get("img/missing.jpg")


def test_by_key_answers_the_known_keys_only(catalog: Catalog) -> None:
    keys = [_put_row(catalog, n) for n in (1, 2, 3)]
    assert catalog.blobs.by_key([keys[0], keys[2], "img/none.jpg"]) == {keys[0]: _loc(1), keys[2]: _loc(3)}
    assert catalog.blobs.by_key([]) == {}


def test_record_bytes_and_move_change_one_row(catalog: Catalog) -> None:
    one, two = _put_row(catalog, 1), _put_row(catalog, 2)
    catalog.blobs.record_bytes(BlobLocation(one, "memory://ignored", 5, "f" * 64, "image/ignored"))
    catalog.blobs.move(one, "file:///elsewhere")
    assert catalog.blobs.get(one) == BlobLocation(one, "file:///elsewhere", 5, "f" * 64, _loc(1).content_type)
    assert catalog.blobs.get(two) == _loc(2)


# --- marking orphans -------------------------------------------------------------------------------


def test_mark_orphans_marks_only_rows_no_image_and_no_variant_uses(catalog: Catalog, frozen: int) -> None:
    free_b, free_a = _put_row(catalog, 4), _put_row(catalog, 3)
    by_image, by_variant = _put_row(catalog, 1), _put_row(catalog, 2)
    already = _put_row(catalog, 5, orphaned_us=7)
    not_asked = _put_row(catalog, 6)
    _use_by_image(catalog, by_image)
    _use_by_variant(catalog, by_variant)
    with catalog.engine.begin() as conn:
        assert mark_orphans(conn, [free_b, by_image, by_variant, already, free_a]) == [free_a, free_b]
        assert mark_orphans(conn, []) == []
    keys = (free_a, free_b, by_image, by_variant, already, not_asked)
    marks = {k: _row(catalog, k).orphaned_us for k in keys}
    assert marks == {free_a: T0, free_b: T0, by_image: None, by_variant: None, already: 7, not_asked: None}


def test_deleting_an_image_orphans_its_blob_only_when_nothing_else_uses_it(catalog: Catalog) -> None:
    shared = _put_row(catalog, 1)
    _use_by_image(catalog, shared, "a")
    _use_by_image(catalog, shared, "b")
    assert catalog.images.delete("a") == []
    assert _row(catalog, shared).orphaned_us is None
    assert catalog.images.delete("b") == [shared]
    assert _row(catalog, shared).orphaned_us is not None


# --- gc: the cutoff, the in-use checks, the reservation guard, batches -----------------------------


def test_gc_takes_orphans_marked_strictly_before_the_cutoff(catalog: Catalog) -> None:
    key = _put_row(catalog, 1, orphaned_us=1000)
    assert _collect(catalog, 999) == []
    assert _collect(catalog, 1000) == []  # marked at the cutoff: not yet past the grace period
    assert _collect(catalog, 1001) == [key]
    assert catalog.blobs.by_key([key]) == {}


def test_gc_never_takes_a_row_in_use_even_if_marked_orphan(catalog: Catalog) -> None:
    # Each in-use check alone protects its row: an image's blob, a variant's blob.
    by_image = _put_row(catalog, 1, orphaned_us=5)
    by_variant = _put_row(catalog, 2, orphaned_us=5)
    free = _put_row(catalog, 3, orphaned_us=5)
    _use_by_image(catalog, by_image)
    _use_by_variant(catalog, by_variant)
    assert _collect(catalog, T0) == [free]
    assert set(catalog.blobs.by_key([by_image, by_variant])) == {by_image, by_variant}


def test_gc_spares_a_row_whose_lease_has_not_run_out(catalog: Catalog, frozen: int) -> None:
    held = _put_row(catalog, 1, orphaned_us=5, reservations=1, reserved_until_us=frozen + 1)
    at_end = _put_row(catalog, 2, orphaned_us=5, reservations=1, reserved_until_us=frozen)
    ended = _put_row(catalog, 3, orphaned_us=5, reservations=1, reserved_until_us=frozen - 1)
    never = _put_row(catalog, 4, orphaned_us=5)
    assert sorted(_collect(catalog, frozen)) == [ended, never]
    assert set(catalog.blobs.by_key([held, at_end])) == {held, at_end}


def test_gc_takes_the_oldest_orphans_first_one_batch_at_a_time(catalog: Catalog) -> None:
    # Key order is not age order here: the oldest orphan has the last key.
    newest = _put_row(catalog, 1, orphaned_us=30)
    oldest = _put_row(catalog, 5, orphaned_us=10)
    middle_b = _put_row(catalog, 4, orphaned_us=20)
    middle_a = _put_row(catalog, 3, orphaned_us=20)
    assert _collect(catalog, T0, batch=3) == [oldest, middle_a, middle_b]
    assert _collect(catalog, T0, batch=3) == [newest]
    assert _collect(catalog, T0, batch=3) == []


def test_gc_removes_bytes_in_its_transaction_and_keeps_the_rows_when_that_fails(catalog: Catalog) -> None:
    key = _put_row(catalog, 1, orphaned_us=5)
    calls: list[list[BlobLocation]] = []

    def record(gone: Sequence[BlobLocation]) -> None:
        calls.append(list(gone))

    def fail(gone: Sequence[BlobLocation]) -> None:
        calls.append(list(gone))
        raise OSError("the store is down")

    with pytest.raises(OSError, match="the store is down"):
        catalog.blobs.collect_orphans(T0, fail)
    assert calls == [[BlobLocation(key, "memory://a", 101, f"{1:064d}", "image/x-1")]]
    assert catalog.blobs.get(key) == _loc(1)  # rolled back: the row stays for the next gc
    assert catalog.blobs.collect_orphans(T0, record) == [_loc(1)]
    assert calls[-1] == [_loc(1)]
    assert catalog.blobs.collect_orphans(T0, record) == []
    assert len(calls) == 2  # nothing to delete: the store is not called


def test_walk_reads_every_row_in_key_order_with_the_default_page(catalog: Catalog) -> None:
    keys = [_put_row(catalog, n) for n in (3, 1, 2)]
    assert [loc.key for loc in catalog.blobs.walk()] == sorted(keys)
    assert [loc.key for loc in catalog.blobs.iter_blobs(None, 2)] == sorted(keys)[:2]


# --- reservations ----------------------------------------------------------------------------------


def test_reserve_creates_held_orphan_rows_in_key_order(catalog: Catalog, frozen: int) -> None:
    reservation = catalog.blobs.reserve([_loc(2), _loc(1)])
    assert reservation == Reservation((_loc(1).key, _loc(2).key), frozen + LEASE_US)
    row = _row(catalog, _loc(1).key)
    assert location_of(row) == _loc(1)
    assert (row.created_us, row.orphaned_us, row.reservations, row.reserved_until_us) == (
        frozen,
        frozen,
        1,
        frozen + LEASE_US,
    )


def test_a_second_hold_counts_only_while_the_first_lease_runs(catalog: Catalog) -> None:
    # A lease ending at "now" still holds (>=); one that ended a microsecond ago is forgotten.
    live = _put_row(catalog, 1, orphaned_us=5, reservations=2, reserved_until_us=T0)
    ended = _put_row(catalog, 2, orphaned_us=5, reservations=2, reserved_until_us=T0 - 1)
    with catalog.engine.begin() as conn:
        reserve_rows(conn, [_loc(1), _loc(2)], T0)
    assert (_row(catalog, live).reservations, _row(catalog, live).reserved_until_us) == (3, T0 + LEASE_US)
    assert (_row(catalog, ended).reservations, _row(catalog, ended).reserved_until_us) == (1, T0 + LEASE_US)


def test_a_new_hold_never_shortens_a_longer_lease(catalog: Catalog) -> None:
    longer = T0 + LEASE_US + 1
    key = _put_row(catalog, 1, reservations=1, reserved_until_us=longer)
    same = _put_row(catalog, 2, reservations=1, reserved_until_us=T0 + LEASE_US)
    with catalog.engine.begin() as conn:
        reserve_rows(conn, [_loc(1), _loc(2)], T0)
    assert _row(catalog, key).reserved_until_us == longer
    assert _row(catalog, same).reserved_until_us == T0 + LEASE_US


def test_reserving_an_existing_row_keeps_its_store_and_use_and_restarts_an_orphans_clock(
    catalog: Catalog,
) -> None:
    used = _put_row(catalog, 1)
    orphan = _put_row(catalog, 2, orphaned_us=5)
    with catalog.engine.begin() as conn:
        reserve_rows(conn, [_loc(1, "s3://moved"), _loc(2, "s3://moved")], T0)
    assert (_row(catalog, used).store, _row(catalog, used).orphaned_us) == ("memory://a", None)
    assert (_row(catalog, orphan).store, _row(catalog, orphan).orphaned_us) == ("memory://a", T0)


def test_claim_is_refused_from_the_lease_margin_on(catalog: Catalog) -> None:
    with catalog.engine.begin() as conn:
        reservation = reserve_rows(conn, [_loc(1)], T0)
    last_chance = reservation.until_us - LEASE_MARGIN_US - 1
    refused = pytest.raises(
        errors.Conflict, match=r"^the upload took longer than its reservation allows; send it again$"
    )
    with catalog.engine.begin() as conn, refused:
        claim_rows(conn, reservation, last_chance + 1)
    assert _row(catalog, _loc(1).key).reservations == 1  # nothing changed
    with catalog.engine.begin() as conn:
        claim_rows(conn, reservation, last_chance)
    row = _row(catalog, _loc(1).key)
    assert (row.orphaned_us, row.reservations, row.reserved_until_us) == (None, 0, None)


def test_claim_gives_back_one_hold_of_several_on_its_own_rows_only(catalog: Catalog) -> None:
    key = _put_row(catalog, 1, orphaned_us=5, reservations=2, reserved_until_us=T0 + LEASE_US)
    bystander = _put_row(catalog, 2, orphaned_us=5, reservations=1, reserved_until_us=T0 + LEASE_US)
    with catalog.engine.begin() as conn:
        claim_rows(conn, Reservation((key,), T0 + LEASE_US), T0)
    row = _row(catalog, key)
    assert (row.orphaned_us, row.reservations, row.reserved_until_us) == (None, 1, T0 + LEASE_US)
    other = _row(catalog, bystander)
    assert (other.orphaned_us, other.reservations, other.reserved_until_us) == (5, 1, T0 + LEASE_US)


def test_claim_needs_every_row_still_held(catalog: Catalog) -> None:
    # The row's own lease decides, at its boundary: held until "now" included.
    until = T0 + LEASE_US
    at_now = _put_row(catalog, 1, orphaned_us=5, reservations=1, reserved_until_us=T0)
    with catalog.engine.begin() as conn:
        claim_rows(conn, Reservation((at_now,), until), T0)
    assert _row(catalog, at_now).orphaned_us is None
    ended = _put_row(catalog, 2, orphaned_us=5, reservations=1, reserved_until_us=T0 - 1)
    not_held = _put_row(catalog, 3, orphaned_us=5, reservations=0, reserved_until_us=until)
    for lost in (ended, not_held):
        lost_it = pytest.raises(
            errors.Conflict, match=r"^the upload's blob reservation was lost; send it again$"
        )
        with lost_it, catalog.engine.begin() as conn:
            claim_rows(conn, Reservation((lost,), until), T0)


def test_release_gives_back_one_hold_and_restarts_only_orphans(catalog: Catalog) -> None:
    until = T0 + LEASE_US
    orphan = _put_row(catalog, 1, orphaned_us=5, reservations=1, reserved_until_us=until)
    used = _put_row(catalog, 2, reservations=2, reserved_until_us=until)
    unheld = _put_row(catalog, 3, orphaned_us=5)
    bystander = _put_row(catalog, 4, orphaned_us=5, reservations=1, reserved_until_us=until)
    with catalog.engine.begin() as conn:
        release_rows(conn, [orphan, used, unheld], T0)
    state = {k: _row(catalog, k) for k in (orphan, used, unheld, bystander)}
    assert [(r.orphaned_us, r.reservations, r.reserved_until_us) for r in state.values()] == [
        (T0, 0, None),
        (None, 1, until),
        (5, 0, None),  # held by nobody: left alone, its clock not restarted
        (5, 1, until),  # not in this reservation
    ]


def test_release_through_the_repository_restarts_the_clock_now(catalog: Catalog, frozen: int) -> None:
    key = _put_row(catalog, 1, orphaned_us=5, reservations=1, reserved_until_us=frozen + LEASE_US)
    catalog.blobs.release(Reservation((key,), frozen + LEASE_US))
    assert (_row(catalog, key).orphaned_us, _row(catalog, key).reservations) == (frozen, 0)


def test_lock_rows_locks_in_key_order_on_postgres_and_sends_nothing_to_sqlite(catalog: Catalog) -> None:
    keys = [_put_row(catalog, n) for n in (2, 1)]
    postgres = catalog.engine.dialect.name == "postgresql"
    with statements(catalog.engine) as seen, catalog.engine.begin() as conn:
        lock_rows(conn, keys)
        lock_rows(conn, [])
    sent = [s for s, _ in seen]
    if not postgres:
        assert sent == []
        return
    assert len(sent) == 1 and "FOR UPDATE" in sent[0] and "ORDER BY blobs.key" in sent[0]
    assert "WHERE blobs.key IN" in sent[0]


def test_claim_release_and_mark_lock_their_rows_first_on_postgres(catalog: Catalog) -> None:
    key = _put_row(catalog, 1, orphaned_us=5, reservations=2, reserved_until_us=T0 + LEASE_US)
    calls: list[Callable[[Connection], object]] = [
        lambda conn: claim_rows(conn, Reservation((key,), T0 + LEASE_US), T0),
        lambda conn: release_rows(conn, [key], T0),
        lambda conn: mark_orphans(conn, [key]),
    ]
    for call in calls:
        with statements(catalog.engine) as seen, catalog.engine.begin() as conn:
            call(conn)
        locks = [s for s, _ in seen if "FOR UPDATE" in s]
        if catalog.engine.dialect.name == "postgresql":
            assert seen[0][0] == locks[0] and len(locks) == 1
        else:
            assert locks == []


@pytest.mark.postgres
def test_gc_skips_a_row_another_gc_has_locked_instead_of_waiting(pg_url: str) -> None:
    engine = create_catalog_engine(pg_url)
    upgrade(engine)
    catalog = Catalog(engine)
    locked = _put_row(catalog, 1, orphaned_us=5)
    free = _put_row(catalog, 2, orphaned_us=6)
    result: list[list[str]] = []
    with engine.connect() as other:
        other.execute(select(blobs.c.key).where(blobs.c.key == locked).with_for_update())
        gc = threading.Thread(target=lambda: result.append(_collect(catalog, T0)))
        gc.start()
        gc.join(60)  # a gc that waited for the lock would still be here; it must have skipped the row
        other.rollback()
    gc.join()
    assert result == [[free]]
    assert _collect(catalog, T0) == [locked]
    engine.dispose()
