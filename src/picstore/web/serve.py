"""Serving stored blobs: ``GET /b/{key}`` with immutable caching, ETag/304 and Range/206.

Only blobs the catalog knows are served (an incoming upload that has not passed ingest never is), with the
content type picstore recorded, never one guessed from the bytes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from picstore.blobs.base import validate_key
from picstore.store import ImageStore

IMMUTABLE = "public, max-age=31536000, immutable"


def blob_headers(etag: str, content_type: str) -> dict[str, str]:
    """Headers every response carrying blob bytes has."""
    return {
        "ETag": etag,
        "Cache-Control": IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
        "Content-Type": content_type,
        "Accept-Ranges": "bytes",
        # Served from picstore's own origin: forbid scripts even if a browser were to render the bytes.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return etag in candidates


def router(store: ImageStore) -> APIRouter:
    """The routes that serve blob bytes for stores picstore serves itself."""
    api = APIRouter()

    @api.api_route("/b/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def serve_blob(key: str, request: Request) -> Response:
        validate_key(key)
        loc, blobs = store.locate(key)
        etag = f'"{loc.sha256}"'
        headers = blob_headers(etag, loc.content_type)
        if _etag_matches(request.headers.get("if-none-match"), etag):
            return Response(
                status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Type"}
            )
        path_for = getattr(blobs, "path_for", None)
        if path_for is not None:
            # FileResponse sends with sendfile and answers Range (206, 416, multipart) on its own.
            return FileResponse(path_for(loc.key), headers=headers, media_type=loc.content_type)
        body = blobs.get(loc.key)
        if request.method == "HEAD":
            return Response(headers={**headers, "Content-Length": str(len(body))})
        return Response(content=body, headers=headers, media_type=loc.content_type)

    return api
