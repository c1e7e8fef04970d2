"""``/v1/uploads``: direct uploads, straight to S3 with a presigned POST, or to picstore's own upload URL.

The client's code path is the same for both stores: ``POST /v1/uploads`` answers a ``url`` and ``fields``;
the client POSTs the fields and then its file as ``file`` (multipart) to the url, and finally calls
``POST /v1/uploads/{id}/complete``, which runs the whole ingest. See :mod:`picstore.direct_uploads`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from picstore.errors import Forbidden, PicstoreError
from picstore.web.deps import PublisherDep, UploadsDep
from picstore.web.forms import FormRules, read_form
from picstore.web.problems import problem
from picstore.web.schemas import ID_PATTERN, CompleteIn, ImageOut, UploadIn, UploadOut, problem_responses
from picstore.web.ui.uploader import UploaderDep

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])

UploadId = Annotated[str, Path(pattern=ID_PATTERN, description="An upload id.")]

_RECEIVE_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["token", "Content-Type", "file"],
                    "properties": {
                        "key": {"type": "string"},
                        "token": {"type": "string"},
                        "Content-Type": {"type": "string"},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=UploadOut,
    responses=problem_responses(400, 401, 413, 415, 503),
    summary="Prepare a direct upload",
)
def create_upload(body: UploadIn, tenant: UploaderDep, uploads: UploadsDep) -> UploadOut:
    """Where to send a file of ``bytes`` bytes: POST ``fields``, then the file as ``file``, to ``url``.

    With S3 the url is the bucket, and its POST policy allows exactly this key, 1 to ``bytes`` bytes, the
    declared ``content_type`` and at most 15 minutes. Otherwise the url is picstore's own.
    """
    ticket = uploads.create(tenant, filename=body.filename, content_type=body.content_type, size=body.bytes)
    return UploadOut(
        upload_id=ticket.upload_id, url=ticket.url, fields=ticket.fields, expires_at=ticket.expires_at
    )


@router.post(
    "/{upload_id}/file",
    status_code=204,
    response_class=Response,
    openapi_extra=_RECEIVE_FORM,
    responses=problem_responses(400, 403, 404, 408, 409, 413, 503, 507),
    summary="Receive the file of a direct upload (stores other than S3)",
)
async def receive_file(upload_id: UploadId, request: Request, uploads: UploadsDep) -> Response:
    """The upload URL picstore hands out when the store is not S3. Authorised by the form's token, like an
    S3 POST policy: no API key, so a browser can post here directly, from any origin. The fields must come
    before the file (as S3 requires too); a form they do not authorise is refused before its file is read."""
    try:
        record = await run_in_threadpool(uploads.pending, upload_id)

        def check(fields: Mapping[str, str]) -> None:
            # As S3 does with a policy: the fields come before the file, and a form they do not
            # authorise is refused before a byte of its file is read.
            uploads.check_form(record, token=fields.get("token", ""), content_type=fields.get("Content-Type"))
            # `key` is optional, as S3 form fields go; sent (as Uppy's S3 uploader does), it must be this one.
            if fields.get("key", record.key) != record.key:
                raise Forbidden(f"the form's key must be {record.key!r}, as the upload's fields say")

        rules = FormRules(
            max_file_bytes=record.max_bytes,
            fields=frozenset({"key", "token", "Content-Type"}),
            before_file=check,
        )
        with await read_form(request, rules) as form:
            data = form.stream.read()
            await run_in_threadpool(
                uploads.receive,
                upload_id,
                token=form.fields.get("token", ""),
                content_type=form.fields.get("Content-Type"),
                data=data,
            )
        response: Response = Response(status_code=204)
    except PicstoreError as exc:
        response = problem(exc, request.url.path)
    # Readable by a page on any origin, as a bucket's CORS rule would make it: the token authorises the
    # request, never a cookie, so there is nothing for another origin to ride on.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@router.post(
    "/{upload_id}/complete",
    status_code=201,
    response_model=ImageOut,
    responses=problem_responses(400, 401, 404, 409, 413, 415, 422, 503, 507),
    summary="Publish a direct upload",
)
async def complete_upload(
    upload_id: UploadId,
    request: Request,
    response: Response,
    tenant: UploaderDep,
    uploads: UploadsDep,
    publisher: PublisherDep,
    body: CompleteIn | None = None,
) -> ImageOut:
    """Run the whole ingest on the uploaded file, publish the image and delete the incoming object.

    A file that is refused is deleted and answered with its code (``not_an_image``, ...). Calling this
    again after success answers with the same image.
    """
    complete = partial(uploads.complete, upload_id, tenant, alt=body.alt if body else None)
    with publisher.counting():
        image = await publisher.ingest(tenant, complete)
    return await publisher.created(image, response, request.scope.get("root_path", ""))
