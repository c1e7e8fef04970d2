"""``/v1/tenants``: tenant management with the admin key (``PICSTORE_ADMIN_KEY``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from picstore.keys import SLUG_PATTERN
from picstore.models import Tenant
from picstore.web.auth import require_admin
from picstore.web.deps import StoreDep
from picstore.web.schemas import (
    TenantCreated,
    TenantIn,
    TenantList,
    TenantOut,
    problem_responses,
)

router = APIRouter(prefix="/v1/tenants", tags=["tenants"], dependencies=[Depends(require_admin)])

Slug = Annotated[str, Path(pattern=SLUG_PATTERN, description="A tenant's slug.")]


def _out(tenant: Tenant) -> TenantOut:
    return TenantOut(tenant=tenant.slug, name=tenant.name, created_at=tenant.created_at)


@router.post(
    "",
    status_code=201,
    response_model=TenantCreated,
    responses=problem_responses(400, 401, 403, 409, 503),
    summary="Create a tenant",
)
def create_tenant(body: TenantIn, store: StoreDep) -> TenantCreated:
    """Create a tenant; the answer carries its API key, which is shown only this once."""
    tenant, api_key = store.create_tenant(body.slug, body.name)
    return TenantCreated(**_out(tenant).model_dump(), api_key=api_key)


@router.get("", response_model=TenantList, responses=problem_responses(401, 403, 503), summary="List tenants")
def list_tenants(store: StoreDep) -> TenantList:
    """Every tenant, by slug."""
    return TenantList(items=[_out(t) for t in store.tenants()])


@router.get(
    "/{slug}",
    response_model=TenantOut,
    responses=problem_responses(401, 403, 404, 503),
    summary="Get a tenant",
)
def get_tenant(slug: Slug, store: StoreDep) -> TenantOut:
    """One tenant."""
    return _out(store.tenant(slug))
