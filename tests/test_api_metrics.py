"""`/metrics`: requests and latencies by route template, uploads by outcome and code, bytes stored."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_jpeg
from tests.http_support import api_for, make_image_store


def test_metrics_count_by_route_template_and_upload_outcome(tmp_path: Path) -> None:
    with make_image_store(tmp_path) as store, api_for(store) as api:
        image = api.upload("acme", make_jpeg()).json()
        api.upload("acme", b"%PDF-1.7 not an image")
        for _ in range(3):
            api.client.get(f"/v1/images/{image['id']}", headers=api.auth("acme"))
        api.client.get("/v1/images/" + "a" * 24, headers=api.auth("acme"))
        api.client.get("/no/such/path/1")
        api.client.get("/no/such/path/2")
        resp = api.client.get("/metrics")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")

        route = {"method": "GET", "route": "/v1/images/{image_id}"}
        assert api.metric("picstore_http_requests_total", **route, status="200") == 3
        assert api.metric("picstore_http_requests_total", **route, status="404") == 1
        assert api.metric("picstore_http_request_duration_seconds_count", **route) == 4
        # Paths that match no route share one label: clients cannot blow up the series count.
        assert api.metric("picstore_http_requests_total", method="GET", route="unmatched", status="404") == 2
        assert api.metric("picstore_uploads_total", outcome="accepted", code="") == 1
        assert api.metric("picstore_uploads_total", outcome="refused", code="not_an_image") == 1
        stored = store.get(image["id"])
        assert api.metric("picstore_stored_bytes_total") == stored.bytes + sum(
            v.bytes for v in stored.variants
        )
        assert "/v1/images/" + image["id"] not in resp.text
