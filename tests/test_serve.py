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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient

from picstore import ImageStore
from picstore.web.app import create_app
from tests.helpers import make_jpeg
from tests.http_support import make_image_store, running


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
    # Traversal is tested with raw request lines below: a client would normalise these paths first.


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


# --- every answer of GET/HEAD /b/{key}, on the wire -----------------------------------------------------
#
# Requests go through the whole ASGI app (middleware included) by a driver that records exactly what the
# app sends, so an empty HEAD body or a missing header is the app's doing, not the client's. Each test runs
# on the cached hot path (BlobCache) and on the full path (the router), on a file store and a memory one.

CSP = "default-src 'none'; sandbox"
BLOB_HEADERS = {"etag", "cache-control", "x-content-type-options", "content-security-policy"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def asgi(app: Any, method: str, path: str, headers: dict[str, str] | None = None) -> Answer:
    """Send one request to ``app`` as an ASGI server would (``path`` used as it is); record the answer."""
    sent: list[dict[str, Any]] = []
    request_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    anyio.run(app, scope, receive, send)
    # A complete response: one start, then body messages, the last one closing it.
    assert [m["type"] for m in sent] == ["http.response.start"] + ["http.response.body"] * (len(sent) - 1)
    assert len(sent) > 1 and not sent[-1].get("more_body", False)
    start = sent[0]
    names = [k.decode().lower() for k, _ in start["headers"]]
    assert len(names) == len(set(names)), f"a header is sent twice: {names}"
    return Answer(
        status=start["status"],
        headers={k.decode().lower(): v.decode() for k, v in start["headers"]},
        body=b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
    )


@dataclass
class Served:
    app: Any
    store: ImageStore
    key: str
    sha256: str
    data: bytes
    content_type: str
    cached: bool


@pytest.fixture(scope="module", params=["file", "memory"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ImageStore, Any]]:
    """A store holding one JPEG (no variants: only its master is served), shared by this module's tests,
    which only read it."""
    settings = {"storage": "memory://"} if request.param == "memory" else {}
    with make_image_store(tmp_path_factory.mktemp("serve"), variants={}, **settings) as store:
        store.create_tenant("acme")
        yield store, store.put(make_jpeg(64, 48), "acme")


@pytest.fixture(params=["cached", "full"])
def served_blob(request: pytest.FixtureRequest, backend: tuple[ImageStore, Any]) -> Served:
    """The stored JPEG and a new app serving it from the hot path (cached) or with the cache off (full)."""
    store, image = backend
    app = create_app(store)
    cached = request.param == "cached"
    if not cached:
        app.blob_cache = None  # type: ignore[attr-defined]
    return Served(app, store, image.key, image.sha256, store.read(image.id), "image/jpeg", cached)


def test_get_answers_the_bytes_with_every_blob_header(served_blob: Served) -> None:
    s = served_blob
    for _ in range(2):  # a miss, then (on the hot path) a hit
        answer = asgi(s.app, "GET", f"/b/{s.key}")
        assert answer.status == 200
        assert answer.body == s.data
        assert answer.headers["etag"] == f'"{s.sha256}"'
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["content-type"] == s.content_type
        assert answer.headers["content-length"] == str(len(s.data))


def test_head_answers_the_headers_and_no_body(served_blob: Served) -> None:
    s = served_blob
    get = asgi(s.app, "GET", f"/b/{s.key}")
    for _ in range(2):
        head = asgi(s.app, "HEAD", f"/b/{s.key}")
        assert head.status == 200
        assert head.body == b""
        assert head.headers["content-length"] == str(len(s.data))
        assert {k: v for k, v in head.headers.items() if k != "date"} == {
            k: v for k, v in get.headers.items() if k != "date"
        }


def test_range_requests_take_the_full_path_on_every_store(served_blob: Served) -> None:
    s = served_blob
    asgi(s.app, "GET", f"/b/{s.key}")  # cached first: a Range request must still take the full path
    part = asgi(s.app, "GET", f"/b/{s.key}", {"Range": "bytes=10-19"})
    assert part.status == 206
    assert part.body == s.data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(s.data)}"
    assert part.headers["accept-ranges"] == "bytes"
    assert part.headers.keys() >= BLOB_HEADERS


@pytest.mark.parametrize(
    ("if_none_match", "not_modified"),
    [
        ("{etag}", True),
        ("*", True),
        (" * ", True),
        ("W/{etag}", True),  # a weak comparison: the weak form of the same tag matches
        ('"other", {etag}', True),
        ('{etag},"other"', True),
        ('"other",   W/{etag}', True),
        ('"other"', False),
        ('W/"other"', False),
        ('"other", "more"', False),
        ("{bare}", False),  # the tag without its quotes is another tag
        ("", False),
        ("*, {etag}x", False),  # "*" only alone
    ],
)
def test_conditional_get(served_blob: Served, if_none_match: str, not_modified: bool) -> None:
    s = served_blob
    etag = f'"{s.sha256}"'
    header = if_none_match.format(etag=etag, bare=s.sha256)
    for method in ("GET", "HEAD", "GET"):
        answer = asgi(s.app, method, f"/b/{s.key}", {"If-None-Match": header})
        if not_modified:
            assert answer.status == 304
            assert answer.body == b""
            # What a cache needs to refresh its copy, and nothing that describes a body.
            assert answer.headers["etag"] == etag
            assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["content-security-policy"] == CSP
            assert "content-type" not in answer.headers
            assert "content-length" not in answer.headers
        else:
            assert answer.status == 200
            assert answer.headers["content-type"] == s.content_type
            assert answer.body == (s.data if method == "GET" else b"")


def test_if_none_match_wins_over_range(served_blob: Served) -> None:
    s = served_blob
    answer = asgi(s.app, "GET", f"/b/{s.key}", {"If-None-Match": f'"{s.sha256}"', "Range": "bytes=0-9"})
    assert answer.status == 304 and answer.body == b""


@pytest.mark.parametrize("method", ["PUT", "DELETE", "POST", "PATCH"])
def test_blobs_cannot_be_written_through_b(served_blob: Served, method: str) -> None:
    s = served_blob
    asgi(s.app, "GET", f"/b/{s.key}")  # cached first: writes must not be answered from the cache
    answer = asgi(s.app, method, f"/b/{s.key}")
    assert answer.status == 405
    assert answer.headers["content-type"] == "application/problem+json"
    assert s.data not in answer.body
    again = asgi(s.app, "GET", f"/b/{s.key}")
    assert again.status == 200 and again.body == s.data


def test_unknown_keys_are_problem_404s(served_blob: Served) -> None:
    s = served_blob
    answer = asgi(s.app, "GET", "/b/img/00/00/" + "0" * 64 + ".jpg")
    assert answer.status == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert json.loads(answer.body)["code"] == "not_found"


@pytest.mark.parametrize(
    "path",
    [
        "/b/../../etc/passwd",
        "/b/img/../../../etc/passwd",
        "/b/./img",
        "/b/img//x.jpg",
        "/b/.tmp/x",
        "/b/",
    ],
)
def test_malformed_keys_are_refused_as_invalid(served_blob: Served, path: str) -> None:
    answer = asgi(served_blob.app, "GET", path)
    assert answer.status == 400
    assert json.loads(answer.body)["code"] == "invalid_key"


# --- through a real server, with the request line exactly as written ------------------------------------


def _raw(base: str, request_line: str) -> tuple[int, bytes]:
    """Send ``request_line`` byte for byte (no client normalises the path); the status and the body."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"{request_line}\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize(
    "target",
    [
        "/b/../../etc/passwd",
        "/b/..%2f..%2fetc%2fpasswd",
        "/b/%2e%2e/%2e%2e/etc/passwd",
        "/b/img/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/b/img/..%5c..%5cetc%5cpasswd",
    ],
)
def test_traversal_sent_raw_is_refused(image_store: ImageStore, target: str) -> None:
    with running(create_app(image_store)) as base:
        status, body = _raw(base, f"GET {target} HTTP/1.1")
    assert status == 400, body
    assert json.loads(body)["code"] == "invalid_key"
    assert b"root:" not in body


def test_head_sent_raw_has_no_body(image_store: ImageStore) -> None:
    image_store.create_tenant("acme")
    image = image_store.put(make_jpeg(), "acme")
    with running(create_app(image_store)) as base:
        for _ in range(2):  # a miss, then a hit
            status, body = _raw(base, f"HEAD /b/{image.key} HTTP/1.1")
            assert (status, body) == (200, b"")
