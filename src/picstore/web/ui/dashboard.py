"""The customer's dashboard (``/dashboard``): upload, the grid of pictures, their text and order, the
listing's name and description, usage.

Every change is a POST carrying the session's CSRF token. Forms work without JavaScript (the answer is a
redirect back to the page); the page's scripts send the same POSTs with ``Accept: application/json`` and
get JSON (problem+json when refused). Uploads use the public direct-upload API with a short-lived upload
token that :func:`upload_token` mints for the session, so the browser never holds the API key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from picstore.access import UPLOAD_TTL
from picstore.errors import InvalidRequest, PicstoreError
from picstore.web.deps import get_listings
from picstore.web.problems import problem
from picstore.web.schemas import ID_PATTERN
from picstore.web.ui.markup import picture_of
from picstore.web.ui.pages import error_page, render
from picstore.web.ui.paths import inside, redirect
from picstore.web.ui.session import Session, check_csrf, store_of, tenant_session

router = APIRouter(prefix="/dashboard", include_in_schema=False)
TenantSession = Annotated[Session, Depends(tenant_session)]
PictureId = Annotated[str, Path(pattern=ID_PATTERN)]
#: Pictures per dashboard page.
PER_PAGE = 24


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _back(request: Request, fields: dict[str, str]) -> str:
    # Only back into the dashboard: a form's `back` must never redirect elsewhere.
    return inside(request, fields.get("back"), "/dashboard")


async def _change(request: Request, session: Session, change: Callable[[dict[str, str]], None]) -> Response:
    """Run a change for a form or a fetch: CSRF first, then the change, then redirect or JSON."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        check_csrf(request, session.csrf, form)
        await run_in_threadpool(change, fields)
    except PicstoreError as exc:
        if _wants_json(request):
            return problem(exc, request.url.path)
        return error_page(request, exc, session=session, back=_back(request, fields))
    if _wants_json(request):
        return JSONResponse({"ok": True})
    return redirect(request, _back(request, fields))


@router.get("")
def dashboard(request: Request, session: TenantSession, page: Annotated[int, Query(ge=1)] = 1) -> Response:
    """The dashboard page."""
    listings = get_listings(request)
    try:
        found = listings.page(session.customer, page, PER_PAGE)
    except InvalidRequest as exc:
        return error_page(request, exc, session=session, back="/dashboard")
    usage = listings.usage(found.tenant)
    cards = [
        {
            "picture": picture,
            "markup": picture_of(picture.image, urls, ("thumb", "card"), sizes="200px"),
            "snippet": str(picture_of(picture.image, urls, ("card", "large"))),
        }
        for picture, urls in found.pictures
    ]
    settings = store_of(request).settings
    context = {"found": found, "usage": usage, "cards": cards, "max_bytes": settings.max_bytes}
    return render(request, "dashboard.html", context, session=session)


@router.post("/upload-token")
async def upload_token(request: Request, session: TenantSession) -> Response:
    """A short-lived upload token for this session's uploads (JSON); CSRF-checked like every POST."""
    form = await request.form()
    try:
        check_csrf(request, session.csrf, form)
    except PicstoreError as exc:
        return problem(exc, request.url.path)
    mint = store_of(request).upload_token
    token = await run_in_threadpool(mint, session.customer, UPLOAD_TTL)
    return JSONResponse({"token": token, "expires_in": UPLOAD_TTL})  # no-store: web/headers.py


@router.post("/listing")
async def describe(request: Request, session: TenantSession) -> Response:
    """Set the listing's display name and description."""

    def change(f: dict[str, str]) -> None:
        get_listings(request).describe(
            session.customer, name=f.get("name", ""), description=f.get("description", "")
        )

    return await _change(request, session, change)


@router.post("/order")
async def order(request: Request, session: TenantSession) -> Response:
    """Show the pictures newest first (``mode=newest``) or in the chosen order (``mode=custom``)."""

    def change(f: dict[str, str]) -> None:
        if f.get("mode") not in ("newest", "custom"):
            raise InvalidRequest("mode must be newest or custom")
        get_listings(request).set_custom_order(session.customer, f["mode"] == "custom")

    return await _change(request, session, change)


@router.post("/pictures/{image_id}/text")
async def set_text(image_id: PictureId, request: Request, session: TenantSession) -> Response:
    """Set a picture's alt text and caption."""

    def change(f: dict[str, str]) -> None:
        get_listings(request).set_text(
            session.customer,
            image_id,
            alt=f.get("alt", ""),
            caption=f.get("caption", ""),
        )

    return await _change(request, session, change)


@router.post("/pictures/{image_id}/move")
async def move(image_id: PictureId, request: Request, session: TenantSession) -> Response:
    """Move a picture: ``by=-1``/``by=1`` (the keyboard's buttons), ``before=<id>`` (empty: to the end)
    or ``after=<id>`` (drag and drop)."""

    def change(f: dict[str, str]) -> None:
        listings = get_listings(request)
        if "before" in f:
            listings.move(session.customer, image_id, f["before"] or None)
        elif f.get("after"):
            listings.place_after(session.customer, image_id, f["after"])
        elif f.get("by") in ("-1", "1"):
            listings.shift(session.customer, image_id, int(f["by"]))
        else:
            raise InvalidRequest("say where to move the picture: by=-1, by=1, before=<id> or after=<id>")

    return await _change(request, session, change)


@router.post("/pictures/{image_id}/delete")
async def delete(image_id: PictureId, request: Request, session: TenantSession) -> Response:
    """Delete a picture (this tenant's only)."""

    def change(_: dict[str, str]) -> None:
        store_of(request).delete(image_id, session.customer)

    return await _change(request, session, change)
