"""Request bodies with a hard byte cap and time limits, for every route, below FastAPI.

``Content-Length`` above the cap is answered 413 before a byte of the body is read. Bodies without one
(chunked), or that send more than they announce, are counted as they arrive and stopped the moment the cap
is passed; the route never sees more. A body that stalls for ``idle_timeout`` seconds, or has not finished
after ``deadline`` seconds, is answered 408. Multipart uploads may be as large as an image may be (plus
room for the form); every other body is small JSON.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from picstore.errors import PicstoreError, TooLarge
from picstore.web.problems import BODY_ERROR_SCOPE_KEY, RequestTimeout, problem

#: Room for the form fields, part headers and boundaries around an upload's file.
FORM_OVERHEAD = 256 * 1024


@dataclass(frozen=True)
class BodyLimits:
    """How much and how slowly a client may send."""

    #: Largest file in an upload form.
    max_file_bytes: int
    #: Largest body that is not ``multipart/form-data``.
    max_json_bytes: int = 64 * 1024
    #: Seconds a body may stall.
    idle_timeout: float = 30.0
    #: Seconds a whole body may take.
    deadline: float = 600.0

    def cap_for(self, content_type: str) -> int:
        """The byte cap of a body of this content type."""
        if content_type.lower().startswith("multipart/form-data"):
            return self.max_file_bytes + FORM_OVERHEAD
        return self.max_json_bytes

    def limit_for(self, content_type: str) -> str:
        """The limit a body of this content type is held to, as a client should read it.

        It names the configured size, not the cap: the room for form fields is picstore's business.
        """
        if content_type.lower().startswith("multipart/form-data"):
            return f"an image may be at most {self.max_file_bytes:,} bytes (PICSTORE_MAX_BYTES)"
        return f"a JSON body may be at most {self.max_json_bytes:,} bytes"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class BodyGuard:
    """ASGI middleware enforcing :class:`BodyLimits` on every HTTP request body."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type") or ""
        cap = self.limits.cap_for(content_type)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > cap:
            limit = self.limits.limit_for(content_type)
            error = TooLarge(f"the request body is {int(declared):,} bytes; {limit}")
            await problem(error, scope.get("path"))(scope, receive, send)
            return
        guarded = _GuardedReceive(receive, scope, cap, self.limits, self.limits.limit_for(content_type))
        await self.app(scope, guarded, send)


class _GuardedReceive:
    """Wraps ``receive``: counts body bytes and applies the time limits until the body is complete."""

    def __init__(self, receive: Receive, scope: Scope, cap: int, limits: BodyLimits, limit: str) -> None:
        self._receive = receive
        self._scope = scope
        self._cap = cap
        self._limit = limit
        self._limits = limits
        self._received = 0
        self._done = False
        self._deadline = time.monotonic() + limits.deadline

    def _fail(self, error: PicstoreError) -> PicstoreError:
        # FastAPI reports any failure while it reads a JSON body as a generic 400; the problem handlers
        # look here for the real reason.
        self._scope[BODY_ERROR_SCOPE_KEY] = error
        return error

    async def __call__(self) -> Message:
        if self._done:
            # After the body only a disconnect can arrive; waiting for it must not time out.
            return await self._receive()
        remaining = self._deadline - time.monotonic()
        try:
            async with asyncio.timeout(max(0.0, min(self._limits.idle_timeout, remaining))):
                message = await self._receive()
        except TimeoutError:
            stalled = remaining > self._limits.idle_timeout
            why = f"stalled for {self._limits.idle_timeout:g} s" if stalled else "took too long"
            raise self._fail(RequestTimeout(f"the request body {why}; send it faster")) from None
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._cap:
                raise self._fail(TooLarge(f"the request body is too large: {self._limit}"))
            if not message.get("more_body", False):
                self._done = True
        else:
            self._done = True
        return message
