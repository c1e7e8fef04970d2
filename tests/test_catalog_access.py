"""Hashed access tokens on a real catalog, each rule at its boundary: a token is live before its expiry
and dead at it, valid only of its kind, redeemed once by one conditional update, swept once expired.

``picstore.catalog.access`` reads the clock through its own ``now_us``, so these tests pin it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

import picstore.catalog.access as access_rows
from picstore.catalog import Catalog
from picstore.catalog.access import Grant
from picstore.catalog.tables import access_tokens
from picstore.models import Tenant
from tests.catalog_support import Clock, migrated_catalog, pinned_clock

T0 = 1_700_000_000_000_000
H1, H2, H3 = "1" * 64, "2" * 64, "3" * 64


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return pinned_clock(monkeypatch, T0, access_rows)


@pytest.fixture
def catalog(database_url: str, clock: Clock) -> Iterator[Catalog]:
    with migrated_catalog(database_url, "acme", "globex") as catalog:
        yield catalog


def _acme(catalog: Catalog) -> Tenant:
    return catalog.tenants.get("acme")


def _rows(catalog: Catalog) -> list[Any]:
    with catalog.engine.connect() as conn:
        query = select(
            access_tokens.c.token_hash,
            access_tokens.c.kind,
            access_tokens.c.tenant_id,
            access_tokens.c.created_us,
            access_tokens.c.expires_us,
            access_tokens.c.used_us,
        ).order_by(access_tokens.c.token_hash)
        return list(conn.execute(query).all())


def test_a_token_is_recorded_with_its_expiry(catalog: Catalog) -> None:
    assert catalog.access.add_token(H1, "signin", "t1", 1.5) == T0 + 1_500_000
    assert catalog.access.add_token(H2, "session", None, 0.000_001) == T0 + 1
    assert _rows(catalog) == [
        (H1, "signin", "t1", T0, T0 + 1_500_000, None),
        (H2, "session", None, T0, T0 + 1, None),
    ]


@pytest.mark.parametrize(("now", "live"), [(T0 + 9, True), (T0 + 10, False), (T0 + 11, False)])
def test_a_token_is_live_until_its_expiry(catalog: Catalog, clock: Clock, now: int, live: bool) -> None:
    catalog.access.add_token(H1, "session", "t1", 0.000_010)  # expires at T0 + 10
    clock.now = now
    expected = Grant(kind="session", tenant=_acme(catalog), expires_us=T0 + 10) if live else None
    assert catalog.access.grant(H1, "session") == expected


def test_a_grant_names_its_tenant_and_the_admins_none(catalog: Catalog) -> None:
    catalog.access.add_token(H1, "session", "t2", 60)
    catalog.access.add_token(H2, "session", None, 60)
    globex = catalog.tenants.get("globex")
    assert catalog.access.grant(H1, "session") == Grant("session", globex, T0 + 60_000_000)
    assert catalog.access.grant(H2, "session") == Grant("session", None, T0 + 60_000_000)


def test_a_token_grants_only_its_own_kind_and_hash(catalog: Catalog) -> None:
    catalog.access.add_token(H1, "upload", "t1", 60)
    assert catalog.access.grant(H1, "session") is None
    assert catalog.access.grant(H2, "upload") is None
    assert catalog.access.redeem(H1, "signin") is None
    assert catalog.access.grant(H1, "upload") is not None


def test_a_token_is_redeemed_once(catalog: Catalog, clock: Clock) -> None:
    catalog.access.add_token(H1, "signin", "t1", 60)
    catalog.access.add_token(H2, "signin", "t1", 60)
    clock.now = T0 + 5
    assert catalog.access.redeem(H1, "signin") == Grant("signin", _acme(catalog), T0 + 60_000_000)
    assert catalog.access.redeem(H1, "signin") is None
    assert catalog.access.grant(H1, "signin") is None
    # Only that token is used, at the time it was redeemed; the other one still works.
    assert [r.used_us for r in _rows(catalog)] == [T0 + 5, None]
    assert catalog.access.redeem(H2, "signin") is not None


def _granting(grant: Grant) -> Callable[[str, str], Grant]:
    return lambda _hash, _kind: grant


def test_the_update_decides_between_two_redemptions(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two requests both read a live grant; the first update wins, the second one's finds the token used.
    catalog.access.add_token(H1, "signin", "t1", 60)
    grant = catalog.access.grant(H1, "signin")
    assert grant is not None and catalog.access.redeem(H1, "signin") == grant
    monkeypatch.setattr(catalog.access, "grant", _granting(grant))
    assert catalog.access.redeem(H1, "signin") is None
    assert [r.used_us for r in _rows(catalog)] == [T0]


def test_the_update_refuses_a_token_that_expired_after_its_grant_was_read(
    catalog: Catalog, clock: Clock
) -> None:
    catalog.access.add_token(H1, "signin", "t1", 0.000_010)  # expires at T0 + 10
    clock.then = [T0 + 9, T0 + 10]  # the grant is read at T0 + 9, the update runs at T0 + 10
    assert catalog.access.redeem(H1, "signin") is None
    assert [r.used_us for r in _rows(catalog)] == [None]
    clock.then = [T0 + 9, T0 + 9]
    assert catalog.access.redeem(H1, "signin") is not None


def test_adding_a_token_sweeps_the_ones_expired_before_now(catalog: Catalog, clock: Clock) -> None:
    for token_hash, ttl_us in [(H1, 9), (H2, 10), (H3, 11)]:
        catalog.access.add_token(token_hash, "session", "t1", ttl_us / 1_000_000)
    clock.now = T0 + 10
    catalog.access.add_token("4" * 64, "session", "t1", 60)
    # H1 expired at T0 + 9, before now: swept. H2 expires now: kept until the next sweep.
    assert [r.token_hash for r in _rows(catalog)] == [H2, H3, "4" * 64]


def test_revoke_forgets_only_that_token_and_is_idempotent(catalog: Catalog) -> None:
    catalog.access.add_token(H1, "session", "t1", 60)
    catalog.access.add_token(H2, "session", "t1", 60)
    catalog.access.revoke(H1)
    catalog.access.revoke(H1)
    assert catalog.access.grant(H1, "session") is None
    assert [r.token_hash for r in _rows(catalog)] == [H2]
