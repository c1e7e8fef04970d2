"""Old URLs of imported pictures: ``GET {legacy_prefix}/<old path>`` answers 301 to the picture's URL.

The old path is read from the raw request bytes and put in the catalog's canonical form
(:func:`~picstore.catalog.legacy.canonical_path`), so names with spaces, any encoding or odd escaping
match what ``picstore import`` recorded. Unknown, refused and deleted pictures are 404.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from picstore.catalog.legacy import canonical_path
from picstore.errors import NotFound
from picstore.web.deps import StoreDep


def router(prefix: str) -> APIRouter:
    """The redirect route for old paths under ``prefix`` (e.g. ``/pictures``)."""
    api = APIRouter()
    mount = prefix.rstrip("/")
    marker = mount.encode() + b"/"

    @api.api_route(mount + "/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def legacy(path: str, request: Request, store: StoreDep) -> RedirectResponse:
        # raw_path keeps bytes that are not UTF-8; it may carry a mount prefix before ours.
        raw = request.scope.get("raw_path") or request.url.path.encode()
        raw = raw.split(b"?", 1)[0]
        old = raw[raw.find(marker) + len(marker) :] if marker in raw else path.encode()
        image_id = store.catalog.legacy.image_for(canonical_path(unquote_to_bytes(old)))
        if image_id is None:
            raise NotFound(f"no picture was imported from {mount}/{path}")
        return RedirectResponse(store.url(image_id), status_code=301)

    return api
