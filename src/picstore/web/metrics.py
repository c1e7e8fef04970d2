"""Prometheus metrics at ``/metrics``: requests and latencies by route, uploads by outcome, bytes stored.

Each app has its own registry (no process-wide state), and labels are bounded: routes are templates
(``/v1/images/{image_id}``), never raw paths, and upload outcomes are picstore's error codes.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from picstore.models import Image

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """The service's counters and histograms, in one registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "picstore_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "picstore_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.uploads = Counter(
            "picstore_uploads",
            "Uploads accepted, or refused with their error code (through POST /v1/images or complete).",
            ["outcome", "code"],
            registry=self.registry,
        )
        self.stored_bytes = Counter(
            "picstore_stored_bytes",
            "Bytes of masters and variants of accepted uploads.",
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        method = method if method in _METHODS else "other"
        # Looking up labelled children costs more than the increment: keep them.
        children = self._children.get((method, route, status))
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def accepted(self, image: Image) -> None:
        """Count an accepted upload and the bytes it stored."""
        self.uploads.labels("accepted", "").inc()
        self.stored_bytes.inc(image.bytes + sum(v.bytes for v in image.variants))

    def refused(self, code: str) -> None:
        """Count a refused upload by its error code."""
        self.uploads.labels("refused", code).inc()

    def render(self) -> bytes:
        """The exposition text for a scrape."""
        return generate_latest(self.registry)


class Observe:
    """ASGI middleware: time and count every request by route template; add ``nosniff`` everywhere.

    ``X-Content-Type-Options: nosniff`` goes on every response (image bytes included), so no browser ever
    second-guesses a content type picstore chose.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            # Starlette's router records the matched route in the scope; unmatched paths share one label.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope.get("method", ""), route, status, time.perf_counter() - started)
