"""Tenant rows: one per customer of the application, found by slug or by the hash of its API key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from picstore.catalog.clock import from_us, now_us
from picstore.catalog.tables import tenants
from picstore.catalog.transactions import Transactions
from picstore.errors import Conflict, NotFound
from picstore.models import Tenant


def tenant_of(row: Any) -> Tenant:
    """A Tenant from a row of the tenants table."""
    return Tenant(id=row.id, slug=row.slug, name=row.name, created_at=from_us(row.created_us))


class Tenants:
    """The ``tenants`` table. Only a SHA-256 of each API key is stored."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def create(self, tenant_id: str, slug: str, name: str, api_key_hash: str) -> Tenant:
        """Insert a tenant; Conflict when the slug is taken."""
        created = now_us()
        with self._tx() as conn:
            if conn.execute(select(tenants.c.id).where(tenants.c.slug == slug)).first():
                raise Conflict(f"tenant {slug!r} already exists")
            conn.execute(
                insert(tenants).values(
                    id=tenant_id, slug=slug, name=name, api_key_hash=api_key_hash, created_us=created
                )
            )
        return Tenant(id=tenant_id, slug=slug, name=name, created_at=from_us(created))

    def _where(self, clause: Any) -> Tenant | None:
        with self._tx() as conn:
            row = conn.execute(select(tenants).where(clause)).first()
        return None if row is None else tenant_of(row)

    def get(self, slug: str) -> Tenant:
        """The tenant with this slug; NotFound otherwise."""
        found = self._where(tenants.c.slug == slug)
        if found is None:
            raise NotFound(f"no tenant {slug!r}: create it with `picstore tenant create {slug}`")
        return found

    def by_key_hash(self, api_key_hash: str) -> Tenant | None:
        """The tenant whose API key hashes to this value, if any."""
        return self._where(tenants.c.api_key_hash == api_key_hash)

    def all(self) -> list[Tenant]:
        """All tenants, by slug."""
        with self._tx() as conn:
            rows = conn.execute(select(tenants).order_by(tenants.c.slug)).all()
        return [tenant_of(r) for r in rows]
