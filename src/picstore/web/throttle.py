"""Throttles of the HTTP service: failed authentication per client address, and requests per API key.

Both are token buckets kept in this process's memory, so each ``picstore serve`` node counts on its own
(behind a load balancer of n nodes a client gets up to n times the limit). Invariants:

- An address that has failed authentication ``auth_failure_limit`` times in a burst is refused with 429
  ``too_many_auth_failures`` (and ``Retry-After``) until its bucket refills at ``auth_failure_limit`` per
  ``auth_failure_window`` seconds. While refused, a right key is refused too: otherwise the difference
  between 429 and 200 would go on answering the guesses. A request without credentials is not a failure.
- A key (API key or upload token, valid or not) may make ``key_rate_burst`` requests at once and
  ``key_rate_limit`` a second after that; beyond, 429 ``rate_limited`` with ``Retry-After``. Both are
  checked by :class:`ThrottleGate` before routing, on the event loop: a refused request costs no thread
  hop and no catalog query. The routes count failures (:meth:`Throttle.failed`).
- A refusal by :class:`ThrottleGate` is held ``refusal_hold`` seconds before it is sent (a sleep on the
  event loop: no thread, no CPU), so a flooding client gets at most one answer a second per connection;
  at most ``max_held`` refusals are held at once (half the connection cap), the others are sent at
  once with ``Connection: close``. Only the refused client waits: nothing else is queued behind it.
- Memory is bounded: at most ``MAX_TRACKED`` addresses and keys each; the least recently seen are
  forgotten first (a forgotten bucket starts full again, which only ever loosens a limit).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from picstore.errors import RateLimited, TooManyAuthFailures
from picstore.settings import Settings
from picstore.web.problems import problem

#: Most addresses, and most keys, one process keeps a bucket for.
MAX_TRACKED = 100_000


class Buckets:
    """Token buckets by name: ``capacity`` tokens each, refilled at ``per_second``; thread-safe."""

    def __init__(
        self,
        capacity: float,
        per_second: float,
        *,
        max_tracked: int = MAX_TRACKED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.max_tracked = max_tracked
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # name -> (tokens, when)
        self._lock = threading.Lock()

    def _level(self, name: str, now: float) -> float:
        tokens, when = self._buckets.get(name, (self.capacity, now))
        return min(self.capacity, tokens + (now - when) * self.per_second)

    def wait(self, name: str) -> float:
        """Seconds until ``name`` has a token (0: it has one now). Takes nothing."""
        with self._lock:
            level = self._level(name, self._clock())
        return 0.0 if level >= 1 else (1 - level) / self.per_second

    def take(self, name: str) -> float:
        """Take a token of ``name``: 0 when there was one, else the seconds until there will be (nothing
        taken)."""
        with self._lock:
            now = self._clock()
            level = self._level(name, now)
            if level < 1:
                return (1 - level) / self.per_second
            self._buckets[name] = (level - 1, now)
            self._buckets.move_to_end(name)
            while len(self._buckets) > self.max_tracked:
                self._buckets.popitem(last=False)
            return 0.0


class Throttle:
    """The service's two throttles, as :func:`from_settings` configures them (``None``: that one is off)."""

    def __init__(
        self,
        failures: Buckets | None,
        requests: Buckets | None,
        *,
        hold: float = 0.0,
        max_held: int = 0,
    ) -> None:
        self.failures = failures
        self.requests = requests
        #: Seconds :class:`ThrottleGate` holds a refusal before sending it, for at most ``max_held``
        #: refusals at once.
        self.hold = hold
        self.max_held = max_held

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        failures = None
        if settings.auth_failure_limit:
            rate = settings.auth_failure_limit / settings.auth_failure_window
            failures = Buckets(settings.auth_failure_limit, rate)
        requests = None
        if settings.key_rate_limit:
            requests = Buckets(settings.key_rate_burst, settings.key_rate_limit)
        return cls(failures, requests, hold=settings.refusal_hold, max_held=settings.max_connections // 2)

    def admit(self, address: str, credential: str) -> None:
        """Let a request carrying ``credential`` from ``address`` be authenticated, or raise a 429 error."""
        self.check_address(address)
        if self.requests is not None:
            wait = self.requests.take(hashlib.sha256(credential.encode()).hexdigest()[:32])
            if wait:
                raise RateLimited(
                    f"this key sent more than {self.requests.per_second:g} requests a second; "
                    f"retry in {math.ceil(wait)} s",
                    retry_after=wait,
                )

    def check_address(self, address: str) -> None:
        """Raise :class:`TooManyAuthFailures` while ``address`` may not try to authenticate."""
        if self.failures is None:
            return
        wait = self.failures.wait(address)
        if wait:
            raise TooManyAuthFailures(
                f"too many failed authentications from {address}; retry in {math.ceil(wait)} s",
                retry_after=wait,
            )

    def failed(self, address: str) -> None:
        """Count a failed authentication (a wrong key, token or password) from ``address``."""
        if self.failures is not None:
            self.failures.take(address)


#: Longest credential worth a bucket: API keys are 47 characters, upload tokens about as long.
_MAX_CREDENTIAL = 256


def bearer_credential(scope: Scope) -> str | None:
    """The credential of the request's ``Authorization: Bearer`` header, or None (no such header, another
    scheme, empty, or too long to be a key). Read from the ASGI scope, before routing."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, rest = bytes(value).decode("latin-1").strip().partition(" ")
            credential = rest.strip()
            if scheme.lower() == "bearer" and 0 < len(credential) <= _MAX_CREDENTIAL:
                return credential
    return None


class ThrottleGate:
    """ASGI middleware: every request carrying ``Authorization: Bearer`` passes :meth:`Throttle.admit`
    before routing; a refusal (429 problem+json with ``Retry-After``) is held ``Throttle.hold`` seconds,
    then sent."""

    def __init__(self, app: ASGIApp, throttle: Throttle) -> None:
        self.app = app
        self.throttle = throttle
        #: Refusals being held now (only the event loop's thread touches it).
        self.held = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            credential = bearer_credential(scope)
            if credential is not None:
                client = scope.get("client")
                try:
                    self.throttle.admit(client[0] if client else "unknown", credential)
                except RateLimited as exc:
                    await self._refuse(exc, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _refuse(self, error: RateLimited, scope: Scope, receive: Receive, send: Send) -> None:
        hold = self.throttle.hold
        if hold and self.held < self.throttle.max_held:
            self.held += 1
            try:
                await asyncio.sleep(hold)
            finally:
                self.held -= 1
            # Retry-After counts from the answer: the time held is already served.
            error.retry_after = max(0.0, error.retry_after - hold)
            response = problem(error, scope.get("path"))
        else:
            response = problem(error, scope.get("path"))
            if hold:
                # Too many held already: answer now, and make the client pay for a new connection.
                response.headers["Connection"] = "close"
        await response(scope, receive, send)
