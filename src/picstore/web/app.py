"""The FastAPI application behind ``picstore serve``: the JSON API, blob serving, health and metrics.

Requests pass, outside in: :class:`~picstore.web.metrics.Observe` (timing, counting, ``nosniff``), then
:class:`~picstore.web.headers.ResponseRules` (``no-store`` unless cacheable, no client ``Host`` in a
``Location``), then :class:`~picstore.web.limits.BodyGuard` (byte cap and time limits on bodies), then
the routes. Every error leaves as ``application/problem+json`` (:mod:`picstore.web.problems`).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

import picstore
from picstore.errors import PicstoreError
from picstore.store import ImageStore
from picstore.web import api, deps, legacy, serve, tenants, transforms, ui, upload_routes
from picstore.web.headers import ResponseRules
from picstore.web.limits import BodyGuard, BodyLimits
from picstore.web.memory import cap_malloc_arenas
from picstore.web.metrics import Observe
from picstore.web.problems import install, problem
from picstore.web.schemas import problem_responses
from picstore.web.server import uvicorn_options
from picstore.web.throttle import ThrottleGate
from picstore.web.turns import TurnGate, Turns

__all__ = ["create_app", "problem", "run"]
log = logging.getLogger("picstore.web")

_DESCRIPTION = """Store, clean and serve the pictures your application's customers upload.

Authenticate with `Authorization: Bearer <tenant API key>` (from `picstore tenant create` or
`POST /v1/tenants` with the admin key). Errors are `application/problem+json` with a stable `code`.
"""


class PicstoreApp(FastAPI):
    """FastAPI, with cached blob GETs answered before anything else (see :class:`serve.BlobCache`)."""

    blob_cache: serve.BlobCache | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = self.blob_cache
        if cache is not None and scope["type"] == "http":
            path, root = scope["path"], scope.get("root_path", "")
            blob_scope = scope
            if root and path.startswith(root + "/"):
                # Mounted under a prefix (store.asgi_app()): the path still carries it, as in Starlette.
                path = path[len(root) :]
                blob_scope = {**scope, "path": path}
            if path.startswith("/b/") and await cache.serve(blob_scope, receive, send):
                return
        await super().__call__(scope, receive, send)


def create_app(store: ImageStore, *, limits: BodyLimits | None = None) -> FastAPI:
    """The HTTP service over one ImageStore. ``limits`` defaults to what the store's settings say."""
    settings = store.settings
    app = PicstoreApp(
        title="picstore",
        version=picstore.__version__,
        description=_DESCRIPTION,
        # /docs is the web UI's: Swagger UI served by picstore itself, so it works offline.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    metrics = deps.install(app, store)
    install(app)

    @app.get("/healthz", tags=["ops"], summary="Liveness and readiness")
    def healthz() -> dict[str, str]:
        """The process answers, and the catalog and the blob store answer it."""
        return {"status": "ok", **store.health()}

    @app.get("/readyz", tags=["ops"], summary="Readiness", responses=problem_responses(503))
    def readyz(request: Request) -> JSONResponse:
        """Ready to serve: the catalog and the blob store are reachable. 503 otherwise."""
        try:
            checks = store.health()
        except PicstoreError as exc:
            # Whatever failed, for a load balancer this node is simply not ready.
            return problem(exc, request.url.path, status=503)
        return JSONResponse({"status": "ready", **checks})

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=Response)
    def prometheus() -> Response:
        """Requests and latencies by route, uploads accepted and refused by code, bytes stored."""
        return Response(metrics.render(), media_type=metrics.content_type)

    app.include_router(api.router)
    app.include_router(upload_routes.router)
    app.include_router(tenants.router)
    app.include_router(serve.router)
    if settings.legacy_prefix:
        app.include_router(legacy.router(settings.legacy_prefix))
    app.include_router(transforms.router(store, metrics.registry))
    ui.install(app, store)
    guard = limits or BodyLimits(
        max_file_bytes=settings.max_bytes,
        idle_timeout=settings.body_timeout,
        deadline=settings.body_deadline,
    )
    # Added last is outermost: Observe sees everything, early 413s from the guard included, and the
    # response rules (no-store, no Host in Location) apply to every answer the routes and guards give.
    app.add_middleware(BodyGuard, limits=guard)
    # Inside the throttle: a refused request never takes a turn.
    app.add_middleware(TurnGate, turns=Turns(settings.request_slots))
    app.add_middleware(ThrottleGate, throttle=deps.throttle_of(app))
    app.add_middleware(ResponseRules)
    app.add_middleware(Observe, metrics=metrics)
    app.blob_cache = serve.BlobCache(store, metrics)
    return app


def check_on_start(store: ImageStore) -> bool:
    """Check the catalog and the write target once, logging what to fix when one fails; True when ready.

    The service starts anyway (reads from other stores may work, and the fix may come while it runs):
    ``/readyz`` answers 503 with the same reason until then, so a load balancer sends it no traffic.
    """
    try:
        store.health()
    except PicstoreError as exc:
        log.error("not ready: %s. Fix that; /readyz answers 503 until then (no restart needed).", exc.message)
        return False
    return True


def run(store: ImageStore, host: str, port: int) -> None:
    """Serve ``store`` with uvicorn until interrupted (after checking its catalog and blob store)."""
    import uvicorn

    cap_malloc_arenas()  # before the worker threads start: keeps RSS flat (see web/memory.py)
    check_on_start(store)
    uvicorn.run(create_app(store), host=host, port=port, log_level="info", **uvicorn_options(store.settings))
