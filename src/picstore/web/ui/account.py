"""Signing in and out of the web UI: ``GET /``, ``/login`` (API key), ``/login/link/{token}`` (one-time
link), ``/admin/login`` (admin key) and ``/logout``.

A sign-in link is used by a POST from the page its GET shows, so a mail scanner that fetches the link
does not use it up. Every POST here checks a CSRF token; a failed sign-in says why and changes nothing but
the address's count of failures (web/throttle.py): too many, and sign-in from there waits (429).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from picstore.access import SIGNIN_PATH
from picstore.errors import Forbidden, PicstoreError, RateLimited, Unauthorized
from picstore.models import Tenant
from picstore.web.deps import client_address, get_throttle
from picstore.web.problems import retry_after
from picstore.web.ui.pages import error_page, render
from picstore.web.ui.paths import redirect
from picstore.web.ui.session import (
    check_csrf,
    check_login_csrf,
    clear_session_cookie,
    current_session,
    login_csrf,
    set_login_csrf,
    set_session_cookie,
    store_of,
)

router = APIRouter(include_in_schema=False)


def _login_page(request: Request, template: str, context: dict[str, object], status: int = 200) -> Response:
    token = login_csrf(request)
    response = render(request, template, {"login_csrf": token, **context}, status=status)
    set_login_csrf(request, response, token)
    return response


def _refused(page: Response, error: PicstoreError) -> Response:
    """A refused sign-in's page; when throttled, with the ``Retry-After`` the API would send."""
    if isinstance(error, RateLimited):
        page.headers["Retry-After"] = retry_after(error.retry_after)
    return page


def _signed_in(request: Request, tenant: Tenant | None, to: str) -> Response:
    token = store_of(request).access.start_session(tenant)
    response = redirect(request, to)
    set_session_cookie(request, response, token)
    return response


@router.get("/")
def index(request: Request) -> Response:
    """Where a person lands: sign-in, the API docs, and their dashboard when signed in."""
    return render(request, "index.html", session=current_session(request))


@router.get("/login")
def login_form(request: Request) -> Response:
    """Sign in with the tenant's API key."""
    return _login_page(request, "login.html", {"signed_out": "signed_out" in request.query_params})


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the API key and start a session; the form again, with the reason, when it is refused."""
    form = await request.form()
    try:
        check_login_csrf(request, form)
        get_throttle(request).check_address(client_address(request))
        key = str(form.get("api_key", "")).strip()
        tenant = await run_in_threadpool(store_of(request).authenticate, key) if key else None
        if tenant is None:
            get_throttle(request).failed(client_address(request))
            raise Unauthorized("that API key is not valid: paste the key `picstore tenant create` printed")
    except PicstoreError as exc:
        return _refused(_login_page(request, "login.html", {"error": exc}, status=exc.http_status), exc)
    return await run_in_threadpool(_signed_in, request, tenant, "/dashboard")


@router.get(SIGNIN_PATH + "{token}")
def link_form(token: str, request: Request) -> Response:
    """The page of a sign-in link: one button that uses it."""
    return _login_page(request, "link.html", {"action": SIGNIN_PATH + token})


@router.post(SIGNIN_PATH + "{token}")
async def use_link(token: str, request: Request) -> Response:
    """Use a one-time sign-in link; refused when it was used before or has expired."""
    form = await request.form()
    try:
        check_login_csrf(request, form)
        get_throttle(request).check_address(client_address(request))
        tenant = await run_in_threadpool(store_of(request).access.redeem_link, token)
        if tenant is None:
            get_throttle(request).failed(client_address(request))
            raise Forbidden(
                "this sign-in link was used already or has expired: ask the site you came from for a new one"
            )
    except PicstoreError as exc:
        return _refused(error_page(request, exc, back="/login"), exc)
    return await run_in_threadpool(_signed_in, request, tenant, "/dashboard")


@router.get("/admin/login")
def admin_login_form(request: Request) -> Response:
    """Sign in to the admin console with the admin key."""
    enabled = bool(store_of(request).settings.admin_key)
    return _login_page(request, "admin_login.html", {"enabled": enabled})


@router.post("/admin/login")
async def admin_login(request: Request) -> Response:
    form = await request.form()
    expected = store_of(request).settings.admin_key or ""
    try:
        check_login_csrf(request, form)
        given = str(form.get("admin_key", "")).strip()
        if not expected:
            raise Forbidden("the admin console is off: set PICSTORE_ADMIN_KEY and restart picstore serve")
        get_throttle(request).check_address(client_address(request))
        if not hmac.compare_digest(given.encode(), expected.encode()):
            get_throttle(request).failed(client_address(request))
            raise Unauthorized("that admin key is not valid")
    except PicstoreError as exc:
        context = {"error": exc, "enabled": bool(expected)}
        return _refused(_login_page(request, "admin_login.html", context, status=exc.http_status), exc)
    return await run_in_threadpool(_signed_in, request, None, "/admin")


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session at once (on every node) and forget the cookie."""
    form = await request.form()
    session = await run_in_threadpool(current_session, request)
    if session is not None:
        try:
            check_csrf(request, session.csrf, form)
        except PicstoreError as exc:
            return error_page(request, exc, session=session, back="/")
        await run_in_threadpool(store_of(request).access.end_session, session.token)
    response = redirect(request, "/login?signed_out")
    clear_session_cookie(request, response)
    return response
