"""Blob serving: the headers, 304 and 206 of `GET /b/{key}`, in-process and from a real `picstore serve`."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from picstore import ImageStore
from picstore.web.app import create_app
from tests.helpers import make_jpeg


@pytest.fixture
def client(image_store: ImageStore) -> TestClient:
    return TestClient(create_app(image_store))


def _check_blob_headers(resp: httpx.Response, sha256: str) -> None:
    assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["etag"] == f'"{sha256}"'


def test_serves_blob_with_immutable_headers(image_store: ImageStore, client: TestClient) -> None:
    image_store.create_tenant("acme")
    image = image_store.put(make_jpeg(), "acme")
    resp = client.get(f"/b/{image.key}")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(resp.content).hexdigest() == image.sha256
    _check_blob_headers(resp, image.sha256)


def test_304_and_206(image_store: ImageStore, client: TestClient) -> None:
    image_store.create_tenant("acme")
    image = image_store.put(make_jpeg(), "acme")
    etag = f'"{image.sha256}"'
    resp = client.get(f"/b/{image.key}", headers={"If-None-Match": etag})
    assert resp.status_code == 304 and resp.content == b""
    assert client.get(f"/b/{image.key}", headers={"If-None-Match": '"other"'}).status_code == 200
    full = image_store.read(image.id)
    resp = client.get(f"/b/{image.key}", headers={"Range": "bytes=10-19"})
    assert resp.status_code == 206
    assert resp.content == full[10:20]
    assert resp.headers["content-range"] == f"bytes 10-19/{len(full)}"
    resp = client.get(f"/b/{image.key}", headers={"Range": "bytes=-5"})
    assert resp.status_code == 206 and resp.content == full[-5:]
    resp = client.get(f"/b/{image.key}", headers={"Range": f"bytes={len(full) + 10}-"})
    assert resp.status_code == 416


def test_unknown_and_malformed_keys(image_store: ImageStore, client: TestClient) -> None:
    resp = client.get("/b/img/00/00/" + "0" * 64 + ".jpg")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "not_found"
    assert client.get("/b/..%2f..%2fetc/passwd").status_code in (400, 404)
    assert client.get("/b/img/%2e%2e/x").status_code in (400, 404)


def test_uncatalogued_blob_is_not_served(image_store: ImageStore, client: TestClient) -> None:
    # Bytes in the store that the catalog does not know (an incoming upload, a half-written put) never leak.
    image_store.blobs.put("img/aa/bb/evil.jpg", b"<html>", content_type="image/jpeg")
    assert client.get("/b/img/aa/bb/evil.jpg").status_code == 404


def test_healthz(client: TestClient) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "catalog": "ok", "storage": "ok"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """A real `picstore serve` process on the zero-config default in an empty directory."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")}
    env["PICSTORE_PORT"] = str(port)
    proc = subprocess.Popen(
        [sys.executable, "-m", "picstore", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            proc.kill()
            pytest.fail(f"picstore serve did not start: {proc.stdout.read() if proc.stdout else ''}")
        yield base, env, tmp_path
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_round_trip_through_real_server(served: tuple[str, dict[str, str], Path]) -> None:
    base, env, cwd = served

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "picstore", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    created = cli("tenant", "create", "acme", "--json")
    assert created.returncode == 0, created.stderr
    assert set(json.loads(created.stdout)) >= {"tenant", "api_key"}
    (cwd / "photo.jpg").write_bytes(make_jpeg(120, 90))
    put = cli("put", "photo.jpg", "--tenant", "acme", "--json")
    assert put.returncode == 0, put.stderr
    image = json.loads(put.stdout)
    assert image["url"].startswith(base + "/b/img/")
    got = cli("get", image["id"], "-o", "out.jpg")
    assert got.returncode == 0, got.stderr
    assert hashlib.sha256((cwd / "out.jpg").read_bytes()).hexdigest() == image["sha256"]
    resp = httpx.get(image["url"])
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
    _check_blob_headers(resp, image["sha256"])
    assert httpx.get(image["url"], headers={"If-None-Match": resp.headers["etag"]}).status_code == 304
    part = httpx.get(image["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == resp.content[:100]
    assert (cwd / "picstore-data" / "picstore.db").is_file()


def test_a_deleted_image_is_not_served(image_store: ImageStore, client: TestClient) -> None:
    image_store.create_tenant("acme")
    image = image_store.put(make_jpeg(), "acme")
    thumb = image.variant("thumb", "webp")
    assert thumb is not None
    assert client.get(f"/b/{image.key}").status_code == 200
    image_store.delete(image.id)
    for key in (image.key, thumb.key):  # bytes wait for gc, but are never served again
        resp = client.get(f"/b/{key}")
        assert resp.status_code == 404, key
        assert resp.json()["code"] == "not_found"


def test_a_catalogued_blob_missing_from_disk_is_404_not_500(
    image_store: ImageStore, client: TestClient
) -> None:
    image_store.create_tenant("acme")
    image = image_store.put(make_jpeg(), "acme")
    large = image.variant("large", "jpeg")
    assert large is not None
    image_store.blobs.delete(image.key)
    resp = client.get(f"/b/{image.key}")
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
