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
from picstore.errors import StorageUnavailable
from picstore.models import BlobInfo
from picstore.ops.migrate import migrate
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
    store = ImageStore.from_settings(load_settings(storage=src.as_uri(), database=database_url))
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
        self.calls += 1
        if self.calls % 3 == 0:
            raise StorageUnavailable("503 SlowDown")
        return super().put(key, data, content_type=content_type, mode=mode)  # type: ignore[arg-type]


def test_failed_blobs_stay_in_source_and_rerun_finishes(tmp_path: Path) -> None:
    store = ImageStore.from_settings(
        load_settings(storage=(tmp_path / "old").as_uri(), database=f"sqlite:///{tmp_path}/c.db")
    )
    _fill(store, 9)
    flaky = FlakyStore(tmp_path / "new")
    store._stores[flaky.url] = flaky  # the store opened for the target URL is the flaky one
    first = migrate(store, flaky.url, workers=1)
    assert first.failed and first.copied + len(first.failed) == first.total
    for key in first.failed:  # a failed blob is still served from where it was
        assert store.catalog.blobs.get(key).store_url == store.blobs.url
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
        load_settings(storage=(tmp_path / "old").as_uri(), database=f"sqlite:///{tmp_path}/c.db")
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
    assert store.catalog.blobs.get(victim.key).store_url == store.blobs.url
    store.close()


def test_sigkilled_migration_resumes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICSTORE_")}
    env.update(PICSTORE_STORAGE=(tmp_path / "old").as_uri(), PICSTORE_DATABASE=f"sqlite:///{tmp_path}/c.db")
    store = ImageStore.from_settings(
        load_settings(storage=env["PICSTORE_STORAGE"], database=env["PICSTORE_DATABASE"])
    )
    _fill(store, 150)
    store.close()
    target = (tmp_path / "new").as_uri()
    cmd = [sys.executable, "-m", "picstore", "migrate", "--to", target, "--workers", "1", "--json"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time.sleep(1.5)  # wherever it is now: starting, copying or done
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["failed"] == {}
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
    assert result["missing"] == [] and result["damaged"] == [] and result["checked"] >= 150
    assert _tree(tmp_path / "new") == _tree(tmp_path / "old")
