"""Rendering the web UI's pages: one Jinja2 environment, the security headers every page carries.

Invariants: templates autoescape; every page is sent with a Content-Security-Policy that allows scripts
and styles from picstore's own origin only (no inline script, nothing from another host), may not be
framed, and is ``no-store`` unless the caller says it is public.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from picstore import __version__
from picstore.errors import PicstoreError
from picstore.web.ui.paths import root
from picstore.web.ui.session import Session

_env = Environment(
    loader=PackageLoader("picstore.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{size:,.1f} TB"  # pragma: no cover - the loop returns at GB


_env.filters["bytes"] = _human_bytes
_env.globals["version"] = __version__

#: Images and uploads may live on another origin (an S3 bucket, a CDN); scripts and styles may not.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: http: https:; connect-src 'self' http: https:; font-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    session: Session | None = None,
    cache: str = "no-store",
) -> HTMLResponse:
    """A page from ``template`` with the security headers; its links start with ``root`` (the mount
    prefix)."""
    html = _env.get_template(template).render(
        request=request,
        root=root(request),
        session=session,
        csrf=session.csrf if session else "",
        **(context or {}),
    )
    return page_response(html, status=status, cache=cache)


def page_response(html: str, *, status: int = 200, cache: str = "no-store") -> HTMLResponse:
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = cache
    return response


def error_page(
    request: Request, error: PicstoreError, *, session: Session | None = None, back: str | None = None
) -> HTMLResponse:
    """The page a refused UI request answers with: the API's code and message, and a way back (``back``,
    one of the app's own paths)."""
    return render(
        request,
        "error.html",
        {"error": error, "back": back},
        status=error.http_status,
        session=session,
    )


def template(name: str) -> Any:
    """A template, for callers that render many times (the public listing); they pass ``root``."""
    return _env.get_template(name)
