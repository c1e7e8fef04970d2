"""Floods and slow clients against a bare ``picstore serve`` subprocess on 127.0.0.1 (issue 9).

Each flood gets a 4xx (problem+json) or a closed connection, the server's memory stays bounded, and it
answers normal requests afterwards. Sizes are bounded for CI (a few seconds each); timeouts here only keep
a broken server from hanging the test, they assert nothing about speed (benchmarks/flood.py measures
latency under a flood).
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.helpers import make_jpeg
from tests.http_support import ADMIN_KEY
from tests.serve_process import ServeProcess, picstore_serve

#: Memory the server may gain over one flood (measured: a few MiB to ~40 MiB for the 200 uploads).
RSS_GROWTH_MIB = 150
SETTINGS = {
    "admin_key": ADMIN_KEY,
    "header_timeout": 1,
    "idle_timeout": 1,
    "body_timeout": 1,
    "body_deadline": 4,
    "max_bytes": 1_000_000,
    "key_rate_limit": 50,
    "key_rate_burst": 50,
    # 30 failures, then one per 20 s: the refusals held a second each (refusal_hold) never let a guess in.
    "auth_failure_window": 600,
}


class Server:
    def __init__(self, served: ServeProcess, keys: dict[str, str]) -> None:
        self.served = served
        self.keys = keys
        self.rss_start = served.rss_mib()

    def auth(self, tenant: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[tenant]}"}

    def still_fine(self) -> None:
        """The server answers, and has not grown by more than a flood's worth of memory."""
        assert self.served.healthy()
        assert self.served.rss_mib() < self.rss_start + RSS_GROWTH_MIB, (
            self.rss_start,
            self.served.rss_mib(),
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with picstore_serve(tmp_path_factory.mktemp("flood"), **SETTINGS) as served:
        keys = {}
        for slug in ["calm", "flood", *(f"bulk{i}" for i in range(8))]:
            created = httpx.post(
                f"{served.base}/v1/tenants",
                json={"slug": slug},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            )
            keys[slug] = created.json()["api_key"]
        # Warm up the paths the floods take, so the baseline holds what any running server holds.
        auth = {"Authorization": f"Bearer {keys['calm']}"}
        for _ in range(3):
            httpx.post(
                f"{served.base}/v1/images", files={"file": ("a.jpg", make_jpeg(), "image/jpeg")}, headers=auth
            )
        yield Server(served, keys)


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes] | None:
    """One HTTP response from ``sock``: status, headers, body; None when the server closed it instead."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    except (ConnectionResetError, BrokenPipeError):
        return None
    return int(lines[0].split(" ", 2)[1]), headers, body


def assert_problem(answer: tuple[int, dict[str, str], bytes] | None, *statuses: int) -> str | None:
    """A 4xx problem+json with one of ``statuses`` (its code returned), or a closed connection (None)."""
    if answer is None:
        return None
    status, headers, body = answer
    assert status in statuses, (status, body[:300])
    assert headers["content-type"] == "application/problem+json"
    code = json.loads(body)["code"]
    assert isinstance(code, str) and code
    return code


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _request_head(path: str, server: Server, tenant: str | None, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    if tenant is not None:
        lines.append(f"Authorization: Bearer {server.keys[tenant]}")
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- slow and silent clients ---------------------------------------------------------------------------


def test_slow_headers_and_silent_connections_are_closed(server: Server) -> None:
    socks = [server.served.connect() for _ in range(60)]
    try:
        for n, sock in enumerate(socks):
            if n % 2:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
        assert server.served.healthy()  # others are served meanwhile
        assert all(closed_by_server(sock) for sock in socks)
    finally:
        for sock in socks:
            sock.close()
    server.still_fine()


def test_idle_keep_alive_connections_are_closed(server: Server) -> None:
    socks = [server.served.connect() for _ in range(100)]
    try:
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        for sock in socks:
            answer = read_answer(sock)
            assert answer is not None and answer[0] == 200
        assert all(closed_by_server(sock) for sock in socks)
    finally:
        for sock in socks:
            sock.close()
    server.still_fine()


def _unfinished_upload(server: Server) -> bytes:
    """Headers announcing a 500 kB upload and the start of its file part: the rest is up to the test."""
    head = _request_head(
        "/v1/images", server, "calm", content_type="multipart/form-data; boundary=b", content_length="500000"
    )
    return head + b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'


def test_a_stalled_body_is_a_408(server: Server) -> None:
    with server.served.connect() as sock:
        sock.sendall(_unfinished_upload(server))
        assert assert_problem(read_answer(sock), 408) in ("request_timeout", None)
    server.still_fine()


def test_a_trickling_body_hits_the_deadline(server: Server) -> None:
    with server.served.connect() as sock:
        sock.sendall(_unfinished_upload(server))
        answer = None
        for _ in range(200):  # 0.1 s apart: never a stall, so only the whole-body deadline stops it
            if select.select([sock], [], [], 0.1)[0]:
                answer = read_answer(sock)
                break
            try:
                sock.sendall(b"x")
            except (BrokenPipeError, ConnectionResetError):
                break
        assert assert_problem(answer, 408) in ("request_timeout", None)
        assert answer is not None, "the deadline never came"
    server.still_fine()


def test_an_endless_body_is_cut_off(server: Server) -> None:
    head = _request_head(
        "/v1/images",
        server,
        "calm",
        content_type="multipart/form-data; boundary=b",
        transfer_encoding="chunked",
    )
    chunk = b"%x\r\n%s\r\n" % (65536, b"\0" * 65536)
    opening = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
    sent = 0
    with server.served.connect() as sock:
        sock.sendall(head + b"%x\r\n%s\r\n" % (len(opening), opening))  # a file part that never ends
        answer = None
        while sent < 50_000_000:  # 50 times the cap: the server must have stopped it long before
            if select.select([sock], [], [], 0)[0]:
                answer = read_answer(sock)
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        assert sent < 50_000_000
        assert assert_problem(answer, 413) in ("too_large", None)
    server.still_fine()


# --- hostile forms -------------------------------------------------------------------------------------


def _parts(boundary: str, count: int) -> bytes:
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\ny\r\n'.encode()
    return part * count + f"--{boundary}--\r\n".encode()


def test_ten_thousand_parts_are_refused(server: Server) -> None:
    body = _parts("b", 10_000)
    answer = httpx.post(
        f"{server.served.base}/v1/images",
        content=body,
        headers={**server.auth("calm"), "Content-Type": "multipart/form-data; boundary=b"},
        timeout=30,
    )
    assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
    # The unauthenticated upload URL of a direct upload, too.
    ticket = httpx.post(
        f"{server.served.base}/v1/uploads",
        json={"content_type": "image/jpeg", "bytes": 1000},
        headers=server.auth("calm"),
    ).json()
    direct = httpx.post(
        server.served.base + ticket["url"] if ticket["url"].startswith("/") else ticket["url"],
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
        timeout=30,
    )
    assert 400 <= direct.status_code < 500 and direct.headers["content-type"] == "application/problem+json"
    server.still_fine()


@pytest.mark.parametrize("length", [71, 300, 8_000])
def test_a_huge_boundary_is_refused(server: Server, length: int) -> None:
    boundary = "b" * length
    body = _parts(boundary, 1)
    head = _request_head(
        "/v1/images",
        server,
        "calm",
        content_type=f"multipart/form-data; boundary={boundary}",
        content_length=str(len(body)),
    )
    with server.served.connect() as sock:
        sock.sendall(head + body)
        assert assert_problem(read_answer(sock), 400, 413, 431) in ("invalid_request", "too_large", None)
    server.still_fine()


# --- many clients at once ------------------------------------------------------------------------------


def test_two_hundred_parallel_uploads(server: Server) -> None:
    data = make_jpeg(120, 80)

    def upload(n: int) -> httpx.Response:
        return httpx.post(
            f"{server.served.base}/v1/images",
            files={"file": (f"{n}.jpg", data, "image/jpeg")},
            headers=server.auth(f"bulk{n % 8}"),  # 25 a tenant: within the per-key burst
            timeout=120,
        )

    with ThreadPoolExecutor(200) as pool:
        answers = list(pool.map(upload, range(200)))
    statuses = [a.status_code for a in answers]
    refused = [a for a in answers if a.status_code != 201]
    for answer in refused:  # a busy server may refuse some, but only cleanly
        assert (
            answer.status_code in (429, 503) and answer.headers["content-type"] == "application/problem+json"
        )
    assert statuses.count(201) >= 100, statuses
    server.still_fine()


def test_one_tenant_flooding_is_throttled_and_the_others_are_served(server: Server) -> None:
    stop = threading.Event()
    flood_answers: list[int] = []
    problems: list[str] = []

    def flood() -> None:
        with httpx.Client(base_url=server.served.base, headers=server.auth("flood"), timeout=30) as client:
            while not stop.is_set():
                answer = client.get("/v1/images")
                flood_answers.append(answer.status_code)
                if answer.status_code != 200:
                    problems.append(answer.headers["content-type"] + " " + answer.json()["code"])

    threads = [threading.Thread(target=flood) for _ in range(16)]
    for thread in threads:
        thread.start()
    try:
        while len(flood_answers) < 200:
            time.sleep(0.05)
        calm = [
            httpx.get(f"{server.served.base}/v1/images", headers=server.auth("calm"), timeout=30).status_code
            for _ in range(30)
        ]
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert calm == [200] * 30
    assert 429 in flood_answers and set(flood_answers) <= {200, 429}
    assert set(problems) == {"application/problem+json rate_limited"}
    server.still_fine()


def test_guessing_keys_from_one_address_is_throttled_and_others_are_not(server: Server) -> None:
    guesser = {"X-Forwarded-For": "198.51.100.9"}  # uvicorn trusts it from 127.0.0.1: a local proxy's
    with httpx.Client(base_url=server.served.base, timeout=30) as client:
        statuses = [
            client.get("/v1/images", headers={**guesser, "Authorization": f"Bearer psk_{n:043d}"}).status_code
            for n in range(34)
        ]
        assert statuses[:30] == [401] * 30 and set(statuses[30:]) == {429}
        refused = client.get("/v1/images", headers={**guesser, **server.auth("calm")})
        assert refused.status_code == 429 and refused.headers["retry-after"]
        assert client.get("/v1/images", headers=server.auth("calm")).status_code == 200
    server.still_fine()
