"""``GET /t/{signature}/{spec}/{image_id}``: signed on-the-fly transforms (docs/transforms.md).

Order of work, cheapest first: the signature (HMAC, constant-time) before anything is parsed; then the
canonical spelling, expiry and preset checks; then the image lookup and the limits; only then a render.
Every refusal of the URL itself is 403 (a non-canonical spelling is never rendered a second time).

One render per rendition: concurrent requests in this process share one task (a client that goes away
does not cancel it), and across processes the claim in the catalog lets one node render while the others
poll the catalog for its result. Renders run in worker threads and pass the uploads' admission gate (libvips
threads; nothing forks). The answer is the blob's: the bytes with the headers of ``/b/`` when picstore
serves the store itself, a redirect to the bucket or CDN copy otherwise.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from prometheus_client import CollectorRegistry, Counter
from starlette.concurrency import run_in_threadpool

from picstore.blobs.base import IMMUTABLE_CACHE_CONTROL as IMMUTABLE
from picstore.blobs.base import LocalFiles
from picstore.errors import InvalidTransform, PicstoreError
from picstore.models import Image, Variant, content_type_for
from picstore.store import ImageStore
from picstore.transform.negotiate import accepted_types, choose_format
from picstore.transform.spec import TransformSpec
from picstore.transformer import Plan, Transformer, has_alpha
from picstore.web.background import BackgroundThreads
from picstore.web.deps import get_ingest_threads
from picstore.web.problems import problem
from picstore.web.ranges import blob_response
from picstore.web.serve import _etag_matches, blob_headers

#: Cache lifetime of answers that will change (a WebP served while its AVIF is made) and of redirects.
SHORT_CACHE = "public, max-age=60"
#: How often a request waiting for another node's render looks for the result.
POLL_SECONDS = 0.05
Rendered = tuple[Variant, bytes | None]


class RenderGroup:
    """One render task per rendition key in this process; every request for it awaits the same task."""

    def __init__(self, transformer: Transformer, renders: Counter) -> None:
        self.transformer = transformer
        self.renders = renders
        self._tasks: dict[str, asyncio.Task[Rendered]] = {}

    async def get(self, image: Image, plan: Plan, threads: BackgroundThreads) -> Rendered:
        task = self._tasks.get(plan.key)
        if task is None:
            task = asyncio.ensure_future(self._produce(image, plan, threads))
            self._tasks[plan.key] = task
            task.add_done_callback(lambda _t: self._tasks.pop(plan.key, None))
        # shield: a client that disconnects cancels its own wait, never the render the others wait for.
        return await asyncio.shield(task)

    async def _produce(self, image: Image, plan: Plan, threads: BackgroundThreads) -> Rendered:
        t = self.transformer
        while True:
            done = await threads.run(functools.partial(t.try_render, image, plan))
            if done is not None:
                if done[1] is not None:
                    self.renders.labels(plan.format).inc()
                return done
            # Another node holds the claim: wait for its result, or for the claim to go (it failed or its
            # node died), then try to claim it ourselves.
            while await run_in_threadpool(t.catalog.render_claimed, plan.key):
                await asyncio.sleep(POLL_SECONDS)
                found = await run_in_threadpool(t.find, image, plan)
                if found is not None:
                    return found, None
            found = await run_in_threadpool(t.find, image, plan)
            if found is not None:
                return found, None


class JobRunner:
    """A daemon thread that makes queued background renders (slow AVIF), started on first use.

    Every serving process runs one, so jobs are made on whichever node is free, and jobs left by a
    process that stopped are picked up by the next one that starts.
    """

    def __init__(self, transformer: Transformer, idle_seconds: float = 2.0) -> None:
        self.transformer = transformer
        self.idle_seconds = idle_seconds
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def poke(self) -> None:
        """Make sure the thread runs, and have it look for jobs now."""
        with self._lock:
            self._stopped = False
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="picstore-render-jobs", daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread after the job it is making (the service is shutting down)."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stopped:
            try:
                busy = self.transformer.run_jobs(limit=5) > 0
            except PicstoreError:
                busy = False  # catalog unreachable for now: try again after the idle wait
            if not busy:
                self._wake.wait(self.idle_seconds)
                self._wake.clear()


def router(store: ImageStore, registry: CollectorRegistry) -> APIRouter:
    """The ``/t/`` route over ``store``'s transformer; render counts go to ``registry``."""
    t = store.transforms
    renders = Counter(
        "picstore_transform_renders",
        "Transform renditions rendered by this process, by format",
        ["format"],
        registry=registry,
    )
    group = RenderGroup(t, renders)
    jobs = JobRunner(t)
    # Every serving process works the job queue from its start, so jobs outlive the process that queued them.
    api = APIRouter(on_startup=[jobs.poke], on_shutdown=[jobs.stop])

    @api.api_route("/t/{signature}/{spec}/{image_id}", methods=["GET", "HEAD"], include_in_schema=False)
    async def transform(signature: str, spec: str, image_id: str, request: Request) -> Response:
        try:
            checked = t.check(signature, spec, image_id)
        except InvalidTransform as exc:
            # A URL picstore would never have signed this way: refused like a forged one.
            return problem(exc, request.url.path, status=403)
        image = await run_in_threadpool(store.get, image_id)
        accept = request.headers.get("accept")
        fmt = checked.format
        if fmt == "auto":
            fmt = choose_format(accept, animated=image.frames > 1, alpha=has_alpha(image))
            if store.settings.transform_auto == "redirect":
                target = t.url(image_id, checked.with_format(fmt))
                return RedirectResponse(
                    target, 302, headers={"Cache-Control": "private, no-cache", "Vary": "Accept"}
                )
        plan = t.plan(image, checked, fmt)  # arithmetic only: no thread hand-off
        # Renders run on the low-priority threads, as ingest does: the API's requests come first.
        threads = get_ingest_threads(request)
        if not store.settings.transform_store_results:
            made = await threads.run(functools.partial(t.render, image, plan))
            renders.labels(plan.format).inc()
            etag = f'"{hashlib.sha256(made.data).hexdigest()}"'
            fresh = {**blob_headers(etag, content_type_for(plan.format)), **_cache_headers(checked, False)}
            del fresh["Accept-Ranges"]
            return Response(b"" if request.method == "HEAD" else made.data, headers=fresh)
        temporary = False
        found = await run_in_threadpool(t.find, image, plan)
        if found is None and t.avif_deferred(image, plan):
            await run_in_threadpool(t.defer, image, plan)
            jobs.poke()
            meanwhile = "webp" if "image/webp" in accepted_types(accept) else t.fallback(image)
            plan = t.plan(image, checked, meanwhile)
            found = await run_in_threadpool(t.find, image, plan)
            temporary = True
        variant, body = (found, None) if found is not None else await group.get(image, plan, threads)
        return await run_in_threadpool(
            _answer, store, request, variant, body, _cache_headers(checked, temporary)
        )

    return api


def _cache_headers(spec: TransformSpec, temporary: bool) -> dict[str, str]:
    """``Vary`` for ``f=auto``; a short lifetime for a stand-in, the URL's own for an expiring URL."""
    headers: dict[str, str] = {}
    if spec.format == "auto":
        headers["Vary"] = "Accept"
    if temporary:
        # A stand-in (WebP or JPEG while the AVIF is made): chosen from Accept, replaced soon.
        headers["Vary"] = "Accept"
        headers["Cache-Control"] = SHORT_CACHE
    elif spec.expires is not None:
        remaining = max(0, spec.expires - int(time.time()))
        headers["Cache-Control"] = f"public, max-age={min(remaining, 31536000)}"
    return headers


def _answer(
    store: ImageStore, request: Request, variant: Variant, body: bytes | None, extra: dict[str, str]
) -> Response:
    """The rendition as ``/b/`` would serve it, or a redirect to the copy the bucket or CDN serves."""
    loc, blobs = store.locate(variant.key, live=True)
    public = blobs.public_url(loc.key)
    if body is None and public is not None:
        # Short-lived: the copy may move (migration) and a presigned URL expires.
        return RedirectResponse(public, 302, headers={**extra, "Cache-Control": SHORT_CACHE})
    etag = f'"{loc.sha256}"'
    headers: dict[str, Any] = {**blob_headers(etag, loc.content_type), **extra}
    headers.setdefault("Cache-Control", IMMUTABLE)
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    if body is None and isinstance(blobs, LocalFiles):
        path = blobs.path_for(loc.key)
        stat = path.stat()
        return blob_response(request, headers, size=stat.st_size, path=path, stat_result=stat)
    data = body if body is not None else blobs.get(loc.key)
    return blob_response(request, headers, size=len(data), body=data)
