"""Disk full on the file store: a real, small tmpfs under the blob directory, filled up.

What must hold (issue 9, DESIGN.md invariants): an upload that meets a full disk is refused with
507 ``storage_full`` and advice; nothing is half-written (no partial file at a blob path, no temp file
left, no image row, no live blob row without its bytes); what the failed upload did write is an orphan
that ``gc`` removes; and once space is freed the same process stores uploads again (no restart). Covers
:meth:`ImageStore.put`, ``POST /v1/images`` and both disk writes of a direct upload (receiving the file,
``complete``).

Mounting needs root: elsewhere these tests skip, except under ``CI`` where they fail.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from picstore import ImageStore
from picstore.errors import StorageFull
from picstore.ops.verify import verify
from tests.http_support import api_for, make_image_store

IN_CI = bool(os.environ.get("CI"))
PAGE = 4096  # tmpfs hands out space in pages


class Disk:
    """A mounted tmpfs: ``fill(leave)`` takes all but ``leave`` bytes of it; ``free()`` gives them back."""

    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.filler = mount / "filler"

    def available(self) -> int:
        st = os.statvfs(self.mount)
        return st.f_bavail * st.f_frsize

    def fill(self, leave: int = 0) -> None:
        chunk = b"\0" * PAGE
        with self.filler.open("ab") as f:
            while self.available() > leave:
                try:
                    f.write(chunk)
                    f.flush()
                except OSError:
                    break
        assert self.available() <= leave

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        if IN_CI:
            pytest.fail("the disk-full tests must run under CI: run them as root (they mount a tmpfs)")
        pytest.skip("mounting a small tmpfs needs root")
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "picstore-test-disk", str(mount)], check=True
    )
    try:
        yield Disk(mount)
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def noisy_jpeg(width: int = 480, height: int = 360) -> bytes:
    """A JPEG of random pixels: its master and variants stay large, whatever the encoder does."""
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _files(root: Path) -> set[str]:
    """Every file under ``root`` (the temp directory included), as relative paths."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _assert_nothing_half_written(store: ImageStore, root: Path) -> None:
    assert store.catalog.images.count() == 0
    files = _files(root)
    assert not [f for f in files if f.startswith(".tmp/")], "a temp file was left behind"
    rows = {loc.key: loc for loc in store.catalog.blobs_in()}
    assert files <= set(rows), "bytes gc cannot see"
    for key in files:  # whatever was published is whole
        assert (root / key).stat().st_size == rows[key].size
    report = verify(store)
    assert report.ok, f"missing {report.missing}, damaged {report.damaged}"
    assert set(report.pending) == set(rows) - files


@pytest.mark.parametrize("room", ["none", "master only"])
def test_put_on_a_full_disk_stores_nothing_and_recovers(disk: Disk, tmp_path: Path, room: str) -> None:
    data = noisy_jpeg()
    with ImageStore("memory://", "sqlite://") as sizer:
        sizes = sizer.put(data, sizer.create_tenant("acme")[0])
    root = disk.mount / "blobs"
    with make_image_store(tmp_path, storage=root.as_uri()) as store:
        store.create_tenant("acme")
        # "master only": room for the master's pages and one more, far less than its variants need.
        disk.fill(0 if room == "none" else -(-sizes.bytes // PAGE) * PAGE + PAGE)
        with pytest.raises(StorageFull) as caught:
            store.put(data, "acme")
        assert (caught.value.code, caught.value.http_status) == ("storage_full", 507)
        assert "disk full" in caught.value.message and "try again later" in caught.value.message
        assert (room == "master only") == (root / sizes.key).is_file()
        _assert_nothing_half_written(store, root)
        # gc takes what the failed upload left (an orphan master, reservation rows) and nothing else.
        store.gc(0)
        assert _files(root) == set() and list(store.catalog.blobs_in()) == []

        disk.free()
        image = store.put(data, "acme")  # the same process, no restart
        assert store.read(image.id) == store.read(image.id, "original")
        assert verify(store).ok and store.gc(0) == []
        assert _files(root) - {".tmp"} == {image.key, *(v.key for v in image.variants)}


def test_http_upload_answers_507_and_works_once_space_is_freed(disk: Disk, tmp_path: Path) -> None:
    data = noisy_jpeg()
    root = disk.mount / "blobs"
    with make_image_store(tmp_path, storage=root.as_uri()) as store, api_for(store) as api:
        disk.fill()
        resp = api.upload("acme", data)
        assert resp.status_code == 507, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        body = resp.json()
        assert body["code"] == "storage_full" and "try again later" in body["detail"]
        _assert_nothing_half_written(store, root)
        disk.free()
        resp = api.upload("acme", data)
        assert resp.status_code == 201, resp.text
        assert api.client.get(resp.json()["url"]).status_code == 200
        assert verify(store).ok


def test_direct_upload_on_a_full_disk(disk: Disk, tmp_path: Path) -> None:
    data = noisy_jpeg()
    root = disk.mount / "blobs"
    incoming = disk.mount / "blobs-incoming"
    with make_image_store(tmp_path, storage=root.as_uri()) as store, api_for(store) as api:
        auth = api.auth("acme")
        ticket: Any = api.client.post(
            "/v1/uploads", json={"content_type": "image/jpeg", "bytes": len(data)}, headers=auth
        ).json()

        def send() -> Any:
            return api.client.post(
                ticket["url"], data=ticket["fields"], files={"file": ("a.jpg", data, "image/jpeg")}
            )

        def complete() -> Any:
            return api.client.post(f"/v1/uploads/{ticket['upload_id']}/complete", headers=auth)

        disk.fill()
        # Receiving the file is a disk write too.
        refused = send()
        assert refused.status_code == 507 and refused.json()["code"] == "storage_full"
        assert _files(incoming) == set()
        disk.free()
        assert send().status_code == 204
        # The file is in; publishing it meets a full disk: refused, the file kept for a retry.
        disk.fill()
        refused = complete()
        assert refused.status_code == 507 and refused.json()["code"] == "storage_full"
        assert _files(incoming) == {ticket["fields"]["key"]}
        _assert_nothing_half_written(store, root)
        disk.free()
        done = complete()
        assert done.status_code == 201, done.text
        assert _files(incoming) == set() and store.catalog.images.count() == 1
        assert verify(store).ok
