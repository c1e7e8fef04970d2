"""Tenant rows on a real catalog: each field round-trips, a slug is taken once, look-ups by slug and by
key hash find exactly their tenant, and ``all`` is in slug order whatever the insertion order.

``picstore.catalog.tenants`` reads the clock through its own ``now_us``, so these tests pin it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

import picstore.catalog.tenants as tenant_rows
from picstore import errors
from picstore.catalog import Catalog
from picstore.catalog.clock import from_us
from picstore.catalog.tables import tenants
from picstore.models import Tenant
from tests.catalog_support import migrated_catalog

T0 = 1_700_000_000_123_456  # a fixed "now", in microseconds


@pytest.fixture
def catalog(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Catalog]:
    monkeypatch.setattr(tenant_rows, "now_us", lambda: T0)
    with migrated_catalog(database_url) as catalog:
        yield catalog


def test_a_tenant_round_trips_every_field(catalog: Catalog) -> None:
    made = catalog.tenants.create("id-zeta", "zeta", "Zeta Flats", "a" * 64)
    expected = Tenant(id="id-zeta", slug="zeta", name="Zeta Flats", created_at=from_us(T0))
    assert made == expected
    assert catalog.tenants.get("zeta") == expected
    assert catalog.tenants.by_key_hash("a" * 64) == expected
    with catalog.engine.connect() as conn:
        row = conn.execute(select(tenants)).one()
    assert row.api_key_hash == "a" * 64 and row.created_us == T0


def test_a_slug_is_taken_once(catalog: Catalog) -> None:
    catalog.tenants.create("t1", "acme", "Acme", "a" * 64)
    catalog.tenants.create("t2", "globex", "Globex", "b" * 64)  # another slug: no conflict
    with pytest.raises(errors.Conflict) as caught:
        catalog.tenants.create("t3", "acme", "Acme again", "c" * 64)
    assert caught.value.message == "tenant 'acme' already exists"
    with catalog.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tenants)).scalar_one() == 2
    assert catalog.tenants.get("acme").name == "Acme"


def test_look_ups_find_exactly_their_tenant(catalog: Catalog) -> None:
    acme = catalog.tenants.create("t1", "acme", "Acme", "a" * 64)
    globex = catalog.tenants.create("t2", "globex", "Globex", "b" * 64)
    assert catalog.tenants.get("globex") == globex
    assert catalog.tenants.by_key_hash("a" * 64) == acme
    assert catalog.tenants.by_key_hash("b" * 64) == globex
    assert catalog.tenants.by_key_hash("c" * 64) is None
    with pytest.raises(errors.NotFound) as caught:
        catalog.tenants.get("initech")
    assert caught.value.message == "no tenant 'initech': create it with `picstore tenant create initech`"


def test_all_is_in_slug_order_not_insertion_order(catalog: Catalog) -> None:
    assert catalog.tenants.all() == []
    for n, slug in enumerate(["mid", "zeta", "alpha"]):
        catalog.tenants.create(f"t{n}", slug, slug.title(), str(n) * 64)
    assert [t.slug for t in catalog.tenants.all()] == ["alpha", "mid", "zeta"]
    assert catalog.tenants.all()[0] == Tenant(id="t2", slug="alpha", name="Alpha", created_at=from_us(T0))
