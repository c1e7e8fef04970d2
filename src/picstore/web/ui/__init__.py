"""picstore's web UI: sign-in, the customer's dashboard, the public listing, the admin console, the
offline API docs and the embeddable upload widget, over the same ImageStore as the API.

Server-rendered Jinja2 pages with small scripts from ``web/static`` (no build step at runtime, nothing
from other hosts: the Uppy bundle and Swagger UI are vendored with their licences).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from picstore.store import ImageStore
from picstore.web.ui import account, admin, dashboard, docs, listing
from picstore.web.ui.paths import redirect
from picstore.web.ui.session import SignInRequired
from picstore.web.ui.uploader import UploadCors

STATIC = Path(__file__).resolve().parent.parent / "static"

__all__ = ["install"]


class Static(StaticFiles):
    """The UI's scripts, styles and vendored bundles. Pages ask for them with ``?v=<picstore version>``,
    so an hour of caching never outlives an upgrade; the ETag revalidates them after that."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response


async def _sign_in(request: Request, exc: Exception) -> Response:
    admin_needed = isinstance(exc, SignInRequired) and exc.admin
    return redirect(request, "/admin/login" if admin_needed else "/login")


def install(app: FastAPI, store: ImageStore) -> None:
    """Add the web UI's routes, its static files and the uploads' CORS to ``app``."""
    app.add_exception_handler(SignInRequired, _sign_in)
    for module in (account, dashboard, listing, admin, docs):
        app.include_router(module.router)
    app.mount("/static", Static(directory=STATIC), name="static")
    app.add_middleware(UploadCors)
