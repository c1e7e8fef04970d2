"""The catalog's write target: one row, recorded by the first ``ensure`` and changed only by ``switch``.

``picstore.catalog.targets`` reads the clock through its own ``now_us``, so these tests pin it and see
which call wrote the row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert, select

import picstore.catalog.targets as target_rows
from picstore.catalog import Catalog
from picstore.catalog.tables import write_target
from tests.catalog_support import Clock, migrated_catalog, pinned_clock

T0 = 1_700_000_000_000_000


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return pinned_clock(monkeypatch, T0, target_rows)


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    with migrated_catalog(database_url) as catalog:
        yield catalog


def _rows(catalog: Catalog) -> list[Any]:
    with catalog.engine.connect() as conn:
        return list(conn.execute(select(write_target.c.store, write_target.c.updated_us)).all())


def test_none_is_recorded_on_a_new_catalog(catalog: Catalog) -> None:
    assert catalog.targets.current() is None
    assert _rows(catalog) == []


def test_the_first_ensure_records_its_default_and_later_ones_keep_it(catalog: Catalog, clock: Clock) -> None:
    assert catalog.targets.ensure("file:///first") == "file:///first"
    clock.now = T0 + 5
    # A node started with other settings reads the recorded choice; the row is neither added nor changed.
    assert catalog.targets.ensure("s3://other") == "file:///first"
    assert catalog.targets.current() == "file:///first"
    assert _rows(catalog) == [("file:///first", T0)]


def test_switch_changes_the_one_row_and_returns_the_previous_target(catalog: Catalog, clock: Clock) -> None:
    catalog.targets.ensure("file:///first")
    clock.now = T0 + 7
    assert catalog.targets.switch("s3://bucket") == "file:///first"
    assert catalog.targets.current() == "s3://bucket"
    assert _rows(catalog) == [("s3://bucket", T0 + 7)]
    clock.now = T0 + 9
    # Switching to the current target changes nothing, not even the time of the last change.
    assert catalog.targets.switch("s3://bucket") == "s3://bucket"
    assert _rows(catalog) == [("s3://bucket", T0 + 7)]


def test_switch_on_a_new_catalog_records_the_target(catalog: Catalog, clock: Clock) -> None:
    assert catalog.targets.switch("s3://bucket") == "s3://bucket"
    assert catalog.targets.current() == "s3://bucket"
    assert _rows(catalog) == [("s3://bucket", T0)]


def test_the_row_an_existing_catalog_holds_is_the_one_read_and_switched(
    catalog: Catalog, clock: Clock
) -> None:
    # Catalogs written by earlier versions hold the one row with id 1.
    with catalog.engine.begin() as conn:
        conn.execute(insert(write_target).values(id=1, store="file:///old", updated_us=1))
    assert catalog.targets.current() == "file:///old"
    assert catalog.targets.ensure("s3://new") == "file:///old"
    assert catalog.targets.switch("s3://new") == "file:///old"
    with catalog.engine.connect() as conn:
        assert conn.execute(select(write_target)).all() == [(1, "s3://new", T0)]
