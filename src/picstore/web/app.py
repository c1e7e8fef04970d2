"""The FastAPI application behind ``picstore serve``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from picstore.errors import PicstoreError
from picstore.store import ImageStore
from picstore.web import serve


def problem(error: PicstoreError, instance: str | None = None) -> JSONResponse:
    """An RFC 9457 ``application/problem+json`` response carrying picstore's stable ``code``."""
    body = {
        "type": f"https://picstore.dev/errors/{error.code}",
        "title": type(error).default_message(),
        "status": error.http_status,
        "detail": error.message,
        "code": error.code,
    }
    if instance:
        body["instance"] = instance
    headers = {"Retry-After": "5"} if error.http_status == 503 else None
    return JSONResponse(
        body, status_code=error.http_status, media_type="application/problem+json", headers=headers
    )


def create_app(store: ImageStore) -> FastAPI:
    """The HTTP service over one ImageStore."""
    app = FastAPI(title="picstore", version="0.1.0", docs_url="/docs", openapi_url="/openapi.json")
    app.state.store = store

    @app.exception_handler(PicstoreError)
    async def _picstore_error(request: Request, exc: PicstoreError) -> JSONResponse:
        return problem(exc, request.url.path)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness and readiness: the catalog and the blob store answer."""
        return {"status": "ok", **store.health()}

    app.include_router(serve.router(store))
    return app


def run(store: ImageStore, host: str, port: int) -> None:
    """Serve ``store`` with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(store), host=host, port=port, log_level="info", server_header=False)
