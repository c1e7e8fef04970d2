"""`picstore migrate` and `picstore verify`: every byte proven, resumable, idempotent, source untouched."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from picstore import ImageStore
from picstore.blobs.local import LocalStore
from picstore.errors import StorageMisconfigured, StorageUnavailable
from picstore.models import BlobInfo, BlobLocation
from picstore.ops.migrate import PROBE_KEY, migrate
from picstore.ops.verify import verify
from picstore.settings import load_settings
from tests.helpers import make_jpeg


def _fill(store: ImageStore, n: int) -> list[str]:
    store.create_tenant("acme")
    return [store.put(make_jpeg(16 + i % 7, 16 + i // 7, (i, 255 - i, 7)), "acme").id for i in range(n)]


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".tmp" not in p.parts
    }


@pytest.fixture
def two_dirs(tmp_path: Path, database_url: str) -> tuple[ImageStore, str, Path, Path]:
    src, dst = tmp_path / "old", tmp_path / "new"
    store = ImageStore.from_settings(load_settings(target_ttl=0, storage=src.as_uri(), database=database_url))
    return store, dst.as_uri(), src, dst


def test_migrate_copies_verifies_and_flips(two_dirs: tuple[ImageStore, str, Path, Path]) -> None:
    store, target, src, dst = two_dirs
    ids = _fill(store, 12)
    before = _tree(src)
    report = migrate(store, target, workers=4)
    assert report.ok and report.copied == report.total == len(before) and report.already_there == 0
    assert _tree(dst) == before  # every byte arrived
    assert _tree(src) == before  # the source is untouched
    assert {loc.store_url for loc in store.catalog.blobs.walk()} == {LocalStore.from_url(target).url}
    for image_id in ids:  # reads and URLs follow the catalog
        assert hashlib.sha256(store.read(image_id)).hexdigest() == store.get(image_id).sha256
    again = migrate(store, target)
    assert again.total == 0 and again.copied == 0
    assert verify(store).ok
    store.close()


class FlakyStore(LocalStore):
    """A target that fails every third write with a 503, like an overloaded S3 endpoint."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls = 0  # per store, so no test sees another's count

    def put(self, key: str, data: bytes, *, content_type: str, mode: str = "create") -> BlobInfo:  # type: ignore[override]
        if key == PROBE_KEY:  # the run's start-up check: a run it stopped would test nothing here
            return super().put(key, data, content_type=content_type, mode=mode)  # type: ignore[arg-type]
        self.calls += 1
        if self.calls % 3 == 0:
            raise StorageUnavailable("503 SlowDown")
        return super().put(key, data, content_type=content_type, mode=mode)  # type: ignore[arg-type]


def test_failed_blobs_stay_in_source_and_rerun_finishes(tmp_path: Path) -> None:
    store = ImageStore.from_settings(
        load_settings(
            target_ttl=0, storage=(tmp_path / "old").as_uri(), database=f"sqlite:///{tmp_path}/c.db"
        )
    )
    _fill(store, 9)
    old = store.blobs.url
    flaky = FlakyStore(tmp_path / "new")
    store._stores[flaky.url] = flaky  # the store opened for the target URL is the flaky one
    first = migrate(store, flaky.url, workers=1)
    assert first.failed and first.copied + len(first.failed) == first.total
    for key in first.failed:  # a failed blob is still served from where it was
        assert store.catalog.blobs.get(key).store_url == old
    assert verify(store).ok
    # Each rerun copies only what failed, and a third of those fail again: fewer every time, none
    # after a handful of runs (bounded, so a rerun that makes no progress fails the test).
    failed = len(first.failed)
    for _ in range(10):
        rest = migrate(store, flaky.url, workers=1)
        assert rest.total == failed
        assert len(rest.failed) < failed or rest.ok
        failed = len(rest.failed)
        if rest.ok:
            break
    assert rest.ok, f"{failed} blobs still failing after 10 reruns"
    assert {loc.store_url for loc in store.catalog.blobs.walk()} == {flaky.url}
    assert migrate(store, flaky.url).total == 0
    store.close()


def test_interrupted_copy_is_verified_not_recopied(two_dirs: tuple[ImageStore, str, Path, Path]) -> None:
    store, target, _src, _dst = two_dirs
    _fill(store, 3)
    loc = next(iter(store.catalog.blobs.walk()))
    # An earlier run wrote this blob to the target and was killed before it flipped the catalog.
    store.store_for(target).put(loc.key, store.blobs.get(loc.key), content_type=loc.content_type)
    report = migrate(store, target)
    assert report.ok and report.already_there == 1 and report.copied == report.total - 1
    store.close()


def test_damaged_source_is_not_migrated_and_verify_finds_it(tmp_path: Path) -> None:
    store = ImageStore.from_settings(
        load_settings(
            target_ttl=0, storage=(tmp_path / "old").as_uri(), database=f"sqlite:///{tmp_path}/c.db"
        )
    )
    _fill(store, 2)
    victim, missing = list(store.catalog.blobs.walk())[:2]
    path = store.blobs.path_for(victim.key)  # type: ignore[attr-defined]
    path.chmod(0o644)
    path.write_bytes(b"bitrot" + path.read_bytes()[6:])
    store.blobs.delete(missing.key)
    report = verify(store)
    assert report.damaged == [victim.key] and report.missing == [missing.key] and not report.ok
    quick = verify(store, full=False)
    assert quick.missing == [missing.key] and quick.damaged == []  # same size: only a full check sees it
    moved = migrate(store, (tmp_path / "new").as_uri())
    assert set(moved.failed) == {victim.key, missing.key}
    assert store.catalog.blobs.get(victim.key).store_url == LocalStore(tmp_path / "old").url
    store.close()


def test_sigkilled_migration_resumes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")}
    env.update(PICSTORE_STORAGE=(tmp_path / "old").as_uri(), PICSTORE_DATABASE=f"sqlite:///{tmp_path}/c.db")
    env.update(PICSTORE_TARGET_TTL="0")
    store = ImageStore.from_settings(
        load_settings(storage=env["PICSTORE_STORAGE"], database=env["PICSTORE_DATABASE"])
    )
    _fill(store, 40)
    store.close()
    target = (tmp_path / "new").as_uri()
    cmd = [sys.executable, "-m", "picstore", "migrate", "--to", target, "--workers", "1", "--json"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and len(_tree(tmp_path / "new")) < 20:
        time.sleep(0.02)  # kill it in the middle of copying
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    resumed = json.loads(done.stdout)
    assert resumed["failed"] == {}
    again = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout)["total"] == 0
    checked = subprocess.run(
        [sys.executable, "-m", "picstore", "verify", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout
    result = json.loads(checked.stdout)
    assert result["missing"] == [] and result["damaged"] == [] and result["checked"] >= 40
    # The kill came mid-copy: the resumed run found copies it proved instead of copying again.
    assert resumed["already_there"] > 0 or resumed["total"] < result["checked"]
    assert _tree(tmp_path / "new") == _tree(tmp_path / "old")


def test_dry_run_counts_and_changes_nothing(two_dirs: tuple[ImageStore, str, Path, Path]) -> None:
    store, target, src, dst = two_dirs
    _fill(store, 3)
    blobs = len(_tree(src))
    report = migrate(store, target, dry_run=True)
    assert report.ok and report.dry_run and report.total == blobs and report.copied == 0
    assert report.total_bytes == sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    assert report.previous_target == store.blobs.url != LocalStore.from_url(target).url
    assert _tree(dst) == {}  # the write probe is removed again
    store.close()


def test_migrate_and_verify_hold_a_bounded_number_of_rows(tmp_path: Path) -> None:
    store = ImageStore.from_settings(
        load_settings(
            target_ttl=0, storage=(tmp_path / "old").as_uri(), database=f"sqlite:///{tmp_path}/c.db"
        )
    )
    _fill(store, 12)
    page_size, workers = 7, 2
    fetched, done, held = [0], [0], [0]
    real_page = store.catalog.blobs.iter_blobs

    def counting_page(after_key: str | None, limit: int, **kw: str | None) -> list[BlobLocation]:
        assert limit == page_size
        page = real_page(after_key, limit, **kw)
        fetched[0] += len(page)
        held[0] = max(held[0], fetched[0] - done[0])
        return page

    def advance(_loc: BlobLocation) -> None:
        done[0] += 1

    store.catalog.blobs.iter_blobs = counting_page  # type: ignore[method-assign]
    total = store.catalog.blobs.totals()[0]
    assert total > 4 * page_size  # the walk really pages
    target = (tmp_path / "new").as_uri()
    report = migrate(store, target, workers=workers, page_size=page_size, progress=advance)
    assert report.ok and report.copied == total == done[0]
    assert 0 < held[0] <= page_size + 2 * workers
    fetched[0] = done[0] = held[0] = 0
    checked = verify(store, workers=workers, page_size=page_size, progress=advance)
    assert checked.ok and checked.checked == total and checked.old_stores_removable
    assert 0 < held[0] <= page_size + 2 * workers
    store.close()


class GoneStore(LocalStore):
    """A target whose bucket disappears after the first few writes: every later write is refused."""

    puts = 0

    def put(self, key: str, data: bytes, *, content_type: str, mode: str = "create") -> BlobInfo:  # type: ignore[override]
        GoneStore.puts += 1
        if GoneStore.puts > 4:
            raise StorageMisconfigured(f"{self.url}: the bucket does not exist")
        return super().put(key, data, content_type=content_type, mode=mode)  # type: ignore[arg-type]


def test_a_failure_every_blob_would_hit_stops_the_run(tmp_path: Path) -> None:
    store = ImageStore.from_settings(
        load_settings(
            target_ttl=0, storage=(tmp_path / "old").as_uri(), database=f"sqlite:///{tmp_path}/c.db"
        )
    )
    _fill(store, 10)
    gone = GoneStore(tmp_path / "new")
    store._stores[gone.url] = gone
    report = migrate(store, gone.url, workers=2)
    assert report.stopped and "bucket does not exist" in report.stopped and not report.ok
    # The probe and a few blobs went through; after the refusal at most the blobs already queued tried.
    assert report.copied == 3 and GoneStore.puts <= 5 + 2 * 2 < report.total
    store.close()


class GarblingStore(LocalStore):
    """A target that stores other bytes than it was given (a broken disk or proxy)."""

    def put(self, key: str, data: bytes, *, content_type: str, mode: str = "create") -> BlobInfo:  # type: ignore[override]
        return super().put(key, data[::-1], content_type=content_type, mode=mode)  # type: ignore[arg-type]


def test_a_copy_that_does_not_match_is_never_pointed_at(tmp_path: Path) -> None:
    store = ImageStore.from_settings(
        load_settings(
            target_ttl=0, storage=(tmp_path / "old").as_uri(), database=f"sqlite:///{tmp_path}/c.db"
        )
    )
    ids = _fill(store, 2)
    old = store.blobs.url
    garbling = GarblingStore(tmp_path / "new")
    store._stores[garbling.url] = garbling
    report = migrate(store, garbling.url)
    assert report.copied == 0 and len(report.failed) == report.total > 0
    assert all("does not match the catalog" in why for why in report.failed.values())
    assert {loc.store_url for loc in store.catalog.blobs.iter_blobs(None, 1000)} == {
        old
    }  # still served from old
    assert all(hashlib.sha256(store.read(i)).hexdigest() == store.get(i).sha256 for i in ids)
    store.close()
