"""The catalog at scale: the plans and statement counts that keep deep pages, URLs and gc flat.

Speed itself is measured in benchmarks/catalog.py; these tests pin the shapes that make it flat: the
deep page reads an index range (not a filter) on SQLite and PostgreSQL, prepared or not; a page of URLs
is one query; gc makes one statement per batch, in one transaction per batch, through a partial index.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect

from picstore import ImageStore
from picstore.catalog import Catalog, create_catalog_engine, upgrade
from picstore.catalog.tables import blobs
from picstore.models import Tenant
from picstore.settings import load_settings
from tests.catalog_support import add_rows, statements
from tests.helpers import make_jpeg
from tests.http_support import api_for

LISTING_INDEX = "ix_images_tenant_id_created_us_id"


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    engine = create_catalog_engine(database_url)
    upgrade(engine)
    yield Catalog(engine)
    engine.dispose()


@pytest.fixture
def any_store(database_url: str, tmp_path: Path) -> Iterator[ImageStore]:
    with ImageStore.from_settings(
        load_settings(storage=(tmp_path / "blobs").as_uri(), database=database_url)
    ) as s:
        yield s


def _tenant(catalog: Catalog, slug: str) -> Tenant:
    return catalog.tenants.create(f"t{slug}", slug, slug, slug.ljust(64, "0"))


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _postgres_listing_scan(
    engine: Engine, sql: str, params: dict[str, Any], *, generic: bool
) -> dict[str, Any]:
    """The plan node that reads the images table, as PostgreSQL plans the listing query."""
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        if generic:
            # What psycopg's prepared statements get after a few runs: one plan for every cursor value.
            names: list[str] = []
            numbered = re.sub(
                r"%\((\w+)\)s",
                lambda m: (
                    f"${(names.index(m[1]) if m[1] in names else names.append(m[1]) or len(names) - 1) + 1}"
                ),
                sql,
            )
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql(f"PREPARE listing AS {numbered}")
            # EXECUTE takes its arguments as literals (a utility statement has no bound parameters).
            args = ", ".join(
                str(v) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'"
                for v in (params[n] for n in names)
            )
            raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE listing({args})").scalar()
        else:
            raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).scalar()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    scans = [n for n in _nodes(plan[0]["Plan"]) if n.get("Relation Name") == "images"]
    assert len(scans) == 1, plan
    return scans[0]


def test_a_deep_page_reads_an_index_range_not_a_filter(catalog: Catalog) -> None:
    engine = catalog.engine
    big, small = _tenant(catalog, "big"), _tenant(catalog, "small")
    add_rows(engine, big.id, 3000)
    add_rows(engine, small.id, 50, start_us=1_000_500)  # interleaved in time with the big tenant's
    seen_ids: list[str] = []
    page = catalog.images.page(big.id, 100, None)
    seen_ids += [i.id for i in page.items]
    for _ in range(25):
        assert page.next_cursor is not None
        with statements(engine) as seen:
            page = catalog.images.page(big.id, 100, page.next_cursor)
        seen_ids += [i.id for i in page.items]
    # Newest first, each image once, only the tenant's own, across every page boundary.
    assert seen_ids == [f"{big.id}{i:08d}" for i in range(2999, 2999 - 2600, -1)]
    sql, params = seen[0]
    assert "images" in sql and len(seen) == 2  # the page, then its variants
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            details = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert any(f"{LISTING_INDEX} (tenant_id=? AND (created_us,id)<(?,?))" in d for d in details), details
        return
    for generic in (False, True):
        scan = _postgres_listing_scan(engine, sql, params, generic=generic)
        assert scan["Index Name"] == LISTING_INDEX, scan
        assert re.search(r"ROW\(created_us, \(?id\)?(::text)?\) < ROW\(", scan["Index Cond"]), scan
        assert "Filter" not in scan, scan  # nothing read only to be thrown away


def test_a_page_of_urls_is_one_catalog_query(any_store: ImageStore) -> None:
    any_store.create_tenant("acme")
    for i in range(4):
        any_store.put(make_jpeg(40 + i, 30), "acme")
    with statements(any_store.engine) as listing:
        page = any_store.list("acme", limit=10)
    with statements(any_store.engine) as lookups:
        urls = any_store.urls(page.items)
    assert len(listing) == 3  # the tenant, the page, the page's variants
    assert len(lookups) == 1
    assert set(urls) == {i.id for i in page.items}
    for image in page.items:
        assert urls[image.id].original == any_store.url(image.id)
        assert len(urls[image.id].variants) == len(image.variants) == 6


def test_the_api_listing_costs_the_same_statements_for_one_image_or_many(tmp_path: Path) -> None:
    settings = load_settings(storage=(tmp_path / "blobs").as_uri(), database=f"sqlite:///{tmp_path}/c.db")
    with ImageStore.from_settings(settings) as store, api_for(store) as api:
        api.upload("acme", make_jpeg(20, 20))
        counts = []
        for more in (0, 4):
            for i in range(more):
                api.upload("acme", make_jpeg(30 + i, 20))
            with statements(store.engine) as seen:
                body = api.client.get("/v1/images?limit=50", headers=api.auth("acme")).json()
            counts.append(len(seen))
            assert len(body["items"]) == 1 + more
            assert all(item["url"] and item["variants"] for item in body["items"])
        assert counts[0] == counts[1], counts


def _orphan_rows(engine: Engine, count: int, store: str) -> list[str]:
    keys = [f"img/orphan/{i:06d}.jpg" for i in range(count)]
    rows = [
        {
            "key": k,
            "store": store,
            "size": 1,
            "sha256": "0" * 64,
            "content_type": "image/jpeg",
            "created_us": 1,
            "orphaned_us": 1 + i,
        }
        for i, k in enumerate(keys)
    ]
    with engine.begin() as conn:
        conn.execute(blobs.insert(), rows)
    return keys


def test_gc_makes_one_statement_and_one_transaction_per_batch(any_store: ImageStore) -> None:
    any_store.create_tenant("acme")
    kept = any_store.put(make_jpeg(), "acme")
    keys = _orphan_rows(any_store.engine, 25, any_store.blobs.url)
    for key in keys[:3]:
        any_store.blobs.put(key, b"x", content_type="image/jpeg")
    commits: list[object] = []
    count_commit = commits.append
    event.listen(any_store.engine, "commit", count_commit)
    try:
        with statements(any_store.engine) as seen:
            removed = any_store.gc(grace_seconds=0, batch=10)
    finally:
        event.remove(any_store.engine, "commit", count_commit)
    assert removed == keys  # oldest orphan first
    assert [s for s, _ in seen if not s.lstrip().upper().startswith("DELETE")] == []
    assert len(seen) == 3 and len(commits) == 3  # batches of 10, 10 and 5: one DELETE, one commit each
    assert not [b.key for b in any_store.blobs.list("img/orphan/")]
    assert any_store.read(kept.id)  # a used blob is never an orphan
    with statements(any_store.engine) as seen:
        assert any_store.gc(grace_seconds=0, batch=10) == []
    assert len(seen) == 1


def test_the_orphan_scan_reads_a_partial_index(catalog: Catalog) -> None:
    engine = catalog.engine
    indexes = {ix["name"]: ix for ix in inspect(engine).get_indexes("blobs")}
    assert "ix_blobs_store" not in indexes  # nothing filters blobs by store
    assert indexes["ix_blobs_orphaned_us"]["column_names"] == ["orphaned_us"]
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            ddl = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_blobs_orphaned_us'"
            ).scalar()
        else:
            ddl = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_blobs_orphaned_us'"
            ).scalar()
    assert "orphaned_us IS NOT NULL" in str(ddl)
    _orphan_rows(engine, 5, "memory://x")
    with statements(engine) as seen:
        catalog.blobs.collect_orphans(10**15, lambda gone: None, 2)
    sql, params = seen[0]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            details = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert any("USING INDEX ix_blobs_orphaned_us (orphaned_us<?)" in d for d in details), details
        return
    with engine.connect() as conn:
        # Five rows would be read whole anyway; the question is whether the partial index can serve the
        # scan at all (its predicate must follow from the query's), so sequential scans are ruled out.
        conn.exec_driver_sql("SET enable_seqscan = off")
        raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).scalar()
        conn.rollback()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    scans = [n for n in _nodes(plan[0]["Plan"]) if n.get("Index Name") == "ix_blobs_orphaned_us"]
    assert scans and "orphaned_us <" in scans[0]["Index Cond"], plan


def test_iter_blobs_walks_in_key_order_one_bounded_page_at_a_time(catalog: Catalog) -> None:
    tenant = _tenant(catalog, "walk")
    add_rows(catalog.engine, tenant.id, 23)
    keys = sorted(f"img/{tenant.id}/{i:08d}.jpg" for i in range(23))
    pages = []
    after = None
    while page := catalog.blobs.iter_blobs(after, 5):
        assert len(page) <= 5
        pages.append([loc.key for loc in page])
        after = page[-1].key
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [k for p in pages for k in p] == keys
    # Resuming after any key continues from there.
    assert [loc.key for loc in catalog.blobs.iter_blobs(keys[10], 3)] == keys[11:14]
    assert [loc.key for loc in catalog.blobs.walk(page_size=4)] == keys
    with statements(catalog.engine) as seen:
        assert len(list(catalog.blobs.walk(page_size=10))) == 23
    assert len(seen) == 4  # 10 + 10 + 3, then the empty page that ends the walk
