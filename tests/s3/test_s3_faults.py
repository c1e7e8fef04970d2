"""S3Store under faults, injected by tests/faultproxy.py between the store and Ceph RGW."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from picstore.blobs.s3 import S3Store
from picstore.errors import AlreadyExists, NotFound, StorageError, StorageUnavailable
from tests.faultproxy import FaultProxy
from tests.s3.conftest import FAST_RETRY, RGW, StoreFactory

pytestmark = pytest.mark.s3
DATA = os.urandom(50 * 1024)


@pytest.fixture
def proxy(rgw: RGW) -> Iterator[FaultProxy]:
    with FaultProxy(rgw.address) as p:
        yield p


@pytest.fixture
def faulty(make_s3_store: StoreFactory, proxy: FaultProxy) -> S3Store:
    """The store, reached through the fault proxy."""
    return make_s3_store("faults", endpoint=proxy.url, retry=FAST_RETRY)


@pytest.fixture
def direct(make_s3_store: StoreFactory, rgw: RGW) -> S3Store:
    """The same bucket and prefix, reached directly: what is really stored."""
    return make_s3_store("faults", endpoint=rgw.direct)


def _puts(proxy: FaultProxy) -> list[tuple[str, int | None]]:
    return [(fault, status) for _, _, fault, status in proxy.requests("PUT")]


def test_slowdown_twice_then_success(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    proxy.add("503", method="PUT", times=2)
    info = faulty.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    assert info.size == len(DATA)
    assert _puts(proxy) == [("503", 503), ("503", 503), ("pass", 200)]
    assert direct.get(prefix + "a.jpg") == DATA


def test_slowdown_forever_fails_clearly_and_stores_nothing(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    proxy.add("503", method="PUT", times=-1)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="503") as caught:
        faulty.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    assert time.monotonic() - started < 10
    assert caught.value.http_status == 503 and caught.value.code == "storage_unavailable"
    assert "Debug source" not in str(caught.value)  # one readable line, not obstore's dump
    assert len(_puts(proxy)) == FAST_RETRY.max_retries + 1
    with pytest.raises(NotFound):
        direct.head(prefix + "a.jpg")
    assert list(direct.list(prefix)) == []


def test_reset_after_commit_is_one_object_no_error(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    # The server stores the object, the answer is lost: the retried create meets 412, finds the same
    # size and SHA-256, and reports success.
    proxy.add("reset_after", method="PUT")
    info = faulty.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    assert info.size == len(DATA)
    assert _puts(proxy) == [("reset_after", 200), ("pass", 412)]
    assert [i.key for i in direct.list(prefix)] == [prefix + "a.jpg"]
    assert direct.get(prefix + "a.jpg") == DATA


def test_reset_before_commit_is_retried(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    proxy.add("reset_before", method="PUT")
    faulty.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    assert _puts(proxy) == [("reset_before", None), ("pass", 200)]
    assert direct.get(prefix + "a.jpg") == DATA


def test_retried_create_meeting_other_bytes_is_already_exists(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    # A 412 on a retry counts as success only when the existing object is ours.
    direct.put(prefix + "a.jpg", b"someone else's bytes", content_type="image/jpeg")
    proxy.add("reset_before", method="PUT")
    with pytest.raises(AlreadyExists):
        faulty.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    assert _puts(proxy) == [("reset_before", None), ("pass", 412)]
    assert direct.get(prefix + "a.jpg") == b"someone else's bytes"


def test_resets_forever_fail_and_store_nothing(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    proxy.add("reset_before", method="PUT", times=-1)
    with pytest.raises(StorageUnavailable):
        faulty.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    assert len(_puts(proxy)) == FAST_RETRY.put_attempts
    assert list(direct.list(prefix)) == []


def test_truncated_body_once_is_resumed(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    direct.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    proxy.add("truncate", method="GET")
    assert faulty.get(prefix + "a.jpg") == DATA
    assert [fault for _, _, fault, _ in proxy.requests("GET")] == ["truncate", "pass"]


@pytest.mark.parametrize("verb", ["get", "open"])
def test_truncated_body_is_an_error_never_short_bytes(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str, verb: str
) -> None:
    direct.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    proxy.add("truncate", method="GET", times=-1)
    with pytest.raises(StorageError):
        if verb == "get":
            faulty.get(prefix + "a.jpg")
        else:
            with faulty.open(prefix + "a.jpg") as f:
                f.read()
    assert len(proxy.requests("GET")) >= 2  # it did try again before giving up


def test_slowdown_on_reads(faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str) -> None:
    direct.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    proxy.add("503", method="GET", times=2)
    assert faulty.get(prefix + "a.jpg") == DATA
    proxy.add("503", method="HEAD", times=-1)
    with pytest.raises(StorageUnavailable):
        faulty.head(prefix + "a.jpg")


def test_slow_answer_within_the_timeout(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    proxy.add("latency", method="PUT", seconds=0.5)
    faulty.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    assert direct.get(prefix + "a.jpg") == DATA


def test_timeout_is_retried_and_lands_once(
    make_s3_store: StoreFactory, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    # The first PUT stalls past the client's timeout, then reaches the server anyway: whichever attempt
    # commits, the put succeeds and there is one object.
    impatient = make_s3_store("faults", endpoint=proxy.url, retry=replace(FAST_RETRY, timeout=0.4))
    proxy.add("latency", method="PUT", seconds=1.0)
    impatient.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    time.sleep(1.0)  # let the stalled request finish at the server
    assert [i.key for i in direct.list(prefix)] == [prefix + "a.jpg"]
    assert direct.get(prefix + "a.jpg") == DATA
    assert len(_puts(proxy)) >= 2


@pytest.mark.parametrize("fault", ["reset_before", "reset_after"])
def test_delete_whose_connection_breaks_is_retried(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str, fault: str
) -> None:
    # obstore sends a delete as a bulk-delete POST and does not retry it itself when the connection
    # breaks; a delete is idempotent, so the store tries again.
    direct.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    proxy.add(fault, method="POST")
    faulty.delete(prefix + "a.jpg")
    assert [(f, status) for _, _, f, status in proxy.requests("POST")] == [
        (fault, None if fault == "reset_before" else 200),
        ("pass", 200),
    ]
    with pytest.raises(NotFound):
        direct.head(prefix + "a.jpg")


def test_delete_gives_up_clearly_when_resets_go_on(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    direct.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    proxy.add("reset_before", method="POST", times=-1)
    with pytest.raises(StorageUnavailable, match="did not answer to delete"):
        faulty.delete(prefix + "a.jpg")
    assert len(proxy.requests("POST")) == FAST_RETRY.put_attempts
    assert direct.get(prefix + "a.jpg") == DATA


def test_create_meeting_an_object_after_slowdowns_is_already_exists(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    # A 503 stores nothing, so a 412 after only 503s means the object was there before this put, even
    # with the same bytes: AlreadyExists, as without faults (found by the fault-proxy tier).
    direct.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    proxy.add("503", method="PUT", times=2)
    with pytest.raises(AlreadyExists):
        faulty.put(prefix + "a.jpg", DATA, content_type="image/jpeg")
    assert _puts(proxy) == [("503", 503), ("503", 503), ("pass", 412)]


def test_listing_cut_off_resumes_after_the_last_key(
    faulty: S3Store, direct: S3Store, proxy: FaultProxy, prefix: str
) -> None:
    keys = [f"{prefix}{i}.jpg" for i in range(5)]
    for key in keys:
        direct.put(key, DATA[:100], content_type="image/jpeg")
    proxy.add("truncate", method="GET", match="list-type")
    assert [info.key for info in faulty.list(prefix)] == keys
    assert [fault for _, _, fault, _ in proxy.requests("GET")] == ["truncate", "pass"]
