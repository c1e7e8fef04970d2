"""Access tokens of the web UI in the catalog: one-time sign-in links, sessions and upload tokens.

Only a SHA-256 of each token is stored (the caller hashes), so a leaked catalog holds no working secret.
Invariants: a token is valid only of its own kind and before its expiry; a one-time token is redeemed by
one conditional UPDATE, so of two concurrent redemptions exactly one succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, select, update

from picstore.catalog.clock import now_us
from picstore.catalog.tables import access_tokens, tenants
from picstore.catalog.tenants import tenant_of
from picstore.catalog.transactions import Transactions
from picstore.models import Tenant


@dataclass(frozen=True)
class Grant:
    """What a valid token grants: its kind and its tenant (None for the admin)."""

    kind: str
    tenant: Tenant | None
    expires_us: int


class AccessTokens:
    """Issue, look up, redeem and revoke hashed access tokens (``Catalog.access``)."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def add_token(self, token_hash: str, kind: str, tenant_id: str | None, ttl_seconds: float) -> int:
        """Record a token; returns its expiry (microseconds since the epoch). Expired rows are swept."""
        created = now_us()
        expires = created + int(ttl_seconds * 1_000_000)
        with self._tx() as conn:
            # Sweeping as we go keeps the table small with no scheduler (indexed on expires_us).
            conn.execute(delete(access_tokens).where(access_tokens.c.expires_us < created))
            conn.execute(
                insert(access_tokens).values(
                    token_hash=token_hash,
                    kind=kind,
                    tenant_id=tenant_id,
                    created_us=created,
                    expires_us=expires,
                    used_us=None,
                )
            )
        return expires

    def grant(self, token_hash: str, kind: str) -> Grant | None:
        """The grant of a live token of ``kind``; None when unknown, expired, used or of another kind."""
        # Not ``select(access_tokens, tenants)``: both have a ``created_us``, and the row's would be the
        # token's, which tenant_of would then give as the tenant's creation time.
        query = (
            select(access_tokens.c.kind, access_tokens.c.expires_us, access_tokens.c.tenant_id, tenants)
            .outerjoin(tenants, tenants.c.id == access_tokens.c.tenant_id)
            .where(
                access_tokens.c.token_hash == token_hash,
                access_tokens.c.kind == kind,
                access_tokens.c.expires_us > now_us(),
                access_tokens.c.used_us.is_(None),
            )
        )
        with self._tx() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        tenant = tenant_of(row) if row.tenant_id is not None else None
        return Grant(kind=row.kind, tenant=tenant, expires_us=row.expires_us)

    def redeem(self, token_hash: str, kind: str) -> Grant | None:
        """Use a one-time token: its grant, or None when it is unknown, expired or already used."""
        grant = self.grant(token_hash, kind)
        if grant is None:
            return None
        now = now_us()
        with self._tx() as conn:
            done = conn.execute(
                update(access_tokens)
                .where(
                    and_(
                        access_tokens.c.token_hash == token_hash,
                        access_tokens.c.used_us.is_(None),
                        access_tokens.c.expires_us > now,
                    )
                )
                .values(used_us=now)
            )
        return grant if done.rowcount == 1 else None

    def revoke(self, token_hash: str) -> None:
        """Forget a token (sign-out). Idempotent."""
        with self._tx() as conn:
            conn.execute(delete(access_tokens).where(access_tokens.c.token_hash == token_hash))
