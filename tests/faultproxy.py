"""A loopback HTTP reverse proxy that injects the faults an S3 client must survive.

Put it between a client and an S3 server, then queue faults::

    with FaultProxy(("127.0.0.1", 7480)) as proxy:
        proxy.add("503", method="PUT", times=2)     # SlowDown twice, then pass through
        store = make_s3_store(endpoint=proxy.url)

Faults, each consumed by one request that matches ``method`` and a ``match`` substring of the path:

``503``           answer ``503 SlowDown`` without contacting the backend
``reset_before``  cut the connection (TCP RST) before forwarding: the backend never sees the request
``reset_after``   forward, let the backend commit, then cut the connection: the client never hears
``truncate``      forward, promise the full ``Content-Length`` of a successful (2xx) answer, send half the
                  body, cut the connection; an error answer (a 404's XML) passes whole
``latency``       sleep ``seconds`` before forwarding

Besides the queue, :meth:`FaultProxy.sprinkle` gives a random fault to a fraction of the requests of one
client (picked by its ``User-Agent``): the whole S3 test tier runs that way under ``PICSTORE_S3_FAULTS``
(see tests/s3/conftest.py).

Every request is recorded in :attr:`FaultProxy.log` as ``(method, path, fault or "pass", status)``.
The proxy binds 127.0.0.1 only; the ``Host`` header is forwarded untouched so SigV4 signatures stay valid.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

SLOWDOWN_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
FAULTS = ("503", "reset_before", "reset_after", "truncate", "latency")
# Hop-by-hop headers are about one connection; the proxy makes its own framing decisions.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}


@dataclass
class Rule:
    """One queued fault: applies to the next ``times`` requests that match."""

    fault: str
    method: str | None
    match: str
    times: int
    seconds: float

    def matches(self, method: str, path: str) -> bool:
        return self.times != 0 and self.method in (None, method) and self.match in path


@dataclass
class Sprinkle:
    """Random faults: each request whose User-Agent contains ``agent`` gets one with probability ``rate``."""

    rate: float
    agent: str
    faults: tuple[str, ...]
    seconds: float
    rng: random.Random

    def draw(self, method: str, agent: str) -> Rule | None:
        if self.agent not in agent or self.rng.random() >= self.rate:
            return None
        # A truncated body needs a body: only GET answers have one.
        faults = [f for f in self.faults if f != "truncate" or method == "GET"]
        return Rule(self.rng.choice(faults), None, "", 1, self.rng.uniform(0, self.seconds))


class FaultProxy:
    """A threaded reverse proxy on 127.0.0.1 with a queue of faults (see the module docstring)."""

    def __init__(self, backend: tuple[str, int], port: int = 0) -> None:
        self.backend = backend
        self.rules: list[Rule] = []
        self.sprinkled: Sprinkle | None = None
        self.log: list[tuple[str, str, str, int | None]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self))
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, and tests start and stop many proxies.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="faultproxy", daemon=True
        )

    @property
    def url(self) -> str:
        """The proxy's base URL (``http://127.0.0.1:PORT``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(
        self, fault: str, *, method: str | None = None, match: str = "", times: int = 1, seconds: float = 2.0
    ) -> None:
        """Queue ``fault`` for the next ``times`` matching requests (``times=-1``: forever)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        with self._lock:
            self.rules.append(Rule(fault, method, match, times, seconds))

    def sprinkle(
        self,
        rate: float,
        *,
        agent: str = "",
        seed: int = 0,
        faults: tuple[str, ...] = FAULTS,
        seconds: float = 0.5,
    ) -> None:
        """After the queue: give each request from ``agent`` (a User-Agent substring) one of ``faults``
        with probability ``rate``, drawn from a generator seeded with ``seed``; latency up to ``seconds``."""
        if unknown := set(faults) - set(FAULTS):
            raise ValueError(f"unknown faults {sorted(unknown)}; each one of {FAULTS}")
        with self._lock:
            self.sprinkled = Sprinkle(rate, agent, faults, seconds, random.Random(seed))

    def clear(self) -> None:
        """Drop every queued fault and the request log."""
        with self._lock:
            self.rules.clear()
            self.log.clear()

    def requests(self, method: str | None = None) -> list[tuple[str, str, str, int | None]]:
        """The logged requests, optionally only those with ``method``."""
        with self._lock:
            return [entry for entry in self.log if method in (None, entry[0])]

    def _take(self, method: str, path: str, agent: str = "") -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    if rule.times > 0:
                        rule.times -= 1
                    return rule
            return self.sprinkled.draw(method, agent) if self.sprinkled else None

    def _record(self, method: str, path: str, fault: str, status: int | None) -> None:
        with self._lock:
            self.log.append((method, path.split("?", 1)[0], fault, status))

    def start(self) -> FaultProxy:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """Read the request body, whether framed by Content-Length or chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(handler.rfile.readline().split(b";", 1)[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _make_handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real S3 clients expect

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _reset(self) -> None:
            # SO_LINGER 0 makes close() send RST: the client sees "connection reset", not a clean EOF.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def _handle(self) -> None:
            body = _read_body(self)
            rule = proxy._take(self.command, self.path, self.headers.get("User-Agent", ""))
            fault = rule.fault if rule else "pass"
            if rule and rule.fault == "latency":
                time.sleep(rule.seconds)
            if fault == "503":
                proxy._record(self.command, self.path, fault, 503)
                self.send_response(503, "Slow Down")
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(SLOWDOWN_BODY)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(SLOWDOWN_BODY)
                return
            if fault == "reset_before":
                proxy._record(self.command, self.path, fault, None)
                self._reset()
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if body or self.command in ("PUT", "POST"):
                headers["Content-Length"] = str(len(body))
            conn = http.client.HTTPConnection(*proxy.backend, timeout=60)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status, reason, resp_headers = resp.status, resp.reason, resp.getheaders()
            finally:
                conn.close()
            if fault == "truncate" and not 200 <= status < 300:
                fault = "pass"
            proxy._record(self.command, self.path, fault, status)
            if fault == "reset_after":
                self._reset()
                return
            self.send_response(status, reason)
            length = None
            for name, value in resp_headers:
                if name.lower() == "content-length":
                    length = value
                elif name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            # HEAD answers carry the object's length without a body: keep the backend's value.
            self.send_header(
                "Content-Length", length if self.command == "HEAD" and length else str(len(data))
            )
            self.end_headers()
            if self.command == "HEAD":
                return
            if fault == "truncate":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self._reset()
                return
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler
