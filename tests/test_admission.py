"""The ingest gate: bounded, fair between tenants, with a fast lane that small uploads never wait behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from picstore.admission import IngestGate

BIG, SMALL = 10**9, 1000


class _Holder:
    """Admits one upload in a thread and keeps its slot until released."""

    def __init__(self, gate: IngestGate, tenant: str, work: int) -> None:
        self.entered = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(gate, tenant, work), daemon=True)
        self._thread.start()

    def _run(self, gate: IngestGate, tenant: str, work: int) -> None:
        with gate.admit(tenant, work):
            self.entered.set()
            self._release.wait(30)

    def release(self) -> None:
        self._release.set()
        self._thread.join(30)


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition never came true"
        time.sleep(0.005)


@pytest.fixture
def holders() -> Iterator[list[_Holder]]:
    made: list[_Holder] = []
    yield made
    for h in made:
        h.release()


def _hold(holders: list[_Holder], gate: IngestGate, tenant: str, work: int) -> _Holder:
    holder = _Holder(gate, tenant, work)
    holders.append(holder)
    return holder


def test_one_tenant_cannot_take_every_slot(holders: list[_Holder]) -> None:
    gate = IngestGate(2, per_tenant=1, fast_slots=1)
    first = _hold(holders, gate, "flood", BIG)
    assert first.entered.wait(10)
    second = _hold(holders, gate, "flood", BIG)
    _until(lambda: gate.in_use()["waiting"] == 1)
    assert not second.entered.is_set()  # its tenant's share is used up although a slot is free
    other = _hold(holders, gate, "quiet", BIG)
    assert other.entered.wait(10)  # another tenant gets the free slot at once
    first.release()
    assert second.entered.wait(10)


def test_small_uploads_take_the_fast_lane_when_every_slot_is_busy(holders: list[_Holder]) -> None:
    gate = IngestGate(2, per_tenant=2, fast_slots=1)
    bigs = [_hold(holders, gate, "a", BIG) for _ in range(2)]
    assert all(b.entered.wait(10) for b in bigs)
    small = _hold(holders, gate, "a", SMALL)
    assert small.entered.wait(10)
    assert gate.in_use() == {"regular": 2, "fast": 1, "waiting": 0}
    big = _hold(holders, gate, "b", BIG)  # a big upload never uses the fast lane
    _until(lambda: gate.in_use()["waiting"] == 1)
    assert not big.entered.is_set()
    bigs[0].release()
    assert big.entered.wait(10)


def test_small_uploads_use_regular_slots_when_the_fast_lane_is_full(holders: list[_Holder]) -> None:
    gate = IngestGate(2, per_tenant=2, fast_slots=1)
    smalls = [_hold(holders, gate, "a", SMALL) for _ in range(3)]
    assert all(s.entered.wait(10) for s in smalls)
    assert gate.in_use() == {"regular": 2, "fast": 1, "waiting": 0}


def test_slots_are_returned_when_the_work_fails() -> None:
    gate = IngestGate(1, per_tenant=1, fast_slots=1)
    for work in (BIG, SMALL):
        with pytest.raises(RuntimeError), gate.admit("a", work):
            raise RuntimeError("ingest refused")
    assert gate.in_use() == {"regular": 0, "fast": 0, "waiting": 0}
    with ExitStack() as stack:
        stack.enter_context(gate.admit("a", BIG))
        stack.enter_context(gate.admit("a", SMALL))
        assert gate.in_use() == {"regular": 1, "fast": 1, "waiting": 0}


def test_defaults_follow_the_cores() -> None:
    gate = IngestGate()
    assert gate.slots >= 2 and gate.per_tenant == max(1, gate.slots // 2) and gate.fast_slots >= 1
    assert IngestGate(4, per_tenant=9).per_tenant == 4


def test_image_store_admits_each_upload_with_its_planned_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from picstore import ImageStore
    from picstore.ingest.budget import estimate
    from picstore.settings import load_settings
    from tests.helpers import make_jpeg

    settings = load_settings(
        storage="memory://", database="sqlite://", ingest_slots=3, ingest_slots_per_tenant=1
    )
    with ImageStore(settings=settings) as store:
        assert (store.ingest_gate.slots, store.ingest_gate.per_tenant) == (3, 1)
        store.create_tenant("acme")
        admitted: list[tuple[str, int]] = []
        real_admit = store.ingest_gate.admit

        def recording_admit(tenant: str, work: int) -> object:
            admitted.append((tenant, work))
            return real_admit(tenant, work)

        monkeypatch.setattr(store.ingest_gate, "admit", recording_admit)
        data = make_jpeg(800, 600)
        store.put(data, "acme")
        assert admitted == [("acme", estimate(data, store.ingest_options))]
        assert admitted[0][1] > 800 * 600 * 2  # decoded plus the master plus the variants
        assert store.ingest_gate.in_use() == {"regular": 0, "fast": 0, "waiting": 0}
