"""How ``picstore serve`` runs uvicorn: the HTTP protocol guarded against slow and greedy clients.

uvicorn bounds an idle keep-alive connection but not a client that connects and never finishes its
request headers (slowloris) or sends nothing at all, and its connection cap answers in plain text.
:class:`GuardedHttpProtocol` (uvicorn's httptools protocol with two additions) closes that gap:

- a connection must deliver complete request headers within ``header_timeout`` seconds of opening,
  and of starting each further request on it; otherwise it is closed;
- beyond ``max_connections`` open connections, a new one is answered ``503`` problem+json
  (``server_busy``, with ``Retry-After``) and closed before anything is parsed.

Slow and endless bodies are bounded by the application itself (``web/limits.py``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from picstore.settings import Settings


def _busy_response() -> bytes:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "code": "server_busy",
            "detail": "the server has too many open connections; retry in a second",
        }
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


BUSY = _busy_response()


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a connection cap (class attributes)."""

    header_timeout: float = 10.0
    max_connections: int = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._busy = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._busy = len(self.connections) > self.max_connections
        if self._busy:
            # Answer and half-close, then drop whatever the client sends: closing at once with its
            # request unread would reset the connection and lose the answer on the way.
            transport.write(BUSY)
            if transport.can_write_eof():
                transport.write_eof()
            self.loop.call_later(2.0, transport.close)
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if not self._busy:
            super().data_received(data)

    def eof_received(self) -> None:
        if self._busy:
            self.transport.close()
            return
        super().eof_received()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm()  # a further request on a kept-alive connection gets its own deadline

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(settings: Settings) -> type[GuardedHttpProtocol]:
    """The protocol class with ``settings``' header timeout and connection cap."""
    return type(
        "PicstoreHttpProtocol",
        (GuardedHttpProtocol,),
        {"header_timeout": settings.header_timeout, "max_connections": settings.max_connections},
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn settings ``picstore serve`` runs with (also used by the tests' real servers)."""
    return {
        "http": guarded_protocol(settings),
        "timeout_keep_alive": settings.idle_timeout,
        # A log line per request costs a quarter of a cached blob GET's time; the proxy in front logs
        # requests and /metrics counts them. Errors are still logged.
        "access_log": False,
        "server_header": False,
        # Behind a proxy on the same machine (nginx), trust its X-Forwarded-* only.
        "forwarded_allow_ips": "127.0.0.1",
        "timeout_graceful_shutdown": 10,
    }
