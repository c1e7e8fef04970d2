"""``/v1/images``: upload, describe, list and delete a tenant's images.

Every route is scoped to the caller's tenant (:mod:`picstore.web.auth`). The store's work (ingest,
catalog, blobs) is blocking, so it runs in worker threads; only reading the body happens on the event loop.
An upload's ingest runs through :func:`run_ingest` (bounded), the rest in Starlette's thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from picstore.errors import InvalidRequest, PicstoreError
from picstore.models import Image, Tenant
from picstore.store import ImageStore
from picstore.uploads import is_reserved_idempotency_key
from picstore.web.auth import TenantDep
from picstore.web.forms import FormRules, read_form
from picstore.web.metrics import Metrics
from picstore.web.schemas import (
    ID_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    ImageOut,
    ImagePage,
    problem_responses,
)

router = APIRouter(prefix="/v1/images", tags=["images"])

ImageId = Annotated[str, Path(pattern=ID_PATTERN, description="An image id.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Retrying a request with the same key answers with the image the first one made.",
    ),
]
_MAX_ALT = 2000

_IMAGE_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "The image."},
                        "alt": {"type": "string", "maxLength": _MAX_ALT, "description": "Alternative text."},
                    },
                }
            }
        },
    }
}


@contextmanager
def counted_upload(metrics: Metrics) -> Iterator[list[Image]]:
    """Count an upload as accepted (when the block appends its image) or refused with its error code."""
    done: list[Image] = []
    try:
        yield done
    except PicstoreError as exc:
        metrics.refused(exc.code)
        raise
    for image in done:
        metrics.accepted(image)


def clean_text(value: str | None, what: str, limit: int = _MAX_ALT) -> str | None:
    """Free text for the catalog: at most ``limit`` characters, no control characters."""
    if value is None:
        return None
    if len(value) > limit or any(not ch.isprintable() and ch not in "\t\n\r" for ch in value):
        raise InvalidRequest(f"{what} must be printable text of at most {limit} characters")
    return value


async def run_ingest(request: Request, tenant: Tenant, fn: Callable[[], Image]) -> Image:
    """Run an upload's ingest in a worker thread.

    The store's ``IngestGate`` decides when the work runs (bounded, fair between tenants, a fast lane
    for small uploads). Threads are bounded here: ``ingest_threads`` in all, and each tenant at most
    as many as the gate has slots, so one tenant's flood cannot take the threads the others need to
    reach the gate. Requests beyond that wait here, their bodies already spooled.
    """
    gate = request.app.state.store.ingest_gate
    per_tenant: dict[str, CapacityLimiter] = request.app.state.ingest_tenant_limiters
    limiter = per_tenant.setdefault(tenant.slug, CapacityLimiter(gate.slots + gate.fast_slots))
    async with limiter:
        return await to_thread.run_sync(fn, limiter=request.app.state.ingest_threads)


def image_response(store: ImageStore, image: Image, status_code: int = 200) -> JSONResponse:
    """The Image JSON (the shape of ``picstore put --json``) as a response."""
    headers = {"Location": f"/v1/images/{image.id}"} if status_code == 201 else None
    return JSONResponse(store.describe(image), status_code=status_code, headers=headers)


@router.post(
    "",
    status_code=201,
    response_model=ImageOut,
    openapi_extra=_IMAGE_FORM,
    responses=problem_responses(400, 401, 408, 409, 413, 415, 422, 503),
    summary="Upload an image",
)
async def create_image(
    request: Request, tenant: TenantDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Check, clean and store the image in the form's ``file`` part (multipart/form-data).

    The body is streamed to a temporary file and refused with 413 as soon as it passes the byte limit.
    """
    store: ImageStore = request.app.state.store
    metrics: Metrics = request.app.state.metrics
    with counted_upload(metrics) as accepted:
        if idempotency_key is not None and is_reserved_idempotency_key(idempotency_key):
            raise InvalidRequest("Idempotency-Key values starting with 'upload:' are reserved")
        rules = FormRules(max_file_bytes=store.settings.max_bytes, fields=frozenset({"alt"}))
        with await read_form(request, rules) as form:
            alt = clean_text(form.fields.get("alt"), "alt")
            put = partial(
                store.put, form.stream, tenant, form.filename, alt=alt, idempotency_key=idempotency_key
            )
            image = await run_ingest(request, tenant, put)
        accepted.append(image)
    return await run_in_threadpool(image_response, store, image, 201)


@router.get(
    "",
    response_model=ImagePage,
    responses=problem_responses(400, 401, 503),
    summary="List the tenant's images",
)
def list_images(
    request: Request,
    tenant: TenantDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Images per page.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="next_cursor of a page.")
    ] = None,
) -> JSONResponse:
    """The tenant's images, newest first, ``limit`` at a time."""
    store: ImageStore = request.app.state.store
    page = store.list(tenant, limit=limit, cursor=cursor)
    urls = store.urls(page.items)
    items = [store.describe(i, urls[i.id]) for i in page.items]
    return JSONResponse({"items": items, "next_cursor": page.next_cursor})


@router.get(
    "/{image_id}",
    response_model=ImageOut,
    responses=problem_responses(400, 401, 404, 503),
    summary="Describe an image",
)
def get_image(image_id: ImageId, request: Request, tenant: TenantDep) -> JSONResponse:
    """One of the tenant's images, with the URLs of its master and variants."""
    store: ImageStore = request.app.state.store
    return image_response(store, store.get(image_id, tenant))


@router.delete(
    "/{image_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(400, 401, 404, 503),
    summary="Delete an image",
)
def delete_image(image_id: ImageId, request: Request, tenant: TenantDep) -> Response:
    """Delete one of the tenant's images. Blobs no other image uses are removed by ``picstore gc``."""
    store: ImageStore = request.app.state.store
    store.delete(image_id, tenant)
    return Response(status_code=204)
