"""Browser uploads: who may use ``/v1/uploads`` (an API key, or an upload token from
:meth:`ImageStore.upload_token`), and the CORS answers that let a page on another origin use it.

Invariants: an upload token authorises creating and completing its own tenant's direct uploads and
nothing else; CORS here never allows credentials (the Authorization header or the form token authorises
each request, never a cookie), so another origin gains nothing it was not handed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from picstore.errors import Unauthorized
from picstore.models import Tenant
from picstore.web.auth import current_tenant
from picstore.web.deps import client_address, get_throttle
from picstore.web.ui.paths import route_path
from picstore.web.ui.session import store_of

UPLOADS_PATH = "/v1/uploads"
_scheme = HTTPBearer(
    scheme_name="TenantKeyOrUploadToken",
    description="A tenant's API key, or an upload token (ImageStore.upload_token) for browsers.",
    auto_error=False,
)


def current_uploader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)],
) -> Tenant:
    """The tenant of the request's API key or upload token; 401 without a valid one."""
    token = credentials.credentials if credentials is not None else ""
    throttle = get_throttle(request)
    if token.startswith("psu_"):
        address = client_address(request)
        tenant = store_of(request).access.uploader(token)
        if tenant is None:
            throttle.failed(address)
            raise Unauthorized("that upload token is not valid or has expired: ask the page for a new one")
        request.state.tenant = tenant
        return tenant
    return current_tenant(request, store_of(request), throttle, credentials)


UploaderDep = Annotated[Tenant, Depends(current_uploader)]


class UploadCors:
    """CORS for ``/v1/uploads`` and picstore's own upload URL: preflights answered, answers readable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not route_path(scope).startswith(UPLOADS_PATH):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            requested = ""
            for name, value in scope["headers"]:
                if name == b"access-control-request-headers":
                    requested = value.decode("latin-1")
            await Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": "*",
                    "Access-Control-Allow-Methods": "POST",
                    "Access-Control-Allow-Headers": requested or "authorization, content-type",
                    "Access-Control-Max-Age": "600",
                },
            )(scope, receive, send)
            return

        async def send_readable(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = "*"
                headers["Access-Control-Expose-Headers"] = "ETag, Location"
            await send(message)

        await self.app(scope, receive, send_readable)
