"""Admission to ingest: how many uploads are processed at once, and who goes first.

Ingest is CPU-bound, so running more uploads at once than there are cores only costs memory; the
gate holds the rest. A plain semaphore would let one tenant's heavy uploads (long animations, 50 MP
scans) fill every slot while a 1x1 JPEG waits minutes behind them. Two rules prevent that:

- **per-tenant share**: one tenant holds at most ``per_tenant`` of the ``slots`` at once, so the
  others always find room;
- **fast lane**: ``fast_slots`` more slots take only small uploads (planned work at most
  ``small_work`` pixels, see ``ingest.budget``), so a small picture never waits behind big ones.

A small upload takes a fast slot or, when those are busy, a regular one (within its tenant's share);
a big one only a regular slot. Waiting happens in the caller's thread; the gate never runs work.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import Counter
from collections.abc import Iterator

#: Planned work (pixels decoded plus encoded) up to which an upload may use the fast lane: a 12 MP
#: photo is about 30 MP of work, a 1600x1600 GIF of 10 frames about 210 MP.
SMALL_WORK = 50_000_000


class IngestGate:
    """Bounded, per-tenant-fair admission with a fast lane for small uploads. Thread-safe."""

    def __init__(
        self, slots: int = 0, *, per_tenant: int = 0, fast_slots: int = 0, small_work: int = SMALL_WORK
    ) -> None:
        cores = os.cpu_count() or 1
        self.slots = slots or 2 * cores
        self.per_tenant = min(self.slots, per_tenant or max(1, self.slots // 2))
        self.fast_slots = fast_slots or cores
        self.small_work = small_work
        self._lock = threading.Condition()
        self._regular = 0
        self._fast = 0
        self._waiting = 0
        self._by_tenant: Counter[str] = Counter()

    @contextlib.contextmanager
    def admit(self, tenant: str, work: int) -> Iterator[None]:
        """Wait for a slot for ``tenant``'s upload of ``work`` planned pixels; hold it in the block."""
        small = work <= self.small_work
        with self._lock:
            while True:
                if small and self._fast < self.fast_slots:
                    lane = "fast"
                    self._fast += 1
                    break
                if self._regular < self.slots and self._by_tenant[tenant] < self.per_tenant:
                    lane = "regular"
                    self._regular += 1
                    self._by_tenant[tenant] += 1
                    break
                self._waiting += 1
                self._lock.wait()
                self._waiting -= 1
        try:
            yield
        finally:
            with self._lock:
                if lane == "fast":
                    self._fast -= 1
                else:
                    self._regular -= 1
                    self._by_tenant[tenant] -= 1
                    if not self._by_tenant[tenant]:
                        del self._by_tenant[tenant]
                self._lock.notify_all()

    def in_use(self) -> dict[str, int]:
        """Slots held and uploads waiting now: ``{"regular", "fast", "waiting"}`` (metrics, tests)."""
        with self._lock:
            return {"regular": self._regular, "fast": self._fast, "waiting": self._waiting}
