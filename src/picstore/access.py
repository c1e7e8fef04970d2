"""Access for browsers: one-time sign-in links, UI sessions and short-lived upload tokens.

A host application that has already authenticated its customer mints a sign-in link
(:meth:`Access.signin_link`) or an upload token for an embedded widget (:meth:`Access.upload_token`);
the tenant's API key never reaches a browser that way.

Invariants:
- tokens are 256-bit random secrets; the catalog keeps only their SHA-256;
- a token grants only its own kind: a sign-in link is not a session, an upload token only creates and
  completes direct uploads of its tenant;
- a sign-in link works once and only before its expiry; ending a session forgets it at once, on every
  node sharing the catalog.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from picstore.catalog.access import AccessTokens, Grant
from picstore.errors import InvalidRequest
from picstore.models import Tenant

if TYPE_CHECKING:
    from picstore.store import ImageStore, TenantRef

#: Where a sign-in link lands (the web UI's route); the token follows.
SIGNIN_PATH = "/login/link/"
SIGNIN = "signin"
SESSION = "session"
UPLOAD = "upload"
#: Default and longest lives, in seconds.
LINK_TTL = 900
UPLOAD_TTL = 900
MAX_LINK_TTL = 7 * 24 * 3600
MAX_UPLOAD_TTL = 24 * 3600
_PREFIX = {SIGNIN: "psl_", SESSION: "pss_", UPLOAD: "psu_"}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

Ttl = float | int | timedelta | str


def seconds(ttl: Ttl, *, longest: float, what: str) -> float:
    """A time to live in seconds: a number, a timedelta or ``"90s"``/``"15m"``/``"2h"``/``"7d"``."""
    if isinstance(ttl, timedelta):
        value = ttl.total_seconds()
    elif isinstance(ttl, str):
        match = _DURATION.match(ttl)
        if match is None:
            raise InvalidRequest(f"{what} {ttl!r} is not a duration: write it like 90s, 15m, 2h or 7d")
        value = float(int(match[1]) * _UNIT[match[2]])
    else:
        value = float(ttl)
    if not 1 <= value <= longest:
        raise InvalidRequest(f"{what} must be between 1 second and {int(longest)} seconds, not {value:g}")
    return value


def hash_token(token: str) -> str:
    """The SHA-256 the catalog keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Access:
    """Mint and check the browser tokens of one :class:`~picstore.store.ImageStore`."""

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self.catalog: AccessTokens = store.catalog.access

    def _mint(self, kind: str, tenant_id: str | None, ttl: float) -> str:
        token = _PREFIX[kind] + secrets.token_urlsafe(32)
        self.catalog.add_token(hash_token(token), kind, tenant_id, ttl)
        return token

    def _grant(self, token: str, kind: str) -> Grant | None:
        # Not one of ours (or absurdly long): no query at all.
        if not token.startswith(_PREFIX[kind]) or len(token) > 100:
            return None
        return self.catalog.grant(hash_token(token), kind)

    def signin_link(self, tenant: TenantRef, ttl: Ttl = LINK_TTL) -> str:
        """A URL that signs ``tenant`` in to its dashboard once, within ``ttl``."""
        owner = self.store.tenant(tenant)
        token = self._mint(SIGNIN, owner.id, seconds(ttl, longest=MAX_LINK_TTL, what="the link's ttl"))
        return self.store.url_builder.base_url + SIGNIN_PATH + token

    def redeem_link(self, token: str) -> Tenant | None:
        """The tenant a sign-in link is for, using it up; None when unknown, expired or used."""
        if not token.startswith(_PREFIX[SIGNIN]) or len(token) > 100:
            return None
        grant = self.catalog.redeem(hash_token(token), SIGNIN)
        return None if grant is None else grant.tenant

    def start_session(self, tenant: Tenant | None) -> str:
        """A session token for ``tenant`` (None: the admin) that lives ``settings.session_ttl``."""
        return self._mint(SESSION, None if tenant is None else tenant.id, self.store.settings.session_ttl)

    def session(self, token: str) -> Grant | None:
        """The live session of this token, or None."""
        return self._grant(token, SESSION)

    def end_session(self, token: str) -> None:
        """Forget a session (sign-out)."""
        self.catalog.revoke(hash_token(token))

    def upload_token(self, tenant: TenantRef, ttl: Ttl = UPLOAD_TTL) -> str:
        """A token that lets a browser upload pictures for ``tenant`` (and nothing else) within ``ttl``."""
        owner = self.store.tenant(tenant)
        return self._mint(UPLOAD, owner.id, seconds(ttl, longest=MAX_UPLOAD_TTL, what="the token's ttl"))

    def uploader(self, token: str) -> Tenant | None:
        """The tenant a live upload token is for, or None."""
        grant = self._grant(token, UPLOAD)
        return None if grant is None else grant.tenant
