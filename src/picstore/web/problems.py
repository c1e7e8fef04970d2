"""Every error the HTTP service answers with, as ``application/problem+json`` (RFC 9457) with a ``code``.

picstore's own errors keep their code and status; FastAPI's validation errors become ``invalid_request``;
Starlette's routing errors (unknown path, wrong method) get codes too; anything unexpected is a bare
``internal_error`` that reveals nothing of the server.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from picstore.errors import InvalidRequest, PicstoreError, RangeNotSatisfiable, RateLimited

log = logging.getLogger("picstore.web")

PROBLEM_JSON = "application/problem+json"
#: Where a body guard left the error that stopped a request body (see :mod:`picstore.web.limits`).
BODY_ERROR_SCOPE_KEY = "picstore.body_error"


class RequestTimeout(PicstoreError):
    """The request body did not arrive in time."""

    code = "request_timeout"
    http_status = 408


class InternalError(PicstoreError):
    """Something went wrong inside picstore; the error is logged."""

    code = "internal_error"
    http_status = 500


_HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
}


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1 (a client told 0 would retry at once)."""
    return str(max(1, math.ceil(seconds)))


def problem(
    error: PicstoreError, instance: str | None = None, *, status: int | None = None, **extra: Any
) -> JSONResponse:
    """An RFC 9457 ``application/problem+json`` response carrying picstore's stable ``code``.

    ``status`` overrides the error's own HTTP status; ``extra`` members are added to the body.
    """
    status = status or error.http_status
    body: dict[str, Any] = {
        "type": f"https://picstore.dev/errors/{error.code}",
        "title": type(error).default_message(),
        "status": status,
        "detail": error.message,
        "code": error.code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    headers: dict[str, str] = {}
    if status == 503:
        headers["Retry-After"] = "5"
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="picstore"'
    if isinstance(error, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{error.size}"
    if isinstance(error, RateLimited):
        headers["Retry-After"] = retry_after(error.retry_after)
    if status in (408, 413):
        # The rest of the body is unread: the connection cannot carry another request.
        headers["Connection"] = "close"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class HttpProblem(PicstoreError):
    """The request cannot be served as sent."""

    code = "http_error"
    http_status = 400


def _http_error(status: int, detail: str) -> PicstoreError:
    error = HttpProblem(detail)
    error.code = _HTTP_CODES.get(status, "http_error")
    error.http_status = status
    return error


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a problem response."""

    @app.exception_handler(PicstoreError)
    async def _picstore_error(request: Request, exc: PicstoreError) -> JSONResponse:
        return problem(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        body_error = request.scope.get(BODY_ERROR_SCOPE_KEY)
        if isinstance(body_error, PicstoreError):
            return problem(body_error, request.url.path)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(InvalidRequest(f"invalid request: {summary}"), request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI turns any failure while reading a body into a 400; the guard recorded the real reason.
        body_error = request.scope.get(BODY_ERROR_SCOPE_KEY)
        if isinstance(body_error, PicstoreError):
            return problem(body_error, request.url.path)
        response = problem(_http_error(exc.status_code, str(exc.detail)), request.url.path)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # Nobody will read this; it only keeps a vanished client out of the error log.
        return problem(InvalidRequest("the client disconnected before sending its whole request"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(InternalError(), request.url.path)
