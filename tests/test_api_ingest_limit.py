"""At most the store's gate's slots (plus its fast lane) run ingests at once, for `POST /v1/images` and
`complete` alike."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import picstore.store
from picstore.admission import IngestGate
from tests.helpers import make_jpeg
from tests.http_support import api_for, make_image_store

SLOTS, FAST = 2, 1


def test_concurrent_uploads_and_completes_never_run_more_ingests_than_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_image_store(tmp_path) as store, api_for(store) as api:
        store.ingest_gate = IngestGate(SLOTS, per_tenant=SLOTS, fast_slots=FAST)
        lock = threading.Lock()
        now = peak = 0
        original = picstore.store.ingest

        def slow_ingest(*args: Any, **kwargs: Any) -> Any:
            nonlocal now, peak
            with lock:
                now += 1
                peak = max(peak, now)
            try:
                time.sleep(0.15)  # long enough for every request to be waiting by the time one ends
                return original(*args, **kwargs)
            finally:
                with lock:
                    now -= 1

        # Direct uploads whose files are already in: their `complete` runs an ingest too.
        tickets = []
        for i in range(3):
            data = make_jpeg(color=(200, i, 10))
            ticket = api.client.post(
                "/v1/uploads",
                json={"content_type": "image/jpeg", "bytes": len(data)},
                headers=api.auth("acme"),
            ).json()
            sent = api.client.post(ticket["url"], data=ticket["fields"], files={"file": ("a.jpg", data)})
            assert sent.status_code == 204, sent.text
            tickets.append(ticket)
        monkeypatch.setattr(picstore.store, "ingest", slow_ingest)

        def upload(i: int) -> int:
            return api.upload("acme", make_jpeg(color=(i, 30, 60))).status_code

        def complete(ticket: Any) -> int:
            url = f"/v1/uploads/{ticket['upload_id']}/complete"
            return api.client.post(url, headers=api.auth("acme")).status_code

        with ThreadPoolExecutor(12) as pool:
            uploads = [pool.submit(upload, i) for i in range(9)]
            completes = [pool.submit(complete, t) for t in tickets]
            statuses = [f.result() for f in uploads + completes]

        assert statuses == [201] * 12
        # Requests did overlap, and no more ingests ran at once than the slots and the fast lane.
        assert peak == SLOTS + FAST
        assert store.catalog.images.count() == 12
