"""Helpers for the catalog tests: a migrated catalog, PostgreSQL without index scans, a clock the test
moves, count the SQL statements a call makes, write synthetic rows fast."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, event, insert

from picstore.catalog import Catalog, create_catalog_engine, upgrade
from picstore.catalog.tables import blobs, images


@contextmanager
def migrated_catalog(database_url: str, *tenants: str) -> Iterator[Catalog]:
    """A catalog at the head revision with tenants ``t1``, ``t2``, ... named by the slugs given."""
    engine = create_catalog_engine(database_url)
    upgrade(engine)
    catalog = Catalog(engine)
    for n, slug in enumerate(tenants):
        catalog.tenants.create(f"t{n + 1}", slug, slug.title(), str(n) * 64)
    try:
        yield catalog
    finally:
        engine.dispose()


def without_index_scans(pg_url: str) -> str:
    """``pg_url`` with index scans turned off in its sessions. Rows then come in the order they were
    written, whatever the indexes, unless the statement's ORDER BY says otherwise: a test on it sees an
    ORDER BY term missing that an index walked in its order would have hidden."""
    options = quote("-c enable_indexscan=off -c enable_indexonlyscan=off -c enable_bitmapscan=off")
    return f"{pg_url}{'&' if '?' in pg_url else '?'}options={options}"


class Clock:
    """A clock the test moves by hand: it reads ``now``, or, while ``then`` holds readings, the next one
    of those (one per call)."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.then: list[int] = []

    def __call__(self) -> int:
        if self.then:
            self.now = self.then.pop(0)
        return self.now


def pinned_clock(monkeypatch: pytest.MonkeyPatch, now: int, *modules: ModuleType) -> Clock:
    """A Clock at ``now`` that each of ``modules`` reads as its ``now_us``."""
    clock = Clock(now)
    for module in modules:
        monkeypatch.setattr(module, "now_us", clock)
    return clock


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (and their parameters) sent to the database inside the block, in order."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def add_rows(
    engine: Engine, tenant_id: str, count: int, *, start_us: int = 1_000_000, store: str = "memory://x"
) -> None:
    """``count`` images of ``tenant_id`` with their master blob rows (no variants), one per microsecond
    from ``start_us``: enough rows for the catalog's queries, without ingesting anything."""
    blob_rows = [
        {
            "key": f"img/{tenant_id}/{i:08d}.jpg",
            "store": store,
            "size": 100,
            "sha256": f"{i:064d}",
            "content_type": "image/jpeg",
            "created_us": start_us + i,
        }
        for i in range(count)
    ]
    image_rows = [
        {
            "id": f"{tenant_id}{i:08d}",
            "tenant_id": tenant_id,
            "blob_key": row["key"],
            "format": "jpeg",
            "width": 10,
            "height": 10,
            "frames": 1,
            "bytes": 100,
            "sha256": row["sha256"],
            "created_us": row["created_us"],
        }
        for i, row in enumerate(blob_rows)
    ]
    with engine.begin() as conn:
        conn.execute(insert(blobs), blob_rows)
        conn.execute(insert(images), image_rows)
