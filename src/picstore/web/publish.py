"""Publishing an image over HTTP, for every route that makes one (``POST /v1/images`` and a direct
upload's ``complete``): the bounded ingest, the upload counters and the :class:`ImageOut` answer.

Invariants: the store's ingest gate decides when ingests run, on bounded threads, each tenant on its
share; every upload is counted once,
as accepted or as refused with its error code; an image is answered in exactly the shape ``ImageOut``
declares (the response is validated against it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from anyio import CapacityLimiter
from fastapi import Response
from starlette.concurrency import run_in_threadpool

from picstore.errors import PicstoreError
from picstore.models import Image, ImageUrls, Tenant
from picstore.store import ImageStore
from picstore.web.background import BackgroundThreads
from picstore.web.metrics import Metrics
from picstore.web.schemas import ImageOut


class Publisher:
    """Publishes images for one request: counted, bounded, answered as ``ImageOut``."""

    def __init__(
        self,
        store: ImageStore,
        metrics: Metrics,
        threads: BackgroundThreads,
        per_tenant: dict[str, CapacityLimiter],
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.threads = threads
        self.per_tenant = per_tenant

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Count a refusal (any PicstoreError leaving the block) under its error code."""
        try:
            yield
        except PicstoreError as exc:
            self.metrics.refused(exc.code)
            raise

    async def ingest(self, tenant: Tenant, fn: Callable[[], Image]) -> Image:
        """Run an upload's ingest (``fn``) in a worker thread and count the image it makes as accepted.

        The store's ``IngestGate`` decides when the work runs (bounded, fair between tenants, a fast lane
        for small uploads). Threads are bounded here: ``threads`` in all (low-priority ones, so the
        requests' threads come first: web/background.py), and each tenant at most as many as the gate
        has slots, so one tenant's flood cannot take the threads the others need to reach the gate.
        Requests beyond that wait here, their bodies already spooled.
        """
        gate = self.store.ingest_gate
        limiter = self.per_tenant.setdefault(tenant.slug, CapacityLimiter(gate.slots + gate.fast_slots))
        async with limiter:
            image = await self.threads.run(fn)
        self.metrics.accepted(image)
        return image

    async def created(self, image: Image, response: Response, root_path: str = "") -> ImageOut:
        """The answer to a request that made ``image``: its description, and its URL as ``Location``
        (under ``root_path``, the prefix the app is mounted at)."""
        response.headers["Location"] = f"{root_path}/v1/images/{image.id}"
        return await run_in_threadpool(image_out, self.store, image)


def image_out(store: ImageStore, image: Image, urls: ImageUrls | None = None) -> ImageOut:
    """The Image as the API describes it (the shape of ``picstore put --json``), with its URLs (pass
    ``urls`` from :meth:`ImageStore.urls` when describing a page)."""
    return ImageOut.model_validate(store.describe(image, urls))
