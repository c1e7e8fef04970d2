"""LocalStore: the conformance suite plus the filesystem guarantees (atomicity, containment, fsync)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from picstore.blobs.base import PutMode
from picstore.blobs.local import LocalStore
from picstore.errors import AlreadyExists, ConfigError, InvalidKey, NotFound, StorageError
from picstore.testing import BlobStoreConformance


class TestLocalConformance(BlobStoreConformance):
    records_content_type = False

    @pytest.fixture
    def store(self, tmp_path: Path) -> LocalStore:
        return LocalStore(tmp_path / "blobs")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def local_store(root: Path) -> LocalStore:
    return LocalStore(root)


def tmp_files(root: Path) -> list[Path]:
    return list((root / ".tmp").iterdir())


# --- URLs ------------------------------------------------------------------------------------------


def test_url_is_absolute_file_uri(root: Path) -> None:
    local_store = LocalStore(root)
    assert local_store.url == "file://" + str(root)
    assert LocalStore.from_url(local_store.url).root == root
    assert root.is_dir() and (root / ".tmp").is_dir()


def test_from_url_localhost_and_escapes(tmp_path: Path) -> None:
    assert LocalStore.from_url(f"file://localhost{tmp_path}/b").root == tmp_path / "b"
    local_store = LocalStore.from_url(f"file://{tmp_path}/my%20blobs")
    assert local_store.root == tmp_path / "my blobs"
    assert local_store.url.endswith("/my%20blobs")


def test_relative_url_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    local_store = LocalStore.from_url("file://./data/blobs")
    assert local_store.root == tmp_path / "data" / "blobs"
    assert local_store.url == (tmp_path / "data" / "blobs").as_uri()


@pytest.mark.parametrize("url", ["file://host/x", "file:///x?y=1", "file://", "file:///", "s3://b/x"])
def test_bad_urls_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        LocalStore.from_url(url)


# --- layout and atomicity --------------------------------------------------------------------------


def test_key_maps_to_file(local_store: LocalStore, root: Path) -> None:
    local_store.put("img/ab/cd/x.jpg", b"data", content_type="image/jpeg")
    assert (root / "img/ab/cd/x.jpg").read_bytes() == b"data"
    assert local_store.path_for("img/ab/cd/x.jpg") == root.resolve() / "img/ab/cd/x.jpg"


def test_path_for_validates(local_store: LocalStore) -> None:
    with pytest.raises(InvalidKey):
        local_store.path_for("../etc/passwd")
    with pytest.raises(InvalidKey):
        local_store.path_for(".tmp/x")


def test_files_are_0644_whatever_the_umask(local_store: LocalStore, root: Path) -> None:
    old = os.umask(0o077)
    try:
        local_store.put("a.jpg", b"x", content_type="image/jpeg")
        local_store.put("b.jpg", b"x", content_type="image/jpeg", mode="overwrite")
    finally:
        os.umask(old)
    for name in ("a.jpg", "b.jpg"):
        assert stat.S_IMODE((root / name).stat().st_mode) == 0o644


def test_no_temp_files_after_success_or_refusal(local_store: LocalStore, root: Path) -> None:
    local_store.put("a.jpg", b"1", content_type="image/jpeg")
    local_store.put("a.jpg", b"2", content_type="image/jpeg", mode="overwrite")
    with pytest.raises(AlreadyExists):
        local_store.put("a.jpg", b"3", content_type="image/jpeg")
    assert tmp_files(root) == []
    assert [i.key for i in local_store.list()] == ["a.jpg"]


def test_tmp_dir_recreated_if_removed(local_store: LocalStore, root: Path) -> None:
    (root / ".tmp").rmdir()
    local_store.put("a.jpg", b"x", content_type="image/jpeg")
    assert local_store.get("a.jpg") == b"x"


def _failing(errnum: int) -> object:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(errnum, os.strerror(errnum))

    return fail


@pytest.mark.parametrize("target", ["fsync", "link", "replace"])
def test_disk_full_leaves_nothing(
    local_store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.setattr(os, target, _failing(errno.ENOSPC))
    mode: PutMode = "overwrite" if target == "replace" else "create"
    with pytest.raises(StorageError) as caught:
        local_store.put("img/x.jpg", b"x" * 1000, content_type="image/jpeg", mode=mode)
    monkeypatch.undo()
    assert "disk full" in str(caught.value) and str(root) in str(caught.value)
    assert "S3" in str(caught.value)
    assert not (root / "img/x.jpg").exists()
    assert tmp_files(root) == []
    with pytest.raises(NotFound):
        local_store.get("img/x.jpg")


def test_failed_overwrite_keeps_old_bytes(
    local_store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_store.put("a.jpg", b"old", content_type="image/jpeg")
    monkeypatch.setattr(os, "fsync", _failing(errno.EIO))
    with pytest.raises(StorageError):
        local_store.put("a.jpg", b"new", content_type="image/jpeg", mode="overwrite")
    monkeypatch.undo()
    assert local_store.get("a.jpg") == b"old"
    assert tmp_files(root) == []


def test_permission_error_is_actionable(local_store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "link", _failing(errno.EACCES))
    with pytest.raises(StorageError, match=r"permission denied.*writable"):
        local_store.put("a.jpg", b"x", content_type="image/jpeg")


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[os.stat_result]]:
    seen: list[os.stat_result] = []
    real = os.fsync

    def spy(fd: int) -> None:
        seen.append(os.fstat(fd))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    yield seen


def test_file_and_parent_directory_fsynced(
    local_store: LocalStore, root: Path, fsynced: list[os.stat_result]
) -> None:
    local_store.put("img/ab/x.jpg", b"x", content_type="image/jpeg")
    inodes = {st.st_ino for st in fsynced}
    assert (root / "img/ab/x.jpg").stat().st_ino in inodes
    assert (root / "img/ab").stat().st_ino in inodes  # the new entry
    assert (root / "img").stat().st_ino in inodes  # the new directory "ab"
    assert root.stat().st_ino in inodes  # the new directory "img"


def test_a_file_where_a_directory_is_needed(local_store: LocalStore, root: Path) -> None:
    local_store.put("a", b"x", content_type="image/jpeg")
    with pytest.raises(StorageError):
        local_store.put("a/b.jpg", b"y", content_type="image/jpeg")
    assert local_store.get("a") == b"x"
    assert tmp_files(root) == []


# --- delete ----------------------------------------------------------------------------------------


def test_delete_prunes_empty_dirs_but_not_root(local_store: LocalStore, root: Path) -> None:
    local_store.put("img/ab/cd/x.jpg", b"x", content_type="image/jpeg")
    local_store.put("img/zz.jpg", b"z", content_type="image/jpeg")
    local_store.delete("img/ab/cd/x.jpg")
    assert not (root / "img/ab").exists()
    assert (root / "img/zz.jpg").exists()
    local_store.delete("img/zz.jpg")
    assert not (root / "img").exists()
    assert root.is_dir() and (root / ".tmp").is_dir()


# --- containment -----------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.jpg").write_bytes(b"secret")
    return out


def test_symlinked_dir_not_written_through(local_store: LocalStore, root: Path, outside: Path) -> None:
    (root / "evil").symlink_to(outside, target_is_directory=True)
    modes: tuple[PutMode, ...] = ("create", "overwrite")
    for mode in modes:
        with pytest.raises(InvalidKey):
            local_store.put("evil/new.jpg", b"x", content_type="image/jpeg", mode=mode)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.jpg"]
    assert tmp_files(root) == []


def test_symlinked_dir_not_read_deleted_or_listed(local_store: LocalStore, root: Path, outside: Path) -> None:
    (root / "evil").symlink_to(outside, target_is_directory=True)
    for verb in ("get", "open", "head", "delete"):
        with pytest.raises(InvalidKey):
            getattr(local_store, verb)("evil/secret.jpg")
    with pytest.raises(InvalidKey):
        list(local_store.list("evil/"))
    assert list(local_store.list()) == []
    assert (outside / "secret.jpg").read_bytes() == b"secret"


def test_symlinked_file_not_followed(local_store: LocalStore, root: Path, outside: Path) -> None:
    (root / "link.jpg").symlink_to(outside / "secret.jpg")
    with pytest.raises(InvalidKey):
        local_store.get("link.jpg")
    with pytest.raises(InvalidKey):
        local_store.put("link.jpg", b"pwned", content_type="image/jpeg", mode="overwrite")
    assert (outside / "secret.jpg").read_bytes() == b"secret"


def test_symlinked_root_works(tmp_path: Path) -> None:
    real = tmp_path / "disk"
    real.mkdir()
    (tmp_path / "blobs").symlink_to(real, target_is_directory=True)
    local_store = LocalStore(tmp_path / "blobs")
    assert local_store.url == (tmp_path / "blobs").as_uri()
    local_store.put("a/b.jpg", b"x", content_type="image/jpeg")
    assert (real / "a/b.jpg").read_bytes() == b"x"
    assert [i.key for i in local_store.list()] == ["a/b.jpg"]


# --- metadata --------------------------------------------------------------------------------------


def test_head_content_type_from_extension(local_store: LocalStore) -> None:
    for key, ctype in [
        ("a.jpg", "image/jpeg"),
        ("a.jpeg", "image/jpeg"),
        ("a.gif", "image/gif"),
        ("a.avif", "image/avif"),
        ("a.bin", None),
        ("noext", None),
    ]:
        local_store.put(key, b"x", content_type="image/png")
        assert local_store.head(key).content_type == ctype


def test_head_matches_stat(local_store: LocalStore, root: Path) -> None:
    info = local_store.put("a.jpg", b"12345", content_type="image/jpeg")
    st = (root / "a.jpg").stat()
    assert info == local_store.head("a.jpg")
    assert info.last_modified is not None
    assert int(info.last_modified.timestamp()) == int(st.st_mtime)
    assert info.etag == f'"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_ino:x}"'


def test_list_skips_stray_files(local_store: LocalStore, root: Path) -> None:
    local_store.put("a.jpg", b"x", content_type="image/jpeg")
    (root / ".tmp" / "put-crashed.part").write_bytes(b"half")
    (root / ".DS_Store").write_bytes(b"junk")
    assert [i.key for i in local_store.list()] == ["a.jpg"]
