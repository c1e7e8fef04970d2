"""``/v1/images``: upload, describe, list and delete a tenant's images.

Every route is scoped to the caller's tenant (:mod:`picstore.web.auth`). The store's work (ingest,
catalog, blobs) is blocking, so it runs in worker threads; only reading the body happens on the event loop.
An upload's ingest runs through :meth:`~picstore.web.publish.Publisher.ingest` (bounded), the rest in
Starlette's thread pool. Every route answers the model it declares (``ImageOut``, ``ImagePage``).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from picstore.direct_uploads import is_reserved_idempotency_key
from picstore.errors import InvalidRequest
from picstore.web.auth import TenantDep
from picstore.web.deps import PublisherDep, StoreDep
from picstore.web.forms import FormRules, read_form
from picstore.web.publish import image_out
from picstore.web.schemas import (
    ID_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_TEXT,
    ImageOut,
    ImagePage,
    clean_text,
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
                        "alt": {"type": "string", "maxLength": MAX_TEXT, "description": "Alternative text."},
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=ImageOut,
    openapi_extra=_IMAGE_FORM,
    responses=problem_responses(400, 401, 408, 409, 413, 415, 422, 503, 507),
    summary="Upload an image",
)
async def create_image(
    request: Request,
    response: Response,
    tenant: TenantDep,
    store: StoreDep,
    publisher: PublisherDep,
    idempotency_key: IdempotencyKey = None,
) -> ImageOut:
    """Check, clean and store the image in the form's ``file`` part (multipart/form-data).

    The body is streamed to a temporary file and refused with 413 as soon as it passes the byte limit.
    """
    with publisher.counting():
        if idempotency_key is not None and is_reserved_idempotency_key(idempotency_key):
            raise InvalidRequest("Idempotency-Key values starting with 'upload:' are reserved")
        rules = FormRules(max_file_bytes=store.settings.max_bytes, fields=frozenset({"alt"}))
        with await read_form(request, rules) as form:
            alt = clean_text(form.fields.get("alt"), "alt")
            put = partial(
                store.put, form.stream, tenant, form.filename, alt=alt, idempotency_key=idempotency_key
            )
            image = await publisher.ingest(tenant, put)
    return await publisher.created(image, response, request.scope.get("root_path", ""))


@router.get(
    "",
    response_model=ImagePage,
    responses=problem_responses(400, 401, 503),
    summary="List the tenant's images",
)
def list_images(
    tenant: TenantDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Images per page.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="next_cursor of a page.")
    ] = None,
) -> ImagePage:
    """The tenant's images, newest first, ``limit`` at a time."""
    page = store.list(tenant, limit=limit, cursor=cursor)
    urls = store.urls(page.items)
    return ImagePage(
        items=[image_out(store, i, urls[i.id]) for i in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/{image_id}",
    response_model=ImageOut,
    responses=problem_responses(400, 401, 404, 503),
    summary="Describe an image",
)
def get_image(image_id: ImageId, tenant: TenantDep, store: StoreDep) -> ImageOut:
    """One of the tenant's images, with the URLs of its master and variants."""
    return image_out(store, store.get(image_id, tenant))


@router.delete(
    "/{image_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(400, 401, 404, 503),
    summary="Delete an image",
)
def delete_image(image_id: ImageId, tenant: TenantDep, store: StoreDep) -> Response:
    """Delete one of the tenant's images. Blobs no other image uses are removed by ``picstore gc``."""
    store.delete(image_id, tenant)
    return Response(status_code=204)
