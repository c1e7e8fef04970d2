"""``/docs``: the API's reference rendered by Swagger UI served by picstore itself (vendored under
``static/vendor/swagger-ui`` with its licence), so it works with no internet and runs no script from
another host on picstore's origin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from picstore.web.ui.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def api_docs(request: Request) -> Response:
    """The interactive API reference of ``/openapi.json``."""
    return render(request, "docs.html", cache="public, max-age=300")
