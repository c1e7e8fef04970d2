"""Request bodies against a real uvicorn: byte caps (413 early), slow bodies (408), others unaffected.

Raw sockets, because a well-behaved client library will not send what these tests need to send.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from picstore import ImageStore
from picstore.web.app import create_app
from tests.helpers import make_jpeg
from tests.http_support import make_image_store, running

MAX_BYTES = 100_000
FILE_PART = b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, ImageStore]]:
    """A served app with a 100 kB upload limit, 0.5 s stall timeout and 2 s body deadline."""
    with make_image_store(tmp_path, max_bytes=MAX_BYTES, body_timeout=0.5, body_deadline=2.0) as store:
        _, key = store.create_tenant("acme")
        with running(create_app(store)) as base:
            yield base, key, store


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _head(key: str, extra: str) -> bytes:
    return (
        "POST /v1/images HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: multipart/form-data; boundary=XyZ\r\n" + extra + "\r\n"
    ).encode()


def _response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    status = int(data.split(b" ", 2)[1])
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next((int(x.split(b":")[1]) for x in lines if x.lower().startswith(b"content-length")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, head + b"\r\n\r\n" + body


def test_a_huge_content_length_is_refused_before_the_body(server: tuple[str, str, ImageStore]) -> None:
    base, key, _ = server
    with _connect(base) as sock:
        started = time.monotonic()
        sock.sendall(_head(key, "Content-Length: 10737418240\r\n"))
        status, raw = _response(sock)
    assert status == 413 and b'"code":"too_large"' in raw
    assert b"connection: close" in raw.lower()
    assert time.monotonic() - started < 1


def test_the_refusal_names_the_configured_limit(server: tuple[str, str, ImageStore]) -> None:
    # The cap has room for the form around the file; the message states the setting, not that sum.
    from picstore.web.limits import FORM_OVERHEAD

    base, key, _ = server
    expected = f"an image may be at most {MAX_BYTES:,} bytes (PICSTORE_MAX_BYTES)"
    declared = MAX_BYTES + FORM_OVERHEAD + 1
    with _connect(base) as sock:
        sock.sendall(_head(key, f"Content-Length: {declared}\r\n"))
        status, raw = _response(sock)
    message = json.loads(raw.partition(b"\r\n\r\n")[2])["detail"]
    assert status == 413 and message == f"the request body is {declared:,} bytes; {expected}"
    chunked = httpx.post(
        f"{base}/v1/images",
        content=iter([FILE_PART, b"\xff" * (MAX_BYTES + FORM_OVERHEAD)]),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert chunked.status_code == 413
    # Counted as it arrives, the file part is refused by the form parser, naming the same limit.
    assert f"limit of {MAX_BYTES:,} bytes" in chunked.json()["detail"]
    assert f"{MAX_BYTES + FORM_OVERHEAD:,}" not in raw.decode() + chunked.text


def test_an_endless_chunked_body_is_cut_off_at_the_cap(server: tuple[str, str, ImageStore]) -> None:
    base, key, store = server
    with _connect(base) as sock:
        sock.sendall(_head(key, "Transfer-Encoding: chunked\r\n"))
        sock.sendall(f"{len(FILE_PART):x}\r\n".encode() + FILE_PART + b"\r\n")
        sent = 0
        chunk = b"\xff" * 16384
        status = 0
        try:
            while sent < 50 * MAX_BYTES:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        status, raw = _response(sock)
    assert status == 413 and b"too_large" in raw
    assert sent < 50 * MAX_BYTES  # refused while the body was still coming
    assert store.catalog.images.count() == 0


def test_a_body_larger_than_its_content_length_claims_is_counted_not_trusted(
    server: tuple[str, str, ImageStore],
) -> None:
    base, key, _ = server
    # The file part alone is over the cap, in a body that declares a modest length: still refused.
    big = b"x" * (MAX_BYTES + 10)
    body = FILE_PART + big + b"\r\n--XyZ--\r\n"
    resp = httpx.post(
        f"{base}/v1/images",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert resp.status_code == 413 and resp.json()["code"] == "too_large"


def test_a_stalled_body_times_out_and_others_are_served_meanwhile(
    server: tuple[str, str, ImageStore],
) -> None:
    base, key, _ = server
    with _connect(base) as sock:
        sock.sendall(_head(key, "Content-Length: 5000\r\n") + b"--XyZ\r\n")
        started = time.monotonic()
        # While this client stalls, another is served at once.
        assert httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        status, raw = _response(sock)
        waited = time.monotonic() - started
    assert status == 408 and b"request_timeout" in raw
    assert 0.3 < waited < 3


def test_a_trickling_body_hits_the_deadline(server: tuple[str, str, ImageStore]) -> None:
    base, key, _ = server
    with _connect(base) as sock:
        sock.sendall(_head(key, "Content-Length: 5000\r\n") + FILE_PART)
        started = time.monotonic()
        status = 0
        try:
            for _ in range(40):  # one byte every 0.2 s never stalls for 0.5 s, but never finishes either
                sock.sendall(b"x")
                time.sleep(0.2)
                sock.setblocking(False)
                try:
                    if sock.recv(1, socket.MSG_PEEK):
                        break
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, raw = _response(sock)
    assert status == 408 and b"took too long" in raw
    assert 1.5 < time.monotonic() - started < 5


def test_json_bodies_are_small(server: tuple[str, str, ImageStore]) -> None:
    base, key, _ = server
    resp = httpx.post(
        f"{base}/v1/uploads",
        content=b'{"filename": "' + b"a" * 100_000 + b'"}',
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert resp.status_code == 413 and resp.json()["code"] == "too_large"
    # Chunked, so no Content-Length to refuse early: counted as it arrives, and still a 413, not a 400.
    resp = httpx.post(
        f"{base}/v1/uploads",
        content=iter([b'{"filename": "', b"a" * 100_000, b'"}']),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert resp.status_code == 413 and resp.json()["code"] == "too_large"


def test_a_real_upload_through_the_server(server: tuple[str, str, ImageStore]) -> None:
    base, key, store = server
    resp = httpx.post(
        f"{base}/v1/images",
        files={"file": ("a.jpg", make_jpeg(), "image/jpeg")},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert resp.status_code == 201
    assert store.get(resp.json()["id"]).sha256 == resp.json()["sha256"]
