"""Who is calling: a tenant (``Authorization: Bearer <tenant API key>``) or the admin (the admin key).

A tenant key sees and touches only its tenant's images: every lookup by id is scoped to the tenant, and
another tenant's id answers 404 exactly like an id that does not exist. No key, or a key picstore does not
know, is 401; an address that keeps failing, or a key sending too fast, is 429 (web/throttle.py). The
admin key (``PICSTORE_ADMIN_KEY``) manages tenants and nothing else; without it set, tenant management
over HTTP is off (403) and stays with the CLI.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from picstore.errors import Forbidden, Unauthorized
from picstore.models import Tenant
from picstore.web.deps import StoreDep, ThrottleDep, client_address

_tenant_scheme = HTTPBearer(
    scheme_name="TenantKey", description="A tenant's API key (picstore tenant create).", auto_error=False
)
_admin_scheme = HTTPBearer(
    scheme_name="AdminKey", description="The admin key (PICSTORE_ADMIN_KEY).", auto_error=False
)
#: API keys are 47 characters; anything much longer is not one and is not worth hashing.
_MAX_KEY_LENGTH = 256


def _bearer(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("send Authorization: Bearer <API key>")
    if len(credentials.credentials) > _MAX_KEY_LENGTH:
        raise Unauthorized("that API key is not valid")
    return credentials.credentials


def current_tenant(
    request: Request,
    store: StoreDep,
    throttle: ThrottleDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_tenant_scheme)],
) -> Tenant:
    """The tenant whose API key the request carries; 401 without a valid one, 429 when throttled."""
    # Throttled before routing (web/throttle.py ThrottleGate); here only failures are counted.
    key, address = _bearer(credentials), client_address(request)
    tenant = store.authenticate(key)
    if tenant is None:
        throttle.failed(address)
        raise Unauthorized("that API key is not valid")
    request.state.tenant = tenant
    return tenant


def require_admin(
    request: Request,
    store: StoreDep,
    throttle: ThrottleDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_scheme)],
) -> None:
    """Pass only requests carrying the admin key; 403 when no admin key is configured."""
    expected = store.settings.admin_key
    if not expected:
        raise Forbidden("tenant management over HTTP is off: set PICSTORE_ADMIN_KEY, or use the CLI")
    given, address = _bearer(credentials), client_address(request)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        throttle.failed(address)
        raise Unauthorized("that admin key is not valid")


TenantDep = Annotated[Tenant, Depends(current_tenant)]
AdminDep = Annotated[None, Depends(require_admin)]
