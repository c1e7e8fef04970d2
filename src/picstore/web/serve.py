"""Serving stored blobs: ``GET /b/{key}`` with immutable caching, ETag/304 and Range/206 (web/ranges.py).

A blob that lives in a store browsers read directly (S3 after a migration) is answered with a redirect
there, so old ``/b/`` URLs keep working. Only blobs the catalog knows are served (an incoming upload
that has not passed ingest never is), with the content type picstore recorded, never one guessed from
the bytes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from picstore.blobs.base import IMMUTABLE_CACHE_CONTROL, LocalFiles, matches, validate_key
from picstore.errors import NotFound, PicstoreError
from picstore.store import ImageStore
from picstore.web.deps import StoreDep
from picstore.web.metrics import Metrics
from picstore.web.ranges import blob_response

log = logging.getLogger("picstore.web")


def blob_headers(etag: str, content_type: str) -> dict[str, str]:
    """Headers every response carrying blob bytes has."""
    return {
        "ETag": etag,
        "Cache-Control": IMMUTABLE_CACHE_CONTROL,
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


#: The routes that serve blob bytes for stores picstore serves itself.
router = APIRouter()


@router.api_route("/b/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
def serve_blob(key: str, request: Request, store: StoreDep) -> Response:
    """A catalogued, live blob: from its file with sendfile and Range (a ``LocalFiles`` store), else whole."""
    validate_key(key)
    loc, blobs = store.locate(key, live=True)
    moved_to = blobs.public_url(loc.key)
    if moved_to is not None:
        # The blob lives where browsers fetch it directly (it was migrated to S3): old /b/ URLs, cached in
        # pages anywhere, follow it. Not permanent: it may move again, or be presigned.
        return RedirectResponse(moved_to, status_code=302, headers={"Cache-Control": "public, max-age=60"})
    etag = f'"{loc.sha256}"'
    headers = blob_headers(etag, loc.content_type)
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    if isinstance(blobs, LocalFiles):
        path = blobs.path_for(loc.key)
        try:
            stat = path.stat()
        except FileNotFoundError:
            # Catalogued but gone from disk: `picstore verify` lists these. The client gets a 404, the
            # operator the path.
            log.warning("catalogued blob %s is missing at %s", loc.key, path)
            raise NotFound(f"no blob {key!r}") from None
        # Sent with sendfile; Range as web/ranges.py decides (Starlette's own answers are text/plain).
        return blob_response(request, headers, size=stat.st_size, path=path, stat_result=stat)
    body = blobs.get(loc.key)
    return blob_response(request, headers, size=len(body), body=body)


class BlobCache:
    """The hot path of ``GET /b/{key}``, answered from memory before any routing.

    Blobs are immutable (a key is the SHA-256 of its bytes), so small ones can be kept in memory and
    answered without the router, the thread pool, the catalog or the disk: the difference between a few
    hundred and several thousand requests a second from one process. A blob enters the cache only after
    the catalog has vouched for it and its bytes matched the recorded SHA-256. Entries expire after
    ``ttl`` seconds: an image deleted through this process is dropped at once (:meth:`forget`); one
    deleted through another node stops being served here within ``ttl`` (CDNs keep it for a year anyway).
    Range requests, large blobs and every miss go to :func:`router`, the full path.
    """

    #: Route label for metrics (see :class:`picstore.web.metrics.Metrics`).
    ROUTE = "/b/{key:path}"

    def __init__(
        self,
        store: ImageStore,
        metrics: Metrics,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_blob_bytes: int = 512 * 1024,
        ttl: float = 60.0,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.max_bytes = max_bytes
        self.max_blob_bytes = max_blob_bytes
        self.ttl = ttl
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        # Requests mutate the cache on the event loop; deletes call forget() from worker threads.
        self._lock = threading.Lock()
        store.orphan_listeners.append(self.forget)

    def forget(self, keys: list[str]) -> None:
        """Stop answering for these keys (their images were deleted through this process)."""
        with self._lock:
            for key in keys:
                old = self._entries.pop(key, None)
                if old is not None:
                    self._bytes -= len(old.body)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request if it is a GET/HEAD of a cached (or cacheable) blob; False otherwise."""
        started = time.perf_counter()
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            return False
        headers = dict(scope["headers"])
        if b"range" in headers:
            return False
        key = scope["path"][3:]
        entry = self._entries.get(key)
        if entry is None or entry.expires < time.monotonic():
            entry = await run_in_threadpool(self._load, key)
            if entry is None:
                return False
            self._remember(key, entry)
        else:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
        if _etag_matches(_latin1(headers.get(b"if-none-match")), entry.etag):
            status = 304
            await send({"type": "http.response.start", "status": 304, "headers": entry.headers_304})
            await send({"type": "http.response.body", "body": b""})
        else:
            status = 200
            await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
            await send({"type": "http.response.body", "body": b"" if method == "HEAD" else entry.body})
        self.metrics.observe(method, self.ROUTE, status, time.perf_counter() - started)
        return True

    def _load(self, key: str) -> _Entry | None:
        """Look a blob up and read it, in a worker thread; None leaves the request to the full path."""
        try:
            validate_key(key)
            loc, blobs = self.store.locate(key, live=True)
            if loc.size > self.max_blob_bytes or blobs.public_url(loc.key) is not None:
                return None  # large, or moved where browsers fetch it: the full path streams or redirects
            body = blobs.get(loc.key)
        except PicstoreError:
            return None  # the full path answers with the right problem
        if not matches(body, size=loc.size, sha256=loc.sha256):
            return None
        etag = f'"{loc.sha256}"'
        plain = [(k.lower().encode(), v.encode()) for k, v in blob_headers(etag, loc.content_type).items()]
        return _Entry(
            expires=time.monotonic() + self.ttl,
            etag=etag,
            body=body,
            headers=[*plain, (b"content-length", str(len(body)).encode())],
            headers_304=[h for h in plain if h[0] != b"content-type"],
        )

    def _remember(self, key: str, entry: _Entry) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[key] = entry
            self._bytes += len(entry.body)
            while self._bytes > self.max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)


@dataclass(frozen=True)
class _Entry:
    expires: float
    etag: str
    body: bytes
    headers: list[tuple[bytes, bytes]]
    headers_304: list[tuple[bytes, bytes]]


def _latin1(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
