"""What routes depend on, as FastAPI ``Annotated`` types: the one place that reads ``app.state``.

:func:`install` puts the services on ``app.state`` when the app is made; a route names what it needs by
type (``store: StoreDep``) and never touches ``request.app.state`` itself. Tests may swap a service on
``app.state`` (``ingest_threads``, say) between requests: each request reads it afresh.
"""

from __future__ import annotations

from typing import Annotated, cast

from anyio import CapacityLimiter
from fastapi import Depends, FastAPI, Request

from picstore.direct_uploads import DirectUploads
from picstore.listings import Listings
from picstore.store import ImageStore
from picstore.web.background import BackgroundThreads
from picstore.web.metrics import Metrics
from picstore.web.page_cache import RenderedPages
from picstore.web.publish import Publisher
from picstore.web.throttle import Throttle


def install(app: FastAPI, store: ImageStore) -> Metrics:
    """Put the services routes depend on on ``app.state``; returns the app's metrics."""
    app.state.store = store
    app.state.metrics = metrics = Metrics()
    app.state.uploads = DirectUploads(store)
    # Low-priority threads for ingest (see Publisher.ingest) and transform renders; how many ingests run at
    # once is the store's gate's call.
    gate = store.ingest_gate
    app.state.ingest_threads = BackgroundThreads(4 * (gate.slots + gate.fast_slots))
    app.state.ingest_tenant_limiters = {}
    app.state.throttle = Throttle.from_settings(store.settings)
    # The web UI's: listing pages and their rendered HTML.
    app.state.listings = Listings(store)
    app.state.rendered_pages = RenderedPages()
    return metrics


def get_store(request: Request) -> ImageStore:
    """The ImageStore the app serves."""
    return cast(ImageStore, request.app.state.store)


def get_metrics(request: Request) -> Metrics:
    """The app's Prometheus metrics."""
    return cast(Metrics, request.app.state.metrics)


def get_uploads(request: Request) -> DirectUploads:
    """Direct uploads over the app's store."""
    return cast(DirectUploads, request.app.state.uploads)


def get_listings(request: Request) -> Listings:
    """Listings (the web UI's pages of pictures) over the app's store."""
    return cast(Listings, request.app.state.listings)


def get_rendered_pages(request: Request) -> RenderedPages:
    """The public listing's rendered pages, kept in memory."""
    return cast(RenderedPages, request.app.state.rendered_pages)


def throttle_of(app: FastAPI) -> Throttle:
    """The app's throttles, for the middleware that applies them before routing."""
    return cast(Throttle, app.state.throttle)


def get_throttle(request: Request) -> Throttle:
    """The app's throttles of failed authentication and of requests per key."""
    return cast(Throttle, request.app.state.throttle)


def client_address(request: Request) -> str:
    """The client's address (a trusted local proxy's ``X-Forwarded-For`` already applied by uvicorn)."""
    return request.client.host if request.client is not None else "unknown"


def get_ingest_threads(request: Request) -> BackgroundThreads:
    """The low-priority threads ingests and transform renders run on, all tenants together."""
    return cast(BackgroundThreads, request.app.state.ingest_threads)


def get_tenant_limiters(request: Request) -> dict[str, CapacityLimiter]:
    """Each tenant's share of the ingest threads, by slug (made on a tenant's first upload)."""
    return cast(dict[str, CapacityLimiter], request.app.state.ingest_tenant_limiters)


StoreDep = Annotated[ImageStore, Depends(get_store)]
ThrottleDep = Annotated[Throttle, Depends(get_throttle)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
UploadsDep = Annotated[DirectUploads, Depends(get_uploads)]
IngestThreadsDep = Annotated[BackgroundThreads, Depends(get_ingest_threads)]
TenantLimitersDep = Annotated[dict[str, CapacityLimiter], Depends(get_tenant_limiters)]


def get_publisher(
    store: StoreDep, metrics: MetricsDep, threads: IngestThreadsDep, per_tenant: TenantLimitersDep
) -> Publisher:
    """What the routes that make images publish them through."""
    return Publisher(store, metrics, threads, per_tenant)


PublisherDep = Annotated[Publisher, Depends(get_publisher)]
