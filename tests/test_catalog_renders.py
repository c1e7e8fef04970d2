"""Transform renditions, render claims and render jobs in the catalog, on SQLite and PostgreSQL, each rule
at its boundary: a claim held until its expiry and taken over after it, the oldest due job leased (due at
now included), two nodes polling at once never leasing one job, what a lease and a retry write.

``picstore.catalog.renders`` reads the clock through its own ``now_us``; the tests that pin it use the
``clock`` fixture.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, event, insert, select, update

import picstore.catalog.renders as render_rows
from picstore import errors
from picstore.catalog import Catalog, create_catalog_engine
from picstore.catalog.clock import now_us
from picstore.catalog.renders import RenderJob
from picstore.catalog.reservations import LEASE_MARGIN_US
from picstore.catalog.tables import blobs, images, render_claims, render_jobs, variants
from picstore.models import BlobLocation, Variant
from tests.catalog_support import Clock, migrated_catalog, pinned_clock, without_index_scans

T0 = 1_700_000_000_000_000
MINUTE = 60_000_000


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    with migrated_catalog(database_url, "acme") as catalog:
        yield catalog


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return pinned_clock(monkeypatch, T0, render_rows)


def _blob_row(conn: Connection, key: str) -> None:
    conn.execute(
        insert(blobs).values(
            key=key, store="memory://", size=1, sha256="0" * 64, content_type="image/jpeg", created_us=1
        )
    )


def _image(catalog: Catalog, image_id: str) -> None:
    with catalog.engine.begin() as conn:
        _blob_row(conn, f"img/{image_id}")
        conn.execute(
            insert(images).values(
                id=image_id,
                tenant_id="t1",
                blob_key=f"img/{image_id}",
                format="jpeg",
                width=1,
                height=1,
                frames=1,
                bytes=1,
                sha256="0" * 64,
                created_us=1,
            )
        )


def _jobs(catalog: Catalog) -> list[Any]:
    with catalog.engine.connect() as conn:
        query = select(
            render_jobs.c.key,
            render_jobs.c.due_us,
            render_jobs.c.lease_owner,
            render_jobs.c.attempts,
            render_jobs.c.last_error,
        ).order_by(render_jobs.c.key)
        return list(conn.execute(query).all())


# --- renditions ----------------------------------------------------------------------------------------


def _rendition(name: str = "t:w100", fmt: str = "webp", key: str = "var/i1/a.webp") -> Variant:
    return Variant(name, fmt, 100, 75, 1234, "e" * 64, key)


def _record(catalog: Catalog, image_id: str, variant: Variant) -> None:
    reservation = catalog.blobs.reserve(
        [BlobLocation(variant.key, "memory://", 1234, "e" * 64, "image/webp")]
    )
    catalog.renders.record_transform(image_id, variant, reservation)


def test_a_rendition_is_found_by_image_name_and_format_while_its_blob_is_live(catalog: Catalog) -> None:
    _image(catalog, "i1")
    _image(catalog, "i2")
    webp = _rendition()
    _record(catalog, "i1", webp)
    _record(catalog, "i1", _rendition(fmt="avif", key="var/i1/a.avif"))
    _record(catalog, "i1", _rendition(name="t:w200", key="var/i1/b.webp"))
    assert catalog.renders.transform_variant("i1", "t:w100", "webp") == webp
    assert catalog.renders.transform_variant("i1", "t:w100", "avif") == _rendition(
        fmt="avif", key="var/i1/a.avif"
    )
    assert catalog.renders.transform_variant("i1", "t:w300", "webp") is None
    assert catalog.renders.transform_variant("i2", "t:w100", "webp") is None
    # The rendition's blob row is in use now; once it is an orphan (being collected) it is not served.
    with catalog.engine.begin() as conn:
        row = conn.execute(
            select(blobs.c.orphaned_us, blobs.c.reservations).where(blobs.c.key == webp.key)
        ).one()
        assert row == (None, 0)
        conn.execute(update(blobs).where(blobs.c.key == webp.key).values(orphaned_us=1))
    assert catalog.renders.transform_variant("i1", "t:w100", "webp") is None
    assert catalog.renders.transform_variant("i1", "t:w200", "webp") is not None


def test_recording_a_rendition_twice_keeps_the_first(catalog: Catalog) -> None:
    _image(catalog, "i1")
    _record(catalog, "i1", _rendition())
    _record(catalog, "i1", _rendition(key="var/i1/other.webp"))  # a second node rendered it too
    assert catalog.renders.transform_variant("i1", "t:w100", "webp") == _rendition()


def test_a_rendition_of_a_deleted_image_or_past_its_reservation_is_a_conflict(
    catalog: Catalog, clock: Clock
) -> None:
    _image(catalog, "i1")
    location = BlobLocation("var/i1/a.webp", "memory://", 1234, "e" * 64, "image/webp")
    reservation = catalog.blobs.reserve([location])
    clock.now = reservation.until_us - LEASE_MARGIN_US  # the lease (less its margin) has run out
    with pytest.raises(errors.Conflict):
        catalog.renders.record_transform("i1", _rendition(), reservation)
    clock.now = now_us()
    with pytest.raises(errors.Conflict):
        catalog.renders.record_transform("gone", _rendition(), catalog.blobs.reserve([location]))
    with catalog.engine.connect() as conn:
        assert conn.execute(select(variants.c.name).where(variants.c.name == "t:w100")).all() == []


# --- claims --------------------------------------------------------------------------------------------


def test_one_owner_at_a_time_until_release(catalog: Catalog) -> None:
    assert catalog.renders.claim_render("var/k", "a", 60_000_000)
    assert not catalog.renders.claim_render("var/k", "b", 60_000_000)
    assert catalog.renders.render_claimed("var/k")
    catalog.renders.release_render("var/k", "b")  # not b's: nothing happens
    assert catalog.renders.render_claimed("var/k")
    catalog.renders.release_render("var/k", "a")
    assert not catalog.renders.render_claimed("var/k")
    assert catalog.renders.claim_render("var/k", "b", 60_000_000)


def test_claims_are_per_key(catalog: Catalog) -> None:
    assert catalog.renders.claim_render("var/k1", "a", MINUTE)
    assert not catalog.renders.render_claimed("var/k2")
    assert catalog.renders.claim_render("var/k2", "a", MINUTE)
    catalog.renders.release_render("var/k1", "a")  # releases k1 only
    assert not catalog.renders.render_claimed("var/k1")
    assert catalog.renders.render_claimed("var/k2")


def test_an_expired_claim_is_taken_over(catalog: Catalog) -> None:
    assert catalog.renders.claim_render("var/k", "dead", 60_000_000)
    with catalog.engine.begin() as conn:  # the node that claimed it died long ago
        conn.execute(render_claims.update().values(expires_us=now_us() - 1))
    assert not catalog.renders.render_claimed("var/k")
    assert catalog.renders.claim_render("var/k", "alive", 60_000_000)
    assert not catalog.renders.claim_render("var/k", "dead", 60_000_000)


@pytest.mark.parametrize(("now", "held"), [(T0 + 9, True), (T0 + 10, True), (T0 + 11, False)])
def test_a_claim_is_held_up_to_its_expiry(catalog: Catalog, clock: Clock, now: int, held: bool) -> None:
    assert catalog.renders.claim_render("var/k", "a", 10)  # expires at T0 + 10
    clock.now = now
    assert catalog.renders.render_claimed("var/k") is held
    assert catalog.renders.claim_render("var/k", "b", 10) is not held
    with catalog.engine.connect() as conn:
        row = conn.execute(select(render_claims.c.owner, render_claims.c.expires_us)).one()
    assert row == (("a", T0 + 10) if held else ("b", now + 10))


# --- jobs ----------------------------------------------------------------------------------------------


def test_jobs_are_leased_once_retried_later_and_finished(catalog: Catalog) -> None:
    _image(catalog, "i1")
    _image(catalog, "i2")
    catalog.renders.add_render_job("var/a.avif", "i1", "w=10,f=avif")
    catalog.renders.add_render_job("var/a.avif", "i1", "w=10,f=avif")  # queued once
    catalog.renders.add_render_job("var/b.avif", "i2", "w=20,f=avif")
    first = catalog.renders.lease_render_job("n1", 60_000_000)
    second = catalog.renders.lease_render_job("n2", 60_000_000)
    assert first is not None and second is not None and first.key != second.key
    assert catalog.renders.lease_render_job("n3", 60_000_000) is None  # both leased
    catalog.renders.retry_render_job(first.key, "boom", 0)
    again = catalog.renders.lease_render_job("n3", 60_000_000)
    assert again is not None and again.key == first.key and again.attempts == 2
    catalog.renders.finish_render_job(again.key)
    catalog.renders.finish_render_job(second.key)
    assert catalog.renders.render_jobs_count() == 0


def _job_rows(catalog: Catalog, *jobs: tuple[str, int]) -> None:
    """Jobs of image i1 due at the given times, inserted in the order given."""
    with catalog.engine.begin() as conn:
        for key, due in jobs:
            conn.execute(
                insert(render_jobs).values(
                    key=key, image_id="i1", spec=f"s-{key}", created_us=1, due_us=due, attempts=0
                )
            )


def test_the_oldest_due_job_is_leased_due_at_now_included(catalog: Catalog, clock: Clock) -> None:
    _image(catalog, "i1")
    # Neither key order nor insertion order is due order.
    _job_rows(catalog, ("var/a", T0 + 2), ("var/b", T0 + 1), ("var/c", T0 + 3), ("var/d", T0 + 4))
    clock.now = T0
    assert catalog.renders.lease_render_job("n", 5) is None  # nothing due yet
    clock.now = T0 + 1
    assert catalog.renders.lease_render_job("n1", 5) == RenderJob("var/b", "i1", "s-var/b", 1)
    clock.now = T0 + 3
    assert catalog.renders.lease_render_job("n2", 5) == RenderJob("var/a", "i1", "s-var/a", 1)
    assert catalog.renders.lease_render_job("n3", 5) == RenderJob("var/c", "i1", "s-var/c", 1)
    assert catalog.renders.lease_render_job("n4", 5) is None  # var/d is due at T0 + 4
    assert _jobs(catalog) == [
        ("var/a", T0 + 8, "n2", 1, None),
        ("var/b", T0 + 6, "n1", 1, None),
        ("var/c", T0 + 8, "n3", 1, None),
        ("var/d", T0 + 4, None, 0, None),
    ]
    # A lease that ran out (its node died) makes the job due again: leased anew, one attempt more.
    clock.now = T0 + 6
    assert catalog.renders.lease_render_job("n5", 5) == RenderJob("var/d", "i1", "s-var/d", 1)
    assert catalog.renders.lease_render_job("n6", 5) == RenderJob("var/b", "i1", "s-var/b", 2)


@pytest.mark.postgres
def test_the_oldest_due_job_is_leased_first_without_an_index(pg_url: str, clock: Clock) -> None:
    with migrated_catalog(without_index_scans(pg_url), "acme") as catalog:
        _image(catalog, "i1")
        _job_rows(catalog, ("var/a", T0 + 2), ("var/b", T0 + 1), ("var/c", T0 + 3))  # not in due order
        clock.now = T0 + 3
        assert [catalog.renders.lease_render_job("n", 5) for _ in range(3)] == [
            RenderJob(key, "i1", f"s-{key}", 1) for key in ("var/b", "var/a", "var/c")
        ]


def test_a_queued_job_is_due_at_once(catalog: Catalog, clock: Clock) -> None:
    _image(catalog, "i1")
    catalog.renders.add_render_job("var/a", "i1", "w=10")
    catalog.renders.add_render_job("var/a", "i1", "w=20")  # queued already: the first stays
    assert _jobs(catalog) == [("var/a", T0, None, 0, None)]
    assert catalog.renders.lease_render_job("n", 5) == RenderJob("var/a", "i1", "w=10", 1)
    assert catalog.renders.render_jobs_count() == 1


def test_a_retry_is_due_after_its_delay_and_keeps_the_error(catalog: Catalog, clock: Clock) -> None:
    _image(catalog, "i1")
    _job_rows(catalog, ("var/a", T0), ("var/b", T0))
    assert catalog.renders.lease_render_job("n", 50) is not None
    assert catalog.renders.lease_render_job("n", 50) is not None
    clock.now = T0 + 2
    catalog.renders.retry_render_job("var/a", "x" * 499 + "yz", 7)
    assert _jobs(catalog) == [("var/a", T0 + 9, None, 1, "x" * 499 + "y"), ("var/b", T0 + 50, "n", 1, None)]
    clock.now = T0 + 8
    assert catalog.renders.lease_render_job("n", 5) is None
    clock.now = T0 + 9
    assert catalog.renders.lease_render_job("n", 5) == RenderJob("var/a", "i1", "s-var/a", 2)


def test_finishing_a_job_removes_only_that_job(catalog: Catalog) -> None:
    _image(catalog, "i1")
    _job_rows(catalog, ("var/a", T0), ("var/b", T0))
    catalog.renders.finish_render_job("var/a")
    assert [j.key for j in _jobs(catalog)] == ["var/b"]
    assert catalog.renders.render_jobs_count() == 1


def test_two_nodes_polling_at_once_never_lease_one_job(catalog: Catalog, database_url: str) -> None:
    """Node B polls while node A, between its SELECT and its UPDATE, holds the oldest job.

    On PostgreSQL A's row is locked (``FOR UPDATE SKIP LOCKED``): B skips it and leases the next job,
    without waiting for A's transaction to end. On SQLite nothing is locked: B leases the same job first,
    and A's conditional UPDATE then finds it leased and A gets nothing.
    """
    _image(catalog, "i1")
    now = now_us()
    _job_rows(catalog, ("var/a", now - 2), ("var/b", now - 1))
    other = create_catalog_engine(database_url)
    node_b = Catalog(other)
    got: dict[str, RenderJob | None] = {}
    waited: list[bool] = []
    poller = threading.Thread(target=lambda: got.update(b=node_b.renders.lease_render_job("B", MINUTE)))

    def between_select_and_update(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().startswith("UPDATE render_jobs") and not poller.is_alive() and "b" not in got:
            poller.start()
            poller.join(5)
            waited.append(poller.is_alive())  # still polling after 5 s: B waits for A's row lock

    event.listen(catalog.engine, "before_cursor_execute", between_select_and_update)
    try:
        got["a"] = catalog.renders.lease_render_job("A", MINUTE)
    finally:
        event.remove(catalog.engine, "before_cursor_execute", between_select_and_update)
        poller.join()
        other.dispose()
    assert waited == [False]
    if catalog.engine.dialect.name == "postgresql":
        assert got["a"] is not None and got["a"].key == "var/a"
        assert got["b"] is not None and got["b"].key == "var/b"
    else:
        assert got["b"] is not None and got["b"].key == "var/a"
        assert got["a"] is None
    assert [(j.key, j.lease_owner, j.attempts) for j in _jobs(catalog)] == (
        [("var/a", "A", 1), ("var/b", "B", 1)]
        if catalog.engine.dialect.name == "postgresql"
        else [("var/a", "B", 1), ("var/b", None, 0)]
    )
