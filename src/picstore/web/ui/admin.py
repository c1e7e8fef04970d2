"""The admin console (``/admin``, signed in with the admin key): every tenant with its usage, one
tenant's pictures, take-down of any picture, and the health of the catalog and the blob store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from picstore.errors import PicstoreError
from picstore.keys import SLUG_PATTERN
from picstore.web.deps import get_listings
from picstore.web.schemas import ID_PATTERN
from picstore.web.ui.markup import picture_of
from picstore.web.ui.pages import error_page, render
from picstore.web.ui.paths import inside, redirect
from picstore.web.ui.session import Session, admin_session, check_csrf, store_of

router = APIRouter(prefix="/admin", include_in_schema=False)
AdminSession = Annotated[Session, Depends(admin_session)]
PER_PAGE = 48


def _health(request: Request) -> dict[str, str]:
    store = store_of(request)
    checks: dict[str, str] = {}
    for name, check in (("catalog", store.catalog.ping), ("storage", store.health)):
        try:
            check()
            checks[name] = "ok"
        except PicstoreError as exc:
            checks[name] = f"{exc.code}: {exc}"
    return checks


@router.get("")
def console(request: Request, session: AdminSession) -> Response:
    """Tenants with their usage; storage and catalog health."""
    store = store_of(request)
    rows = get_listings(request).usage_by_tenant()
    context = {
        "rows": rows,
        "health": _health(request),
        "storage_url": store.blobs.url,
        "catalog": store.engine.url.render_as_string(hide_password=True),
        "totals": (sum(u.pictures for _, u in rows), sum(u.bytes for _, u in rows)),
    }
    return render(request, "admin.html", context, session=session)


@router.get("/tenants/{slug}")
def tenant_pictures(
    slug: Annotated[str, Path(pattern=SLUG_PATTERN)],
    request: Request,
    session: AdminSession,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """One tenant's pictures, each with a take-down button."""
    try:
        found = get_listings(request).page(slug, page, PER_PAGE)
    except PicstoreError as exc:
        return error_page(request, exc, session=session, back="/admin")
    cards = [
        {"picture": p, "markup": picture_of(p.image, urls, ("thumb", "card"), sizes="200px")}
        for p, urls in found.pictures
    ]
    return render(request, "admin_tenant.html", {"found": found, "cards": cards}, session=session)


@router.post("/pictures/{image_id}/delete")
async def take_down(
    image_id: Annotated[str, Path(pattern=ID_PATTERN)], request: Request, session: AdminSession
) -> Response:
    """Take a picture down, whoever it belongs to: it stops being served at once."""
    form = await request.form()
    back = inside(request, form.get("back"), "/admin")
    try:
        check_csrf(request, session.csrf, form)
        await run_in_threadpool(store_of(request).delete, image_id)
    except PicstoreError as exc:
        return error_page(request, exc, session=session, back=back)
    return redirect(request, back)
