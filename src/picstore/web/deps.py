"""What routes depend on, as FastAPI ``Annotated`` types: the one place that reads ``app.state``.

:func:`install` puts the services on ``app.state`` when the app is made; a route names what it needs by
type (``store: StoreDep``) and never touches ``request.app.state`` itself. Tests may swap a service on
``app.state`` (``ingest_limiter``, say) between requests: each request reads it afresh.
"""

from __future__ import annotations

import os
from typing import Annotated, cast

from anyio import CapacityLimiter
from fastapi import Depends, FastAPI, Request

from picstore.direct_uploads import DirectUploads
from picstore.store import ImageStore
from picstore.web.metrics import Metrics
from picstore.web.publish import Publisher


def install(app: FastAPI, store: ImageStore) -> Metrics:
    """Put the services routes depend on on ``app.state``; returns the app's metrics."""
    app.state.store = store
    app.state.metrics = metrics = Metrics()
    app.state.uploads = DirectUploads(store)
    # Ingests at once (Publisher.ingest): two per core keeps the cores busy while one writes blobs.
    app.state.ingest_limiter = CapacityLimiter(2 * (os.cpu_count() or 1))
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


def get_ingest_limiter(request: Request) -> CapacityLimiter:
    """How many ingests may run at once in this process."""
    return cast(CapacityLimiter, request.app.state.ingest_limiter)


StoreDep = Annotated[ImageStore, Depends(get_store)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
UploadsDep = Annotated[DirectUploads, Depends(get_uploads)]
IngestLimiterDep = Annotated[CapacityLimiter, Depends(get_ingest_limiter)]


def get_publisher(store: StoreDep, metrics: MetricsDep, limiter: IngestLimiterDep) -> Publisher:
    """What the routes that make images publish them through."""
    return Publisher(store, metrics, limiter)


PublisherDep = Annotated[Publisher, Depends(get_publisher)]
