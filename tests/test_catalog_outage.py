"""The catalog going away: a private PostgreSQL stopped (crashed) under a running picstore, then back.

While uploads and reads are in flight the database is killed (immediate shutdown). What must hold:
- every answer is the request's success or ``503 catalog_unavailable`` problem+json with Retry-After,
  never a 500; ``/readyz`` says 503 ``catalog_unavailable`` while the database is away;
- once the database is back, the same process serves again: the first requests after the restart
  succeed, ``/readyz`` is 200; also after a restart while picstore was idle, when every pooled
  connection is dead and only the pool's pre-ping notices;
- nothing is half-written: every acknowledged (201) upload is there with its bytes, ``verify`` is clean,
  a refused upload retried with its Idempotency-Key makes one image, and after ``gc`` the blob directory
  holds exactly the live images' blobs.

The shared PostgreSQL on 5432 is never stopped (tests/pgserver.py). Without PostgreSQL installed the
test skips, except under ``CI`` where it fails.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from picstore import ImageStore
from picstore.ops.verify import verify
from tests.helpers import make_jpeg
from tests.http_support import api_for, make_image_store, running
from tests.pgserver import PrivatePostgres, find_bin

IN_CI = bool(os.environ.get("CI"))
pytestmark = pytest.mark.postgres


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    bin_dir = find_bin()
    if bin_dir is None:
        if IN_CI:
            pytest.fail("the catalog outage test needs PostgreSQL's server binaries under CI")
        pytest.skip("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin)")
    # Not under tmp_path: the postgres user must be able to reach the directory.
    server = PrivatePostgres(Path(tempfile.mkdtemp(prefix="picstore-pg-")), bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.remove()


class Client(threading.Thread):
    """Uploads (each with its own Idempotency-Key) and reads in a loop, recording every answer."""

    def __init__(self, base: str, key: str, name: str) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        self.name = name
        self.answers: list[tuple[str, bytes, httpx.Response]] = []
        self.halt = threading.Event()

    def upload(self, idem: str, data: bytes) -> httpx.Response:
        files = {"file": ("a.jpg", data, "image/jpeg")}
        return self.http.post("/v1/images", files=files, headers={"Idempotency-Key": idem})

    def run(self) -> None:
        n = 0
        while not self.halt.is_set():
            n += 1
            idem, data = f"{self.name}-{n}", make_jpeg(30 + n % 50, 20 + n // 50, (n % 256, 9, 99))
            resp = self.upload(idem, data)
            self.answers.append((idem, data, resp))
            if resp.status_code == 201:
                read = self.http.get(f"/v1/images/{resp.json()['id']}")
                self.answers.append(("read", b"", read))
            else:
                time.sleep(0.1)  # as a client told to retry later would (more gently: Retry-After is 5)


def _unavailable(resp: httpx.Response) -> bool:
    return (
        resp.status_code == 503
        and resp.headers["content-type"] == "application/problem+json"
        and resp.json()["code"] == "catalog_unavailable"
        and resp.headers["retry-after"] == "5"
    )


def _wait_for(predicate: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the clients made no progress"
        time.sleep(0.05)


def test_catalog_outage_answers_503_and_recovers_without_restart(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    with (
        make_image_store(tmp_path, database=private_pg.url, variants={"thumb": "cover:32x32"}) as store,
        api_for(store) as api,
        running(api.app) as base,
    ):
        clients = [Client(base, api.keys["acme"], f"c{i}") for i in range(3)]
        for client in clients:
            client.start()

        def count() -> int:
            return sum(len(c.answers) for c in clients)

        _wait_for(lambda: count() >= 9)  # in full swing
        private_pg.stop()  # a crash, with requests in flight
        outage_started = count()
        _wait_for(lambda: count() >= outage_started + 6)
        ready = httpx.get(base + "/readyz")
        assert _unavailable(ready), ready.text
        during = [resp for c in clients for _, _, resp in c.answers[-2:]]
        assert all(_unavailable(resp) for resp in during), [r.text for r in during]

        private_pg.start()
        # The same process, no restart: the very next requests succeed.
        assert httpx.get(base + "/readyz").status_code == 200
        back = count()
        _wait_for(lambda: count() >= back + 9)
        for client in clients:
            client.halt.set()
        for client in clients:
            client.join(60)
        after = [resp for c in clients for _, _, resp in c.answers[-2:]]
        assert all(resp.status_code in (200, 201) for resp in after), [r.text for r in after]

        # A restart while picstore is idle: every pooled connection is dead, and nothing has failed yet
        # to tell the pool. The pre-ping replaces them, so not even the first request fails.
        private_pg.stop()
        private_pg.start()
        first_id = next(resp.json()["id"] for _, _, resp in clients[0].answers if resp.status_code == 201)
        assert clients[0].http.get(f"/v1/images/{first_id}").status_code == 200
        assert httpx.get(base + "/readyz").status_code == 200

        answers = [a for c in clients for a in c.answers]
        assert all(resp.status_code in (200, 201) or _unavailable(resp) for _, _, resp in answers), [
            resp.text for _, _, resp in answers if resp.status_code >= 400 and not _unavailable(resp)
        ]
        uploads = [(idem, data, resp) for idem, data, resp in answers if idem != "read"]
        refused = [(idem, data) for idem, data, resp in uploads if resp.status_code == 503]
        assert refused, "the outage refused no upload"
        acknowledged = {resp.json()["id"]: data for _, data, resp in uploads if resp.status_code == 201}

        # Nothing acknowledged is lost; a refused upload retried with its key makes one image.
        retry = clients[0]
        for idem, data in refused:
            resp = retry.upload(idem, data)
            assert resp.status_code == 201, resp.text
            acknowledged[resp.json()["id"]] = data
        assert store.catalog.images.count() == len(acknowledged) == len(uploads)
        for image_id in acknowledged:
            image = store.get(image_id)
            assert hashlib.sha256(store.read(image_id)).hexdigest() == image.sha256
        _assert_consistent(store)


def _assert_consistent(store: ImageStore) -> None:
    report = verify(store)
    assert report.ok, f"missing {report.missing}, damaged {report.damaged}"
    store.gc(0)
    root: Path = store.blobs.root  # type: ignore[attr-defined]
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    images = store.list("acme", limit=1000).items
    assert files == {key for i in images for key in (i.key, *(v.key for v in i.variants))}
