"""Fair turns for API requests: when the node is busy, the next request to run is one of the key with the
fewest requests running, so one tenant's flood cannot queue the others behind it.

The per-key rate limit (web/throttle.py) bounds how much a key may ask for; it cannot bound what the
requests it lets through cost the others while they run. On a Python service the cost is the GIL: 32
flooding requests in the thread pool make a calm tenant's request take its turn behind all of them.
:class:`Turns` keeps at most ``slots`` requests running and hands out the rest in a fair order.

Invariants:

- At most ``slots`` gated requests run at once. A request runs from its admission until its response
  starts: a slow reader of the response holds no slot (the work is done by then).
- A request waits only when every slot is taken. A freed slot goes to the waiting key with the fewest
  requests running (first come, first served within a key): a key with one request waiting goes before
  the next of a key that already runs several. A key alone on the node gets every slot (nothing is idle
  while someone waits).
- Only requests without a body are gated (GET, HEAD, DELETE with ``Authorization: Bearer``). Uploads are
  not: their body is still arriving when the request starts, and ingest has its own fair admission
  (:mod:`picstore.admission`). Blob reads (``/b/``) carry no key and are not gated either.
- Waiting costs no thread and no CPU (a future on the event loop). A client that goes away while
  waiting gives its place up; a slot handed to it is passed on.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from picstore.web.throttle import bearer_credential

#: Methods whose requests are gated (no request body to wait for).
GATED_METHODS = frozenset({"GET", "HEAD", "DELETE"})


class Turns:
    """``slots`` running requests at most, handed out fairly between keys. Event-loop only (no locks)."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self.running: Counter[str] = Counter()
        self._total = 0
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}

    def waiting(self) -> int:
        """Requests waiting for a turn now (metrics, tests)."""
        return sum(len(queue) for queue in self._waiting.values())

    async def take(self, key: str) -> None:
        """Wait for a turn for ``key``; the caller must :meth:`give_back` it."""
        if self._total < self.slots and not self._waiting:
            self._start(key)
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give_back(key)  # handed a slot just as the client left: pass it on
            else:
                self._forget(key, turn)
            raise

    def give_back(self, key: str) -> None:
        """End ``key``'s turn and hand the slot to whoever is next."""
        self._total -= 1
        self.running[key] -= 1
        if self.running[key] <= 0:
            del self.running[key]
        self._hand_out()

    def _start(self, key: str) -> None:
        self._total += 1
        self.running[key] += 1

    def _hand_out(self) -> None:
        while self._total < self.slots and self._waiting:
            # Fewest running first; among equals, the key whose oldest waiter came first (dict order is
            # insertion order, and a key is re-inserted at the end each time it is served).
            key = min(self._waiting, key=lambda k: self.running[k])
            queue = self._waiting.pop(key)
            turn = queue.popleft()
            if queue:
                self._waiting[key] = queue
            if turn.done():  # cancelled while queued (its waiter is gone)
                continue
            self._start(key)
            turn.set_result(None)

    def _forget(self, key: str, turn: asyncio.Future[None]) -> None:
        queue = self._waiting.get(key)
        if queue is not None and turn in queue:
            queue.remove(turn)
            if not queue:
                del self._waiting[key]


class TurnGate:
    """ASGI middleware: each gated request (see the module docstring) runs in a turn of :class:`Turns`,
    keyed by its bearer credential (read as the throttle reads it)."""

    def __init__(self, app: ASGIApp, turns: Turns) -> None:
        self.app = app
        self.turns = turns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gated = scope["type"] == "http" and scope["method"] in GATED_METHODS
        key = bearer_credential(scope) if gated else None
        if key is None:
            await self.app(scope, receive, send)
            return
        await self.turns.take(key)
        held = True

        async def send_then_release(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                self.turns.give_back(key)
            await send(message)

        try:
            await self.app(scope, receive, send_then_release)
        finally:
            if held:
                self.turns.give_back(key)
