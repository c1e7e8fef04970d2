"""``picstore serve``'s protocol guard on a real uvicorn: slow headers, silent clients, the connection cap."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from picstore.errors import ConfigError
from picstore.settings import load_settings
from picstore.web.app import create_app
from picstore.web.server import uvicorn_options
from tests.http_support import free_port, make_store


@contextmanager
def serving(tmp_path: Path, **settings: object) -> Iterator[int]:
    """``picstore serve``'s uvicorn configuration on a free loopback port; yields the port."""
    store = make_store(tmp_path, **settings)
    port = free_port()
    config = uvicorn.Config(
        create_app(store), host="127.0.0.1", port=port, log_level="warning", **uvicorn_options(store.settings)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes ``sock`` (EOF) within ``within`` seconds."""
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def _get(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        sock.settimeout(10)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def test_a_client_that_never_finishes_its_headers_is_cut_off(tmp_path: Path) -> None:
    with serving(tmp_path, header_timeout=0.5) as port:
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # and never the blank line
            assert _closed_by_server(slow, within=10)
        with socket.create_connection(("127.0.0.1", port)) as silent:
            assert _closed_by_server(silent, within=10)  # connected, sent nothing
        assert _get(port).startswith(b"HTTP/1.1 200")  # normal clients are unaffected


def test_headers_in_time_are_served_and_the_deadline_does_not_cut_a_long_response(tmp_path: Path) -> None:
    with serving(tmp_path, header_timeout=5) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        time.sleep(0.2)
        sock.sendall(b"\r\n")
        sock.settimeout(10)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_connections_beyond_the_cap_get_a_problem_json_503(tmp_path: Path) -> None:
    with serving(tmp_path, max_connections=2, header_timeout=30) as port:
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            time.sleep(0.2)  # both accepted by the server
            answer = _get(port)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503")
            assert b"content-type: application/problem+json" in head.lower()
            assert b"retry-after: 1" in head.lower()
            assert json.loads(body)["code"] == "server_busy"
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.2)
        assert _get(port).startswith(b"HTTP/1.1 200")  # room again once they are gone


def test_a_short_admin_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="admin_key"):
        load_settings(storage="memory://", database="sqlite://", admin_key="k")
    assert load_settings(storage="memory://", database="sqlite://", admin_key="k" * 16).admin_key
