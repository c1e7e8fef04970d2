"""Nothing is lost under random S3 faults: ImageStore on RGW through the fault proxy, many operations.

Every request picstore's S3 client makes has a 15 % chance of a fault (503 SlowDown, a reset before or
after RGW commits, a truncated body, latency). Uploads run four at a time, some with the same bytes;
then reads, deletes and ``gc``. An operation may fail, but only with a clear storage error. Afterwards,
looking at RGW directly: ``verify`` is clean, every acknowledged upload that was not deleted reads back
with the bytes its hash promises, and once ``gc`` has run the bucket holds exactly the live images' blobs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest

from picstore import Image, ImageStore
from picstore.blobs.base import BlobStore
from picstore.blobs.s3 import RetryPolicy
from picstore.errors import StorageError
from picstore.ops.verify import verify
from picstore.settings import load_settings
from tests.faultproxy import FAULTS, FaultProxy
from tests.helpers import make_jpeg
from tests.s3.conftest import PICSTORE_AGENT, RGW, StoreFactory

pytestmark = pytest.mark.s3
RATE = 0.15
#: Retries fast enough for a test, as many as the default policy.
RETRY = RetryPolicy(max_retries=5, initial_backoff=0.02, max_backoff=0.2, retry_timeout=10, timeout=20)
T = TypeVar("T")


def _store(blobs: BlobStore, tmp_path: Path) -> ImageStore:
    settings = load_settings(variants={"thumb": "cover:32x32"}, variant_formats=("jpeg", "webp"))
    return ImageStore(blobs, f"sqlite:///{tmp_path / 'catalog.db'}", settings=settings)


def _attempt(failures: list[StorageError], call: Callable[[], T]) -> T | None:
    # Under faults an operation may fail, as long as it says so with a storage error (503/502).
    try:
        return call()
    except StorageError as exc:
        failures.append(exc)
        return None


def test_nothing_is_lost_under_random_faults(
    rgw: RGW, make_s3_store: StoreFactory, prefix: str, tmp_path: Path
) -> None:
    uploads = [make_jpeg(40 + i, 30, (i * 9 % 256, 80, 200)) for i in range(20)]
    uploads += uploads[:4]  # the same bytes again: the create-only writes meet existing objects
    failures: list[StorageError] = []
    seed = int.from_bytes(os.urandom(2), "big")
    with FaultProxy(rgw.address) as proxy:
        proxy.sprinkle(RATE, agent=PICSTORE_AGENT, seed=seed, seconds=0.2)
        for fault in ("503", "reset_before", "reset_after", "latency"):  # each once, whatever the dice
            proxy.add(fault, method="PUT", seconds=0.2)
        with _store(make_s3_store(prefix, endpoint=proxy.url, retry=RETRY), tmp_path) as store:
            store.create_tenant("acme")
            with ThreadPoolExecutor(4) as pool:
                done = list(
                    pool.map(lambda data: _attempt(failures, partial(store.put, data, "acme")), uploads)
                )
            acknowledged: list[Image] = [image for image in done if image is not None]
            proxy.add("truncate", method="GET", match="/img/")  # the next read of a master
            for image in acknowledged:
                data = _attempt(failures, partial(store.read, image.id))
                assert data is None or hashlib.sha256(data).hexdigest() == image.sha256  # never wrong bytes
            deleted = {image.id for image in acknowledged[::3]}
            for image_id in deleted:
                _attempt(failures, partial(store.delete, image_id))
            _attempt(failures, partial(store.gc, 0))
        given = {fault for _, _, fault, _ in proxy.requests()}
    assert given >= set(FAULTS), f"seed {seed}: not every fault was given ({given})"
    assert len(acknowledged) >= len(uploads) - 2, f"seed {seed}: {failures}"

    # What is really there, seen past the proxy.
    with _store(make_s3_store(prefix, endpoint=rgw.direct), tmp_path) as store:
        report = verify(store)
        assert report.ok, f"seed {seed}: missing {report.missing}, damaged {report.damaged}"
        live = {image.id: image for image in store.list("acme", limit=100).items}
        assert set(live) == {image.id for image in acknowledged} - deleted
        for image in live.values():
            assert hashlib.sha256(store.read(image.id)).hexdigest() == image.sha256
        store.gc(0)
        used = {key for image in live.values() for key in (image.key, *(v.key for v in image.variants))}
        assert {info.key for info in store.blobs.list()} == used
