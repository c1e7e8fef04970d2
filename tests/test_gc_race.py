"""gc cannot race uploads: no grace period, however small, deletes a blob an upload in flight or a
committed image needs (see picstore/catalog/reservations.py for the invariants these tests hold to)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from picstore import ImageStore, errors
from picstore.catalog import Catalog
from picstore.catalog.clock import now_us
from picstore.catalog.reservations import Reservation
from picstore.catalog.tables import blobs
from picstore.models import BlobLocation, Image
from picstore.ops.verify import verify
from picstore.settings import load_settings
from tests.catalog_support import migrated_catalog
from tests.helpers import make_jpeg

FUTURE = 2**62  # a gc cutoff later than every orphan mark: grace "minus forever"


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    with migrated_catalog(database_url, "acme") as catalog:
        yield catalog


def _loc(n: int) -> BlobLocation:
    return BlobLocation(f"img/{n:02d}/{n:064d}.jpg", "memory://race", 10, f"{n:064d}", "image/jpeg")


def _image(loc: BlobLocation, image_id: str) -> Image:
    from datetime import UTC, datetime

    return Image(
        id=image_id,
        tenant="acme",
        format="jpeg",
        width=1,
        height=1,
        bytes=loc.size,
        sha256=loc.sha256,
        created_at=datetime.now(UTC),
        key=loc.key,
    )


def _collect(catalog: Catalog) -> list[str]:
    return [loc.key for loc in catalog.blobs.collect_orphans(FUTURE, lambda gone: None)]


def test_a_reservation_holds_its_rows_against_any_grace(catalog: Catalog) -> None:
    held = catalog.blobs.reserve([_loc(1), _loc(2)])
    assert _collect(catalog) == []  # new rows are orphans, yet no gc takes them while held
    catalog.blobs.release(held)
    assert sorted(_collect(catalog)) == [_loc(1).key, _loc(2).key]


def test_the_first_of_two_uploads_of_one_blob_does_not_release_the_second(catalog: Catalog) -> None:
    first = catalog.blobs.reserve([_loc(1)])
    second = catalog.blobs.reserve([_loc(1)])
    catalog.images.add(_image(_loc(1), "img1"), "t1", first, None)
    catalog.images.delete("img1")  # the blob is an orphan again, but the second upload still holds it
    assert _collect(catalog) == []
    catalog.images.add(_image(_loc(1), "img2"), "t1", second, None)
    assert _collect(catalog) == []
    assert catalog.blobs.get(_loc(1).key, live=True).key == _loc(1).key


def test_a_used_blob_reserved_by_an_upload_survives_its_image_being_deleted(catalog: Catalog) -> None:
    catalog.images.add(_image(_loc(3), "old"), "t1", catalog.blobs.reserve([_loc(3)]), None)
    again = catalog.blobs.reserve([_loc(3)])  # an upload of the same bytes finds them stored already
    assert catalog.images.delete("old") == [_loc(3).key]
    assert _collect(catalog) == []  # the upload is still writing: its blob must stay
    catalog.images.add(_image(_loc(3), "new"), "t1", again, None)
    assert _collect(catalog) == [] and catalog.images.get("new").key == _loc(3).key


def test_a_crashed_upload_leaves_rows_gc_takes_once_the_lease_runs_out(catalog: Catalog) -> None:
    catalog.blobs.reserve([_loc(4)])  # ... and the process dies: nothing gives the reservation back
    assert _collect(catalog) == []
    with catalog.engine.begin() as conn:
        conn.execute(update(blobs).values(reserved_until_us=now_us() - 1))  # an hour later
    assert _collect(catalog) == [_loc(4).key]


def test_an_upload_that_outlived_its_lease_is_refused_and_records_nothing(catalog: Catalog) -> None:
    held = catalog.blobs.reserve([_loc(5)])
    late = Reservation(held.keys, now_us())
    with pytest.raises(errors.Conflict) as err:
        catalog.images.add(_image(_loc(5), "late"), "t1", late, None)
    assert "send it again" in str(err.value)
    assert catalog.images.count() == 0
    # The lease ran out and gc took the row: the commit must not recreate it over missing bytes.
    catalog.blobs.release(held)
    assert _collect(catalog) == [_loc(5).key]
    with pytest.raises(errors.Conflict):
        catalog.images.add(_image(_loc(5), "late"), "t1", held, None)
    assert catalog.images.count() == 0


# --- real uploads against a gc looping at grace 0 --------------------------------------------------


def _pictures() -> list[bytes]:
    # Few distinct pictures, uploaded many times: uploads share blobs with each other and with the
    # images being deleted, which is where gc and uploads meet.
    return [make_jpeg(48 + i, 40, (20 * i, 90, 160)) for i in range(4)]


def _upload_and_delete(store: ImageStore, rounds: int, workers: int = 4) -> list[Image]:
    """Upload ``rounds`` pictures from each of ``workers`` threads, deleting every other image."""
    pictures = _pictures()
    kept: list[Image] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work(w: int) -> None:
        try:
            for r in range(rounds):
                # Even rounds keep a shared picture; odd ones delete a shared picture or one of their own.
                picture = make_jpeg(30 + w, 30 + r) if r % 4 == 1 else pictures[(w + r) % len(pictures)]
                image = store.put(picture, "acme")
                if r % 2:
                    store.delete(image.id)
                else:
                    with lock:
                        kept.append(image)
        except BaseException as exc:  # reported below, with the thread's traceback
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return kept


def _assert_every_image_whole(store: ImageStore, images: list[Image]) -> None:
    report = verify(store)
    assert report.ok, (report.missing, report.damaged)  # every row, orphans too, has its bytes
    for image in images:
        assert hashlib.sha256(store.read(image.id)).hexdigest() == image.sha256
        for v in image.variants:
            assert hashlib.sha256(store.read(image.id, v.name, v.format)).hexdigest() == v.sha256
    store.gc(grace_seconds=0)
    assert verify(store).ok
    assert {b.key for b in store.blobs.list()} == {
        k for i in images for k in (i.key, *(v.key for v in i.variants))
    }


@pytest.fixture
def any_store(database_url: str, tmp_path: Path) -> Iterator[ImageStore]:
    settings = load_settings(storage=(tmp_path / "blobs").as_uri(), database=database_url)
    with ImageStore.from_settings(settings) as s:
        s.create_tenant("acme")
        yield s


def test_uploads_survive_gc_looping_at_grace_zero(any_store: ImageStore) -> None:
    stop = threading.Event()
    collected: list[str] = []

    def gc_loop() -> None:
        while not stop.is_set():
            collected.extend(any_store.gc(grace_seconds=0, batch=3))

    gc_thread = threading.Thread(target=gc_loop)
    gc_thread.start()
    try:
        kept = _upload_and_delete(any_store, rounds=6)
    finally:
        stop.set()
        gc_thread.join()
    assert collected  # gc did run between the uploads, and took the deleted images' blobs
    _assert_every_image_whole(any_store, kept)


GC_PROCESS = """
import sys, pathlib
from picstore import ImageStore
from picstore.settings import load_settings
storage, database, ready, stop = sys.argv[1:]
runs = 0
with ImageStore.from_settings(load_settings(storage=storage, database=database)) as store:
    store.gc(grace_seconds=0, batch=3)
    pathlib.Path(ready).touch()
    while not pathlib.Path(stop).exists():
        store.gc(grace_seconds=0, batch=3)
        runs += 1
print(runs)
"""


def test_uploads_survive_gc_looping_at_grace_zero_in_another_process(
    any_store: ImageStore, tmp_path: Path
) -> None:
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    gc_process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            GC_PROCESS,
            any_store.blobs.url,
            str(any_store.engine.url.render_as_string(hide_password=False)),
            str(ready),
            str(stop),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and gc_process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the gc process did not start"
        kept = _upload_and_delete(any_store, rounds=6)
    finally:
        stop.touch()
        out, err = gc_process.communicate(timeout=120)
    assert gc_process.returncode == 0, err
    assert int(out) > 1  # the other process's gc ran throughout
    _assert_every_image_whole(any_store, kept)
