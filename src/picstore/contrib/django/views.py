"""The Django view that hands requests under the picstore prefix to picstore's WSGI app (a2wsgi).

It is the one place Django meets picstore's HTTP service: the request's environ is passed on with
``SCRIPT_NAME`` set to the prefix the URLconf matched, and the WSGI answer is streamed back as it comes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from picstore.contrib.django.conf import get_wsgi_app


@csrf_exempt  # the API authenticates with Bearer keys, not cookies; blob GETs change nothing
def serve(request: HttpRequest, path: str) -> StreamingHttpResponse:
    """Answer ``<prefix>/<path>`` (``b/<key>``, ``v1/...``, ``healthz`` ...) through picstore."""
    prefix = request.path[: len(request.path) - len(path)].rstrip("/")
    environ: dict[str, Any] = {
        **request.META,
        "SCRIPT_NAME": prefix,
        "PATH_INFO": "/" + path,
        # Django reads the body through the request; it may have done so already (middleware).
        "wsgi.input": request,
    }
    environ.setdefault("wsgi.url_scheme", request.scheme or "http")
    environ.setdefault("wsgi.errors", None)
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started["status"], started["headers"] = status, headers

    body = get_wsgi_app()(environ, start_response)
    chunks = iter(body)
    first = next(chunks, b"")  # a2wsgi calls start_response before the first chunk
    response = StreamingHttpResponse(_chain(first, chunks, body), status=int(started["status"].split()[0]))
    for name, value in started["headers"]:
        response[name] = value
    return response


def _chain(first: bytes, rest: Iterator[bytes], body: Iterable[bytes]) -> Iterator[bytes]:
    try:
        if first:
            yield first
        yield from rest
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
