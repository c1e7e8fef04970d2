"""Two `picstore serve` processes sharing PostgreSQL and Ceph RGW act as one service.

Upload through one; read, list, complete and delete through the other; identical uploads through both at
once make one blob. Real processes, real database, real object store: what a load balancer would see.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from picstore.blobs.s3 import S3Store
from picstore.blobs.s3_policy import setup_bucket
from tests.helpers import make_jpeg
from tests.http_support import ADMIN_KEY, free_port
from tests.s3.conftest import RGW, rgw, s3_settings

__all__ = ["rgw"]  # the session's RGW fixture, shared with tests/s3
pytestmark = [pytest.mark.s3, pytest.mark.postgres]
PREFIX = "p"


@pytest.fixture
def shared_bucket(rgw: RGW) -> Iterator[str]:
    name = f"picstore-nodes-{uuid.uuid4().hex[:12]}"
    store = S3Store.from_url(
        f"s3://{name}/{PREFIX}",
        s3_settings(s3_endpoint=rgw.endpoint),
        credentials=(rgw.access_key, rgw.secret_key),
    )
    setup_bucket(store, public=True)  # creates the bucket; the prefix becomes anonymously readable
    yield name
    client = rgw.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=name, Key=obj["Key"])
    client.delete_bucket(Bucket=name)


def _start(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "picstore", "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(proc: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    output = proc.stdout.read() if proc.stdout else ""
    pytest.fail(f"picstore serve at {base} did not become ready:\n{output[-3000:]}")


@pytest.fixture
def nodes(rgw: RGW, shared_bucket: str, pg_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two serve processes on one PostgreSQL catalog and one bucket; their base URLs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PICSTORE_", "AWS_"))}
    env.update(rgw.env())
    env.update(
        PICSTORE_STORAGE=f"s3://{shared_bucket}/{PREFIX}",
        PICSTORE_DATABASE=pg_url,
        PICSTORE_S3_ENDPOINT=rgw.endpoint,
        PICSTORE_ADMIN_KEY=ADMIN_KEY,
    )
    with ExitStack() as stack:
        started = [_start(env, tmp_path) for _ in range(2)]  # both start (and migrate) at once
        for proc, _ in started:
            stack.callback(proc.wait, 10)
            stack.callback(proc.terminate)
        for proc, base in started:
            _wait_ready(proc, base)
        yield started[0][1], started[1][1]


def _keys(rgw: RGW, bucket: str, prefix: str) -> list[str]:
    listing = rgw.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_two_nodes_act_as_one_service(nodes: tuple[str, str], rgw: RGW, shared_bucket: str) -> None:
    a, b = nodes
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    created = httpx.post(f"{a}/v1/tenants", json={"slug": "acme"}, headers=admin)
    assert created.status_code == 201, created.text
    auth = {"Authorization": f"Bearer {created.json()['api_key']}"}
    assert [t["tenant"] for t in httpx.get(f"{b}/v1/tenants", headers=admin).json()["items"]] == ["acme"]

    # Upload through A; read and list through B; the URL is the bucket's, readable by anyone.
    image = httpx.post(f"{a}/v1/images", files={"file": ("a.jpg", make_jpeg(300, 200))}, headers=auth).json()
    assert httpx.get(f"{b}/v1/images/{image['id']}", headers=auth).json() == image
    assert [i["id"] for i in httpx.get(f"{b}/v1/images", headers=auth).json()["items"]] == [image["id"]]
    assert httpx.get(image["url"]).status_code == 200

    # A direct upload prepared on B, sent to the bucket, completed on A.
    data = make_jpeg(120, 90)
    ticket = httpx.post(
        f"{b}/v1/uploads", json={"content_type": "image/jpeg", "bytes": len(data)}, headers=auth
    ).json()
    sent = httpx.post(ticket["url"], data=ticket["fields"], files={"file": ("d.jpg", data, "image/jpeg")})
    assert sent.status_code == 204
    direct = httpx.post(f"{a}/v1/uploads/{ticket['upload_id']}/complete", headers=auth)
    assert direct.status_code == 201, direct.text
    assert httpx.get(f"{b}/v1/images/{direct.json()['id']}", headers=auth).status_code == 200

    # Delete through B; gone on A.
    assert httpx.delete(f"{b}/v1/images/{image['id']}", headers=auth).status_code == 204
    assert httpx.get(f"{a}/v1/images/{image['id']}", headers=auth).status_code == 404

    # Identical uploads through both nodes at once: one blob for all of them.
    same = make_jpeg(640, 480, color=(10, 200, 90))

    def upload(base: str) -> httpx.Response:
        return httpx.post(f"{base}/v1/images", files={"file": ("s.jpg", same)}, headers=auth, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(upload, [a, b] * 4))
    assert [r.status_code for r in results] == [201] * 8, [r.text for r in results if r.status_code != 201]
    bodies = [r.json() for r in results]
    assert len({body["id"] for body in bodies}) == 8
    (sha,) = {body["sha256"] for body in bodies}
    assert len([k for k in _keys(rgw, shared_bucket, f"{PREFIX}/img/") if sha in k]) == 1
    variant_urls = {v["url"] for formats in bodies[0]["variants"].values() for v in formats.values()}
    assert len(_keys(rgw, shared_bucket, f"{PREFIX}/var/{sha}/")) == len(variant_urls)
    for body in bodies:
        assert body["url"] == bodies[0]["url"]
    listed = httpx.get(f"{a}/v1/images", params={"limit": 100}, headers=auth).json()["items"]
    assert {body["id"] for body in bodies} <= {i["id"] for i in listed}
