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
from picstore.errors import AlreadyExists, ConfigError, InvalidKey, NotFound, StorageError, StorageFull
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
def store(root: Path) -> LocalStore:
    return LocalStore(root)


def tmp_files(root: Path) -> list[Path]:
    return list((root / ".tmp").iterdir())


# --- URLs ------------------------------------------------------------------------------------------


def test_url_is_absolute_file_uri(root: Path) -> None:
    store = LocalStore(root)
    assert store.url == "file://" + str(root)
    assert LocalStore.from_url(store.url).root == root
    assert root.is_dir() and (root / ".tmp").is_dir()


def test_from_url_localhost_and_escapes(tmp_path: Path) -> None:
    assert LocalStore.from_url(f"file://localhost{tmp_path}/b").root == tmp_path / "b"
    store = LocalStore.from_url(f"file://{tmp_path}/my%20blobs")
    assert store.root == tmp_path / "my blobs"
    assert store.url.endswith("/my%20blobs")


def test_relative_url_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = LocalStore.from_url("file://./data/blobs")
    assert store.root == tmp_path / "data" / "blobs"
    assert store.url == (tmp_path / "data" / "blobs").as_uri()


@pytest.mark.parametrize("url", ["file://host/x", "file:///x?y=1", "file://", "file:///", "s3://b/x"])
def test_bad_urls_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        LocalStore.from_url(url)


# --- layout and atomicity --------------------------------------------------------------------------


def test_key_maps_to_file(store: LocalStore, root: Path) -> None:
    store.put("img/ab/cd/x.jpg", b"data", content_type="image/jpeg")
    assert (root / "img/ab/cd/x.jpg").read_bytes() == b"data"
    assert store.path_for("img/ab/cd/x.jpg") == root.resolve() / "img/ab/cd/x.jpg"


def test_path_for_validates(store: LocalStore) -> None:
    with pytest.raises(InvalidKey):
        store.path_for("../etc/passwd")
    with pytest.raises(InvalidKey):
        store.path_for(".tmp/x")


def test_files_are_0644_whatever_the_umask(store: LocalStore, root: Path) -> None:
    old = os.umask(0o077)
    try:
        store.put("a.jpg", b"x", content_type="image/jpeg")
        store.put("b.jpg", b"x", content_type="image/jpeg", mode="overwrite")
    finally:
        os.umask(old)
    for name in ("a.jpg", "b.jpg"):
        assert stat.S_IMODE((root / name).stat().st_mode) == 0o644


def test_no_temp_files_after_success_or_refusal(store: LocalStore, root: Path) -> None:
    store.put("a.jpg", b"1", content_type="image/jpeg")
    store.put("a.jpg", b"2", content_type="image/jpeg", mode="overwrite")
    with pytest.raises(AlreadyExists):
        store.put("a.jpg", b"3", content_type="image/jpeg")
    assert tmp_files(root) == []
    assert [i.key for i in store.list()] == ["a.jpg"]


def test_tmp_dir_recreated_if_removed(store: LocalStore, root: Path) -> None:
    (root / ".tmp").rmdir()
    store.put("a.jpg", b"x", content_type="image/jpeg")
    assert store.get("a.jpg") == b"x"


def _failing(errnum: int) -> object:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(errnum, os.strerror(errnum))

    return fail


@pytest.mark.parametrize("target", ["fsync", "link", "replace"])
def test_disk_full_leaves_nothing(
    store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.setattr(os, target, _failing(errno.ENOSPC))
    mode: PutMode = "overwrite" if target == "replace" else "create"
    with pytest.raises(StorageError) as caught:
        store.put("img/x.jpg", b"x" * 1000, content_type="image/jpeg", mode=mode)
    monkeypatch.undo()
    assert "disk full" in str(caught.value) and str(root) in str(caught.value)
    assert "S3" in str(caught.value)
    assert isinstance(caught.value, StorageFull)
    assert (caught.value.code, caught.value.http_status) == ("storage_full", 507)
    assert not (root / "img/x.jpg").exists()
    assert tmp_files(root) == []
    with pytest.raises(NotFound):
        store.get("img/x.jpg")


def test_failed_overwrite_keeps_old_bytes(
    store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("a.jpg", b"old", content_type="image/jpeg")
    monkeypatch.setattr(os, "fsync", _failing(errno.EIO))
    with pytest.raises(StorageError):
        store.put("a.jpg", b"new", content_type="image/jpeg", mode="overwrite")
    monkeypatch.undo()
    assert store.get("a.jpg") == b"old"
    assert tmp_files(root) == []


def test_permission_error_is_actionable(store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "link", _failing(errno.EACCES))
    with pytest.raises(StorageError, match=r"permission denied.*writable"):
        store.put("a.jpg", b"x", content_type="image/jpeg")


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
    store: LocalStore, root: Path, fsynced: list[os.stat_result]
) -> None:
    store.put("img/ab/x.jpg", b"x", content_type="image/jpeg")
    inodes = {st.st_ino for st in fsynced}
    assert (root / "img/ab/x.jpg").stat().st_ino in inodes
    assert (root / "img/ab").stat().st_ino in inodes  # the new entry
    assert (root / "img").stat().st_ino in inodes  # the new directory "ab"
    assert root.stat().st_ino in inodes  # the new directory "img"


def test_a_file_where_a_directory_is_needed(store: LocalStore, root: Path) -> None:
    store.put("a", b"x", content_type="image/jpeg")
    with pytest.raises(StorageError):
        store.put("a/b.jpg", b"y", content_type="image/jpeg")
    assert store.get("a") == b"x"
    assert tmp_files(root) == []


# --- delete ----------------------------------------------------------------------------------------


def test_delete_prunes_empty_dirs_but_not_root(store: LocalStore, root: Path) -> None:
    store.put("img/ab/cd/x.jpg", b"x", content_type="image/jpeg")
    store.put("img/zz.jpg", b"z", content_type="image/jpeg")
    store.delete("img/ab/cd/x.jpg")
    assert not (root / "img/ab").exists()
    assert (root / "img/zz.jpg").exists()
    store.delete("img/zz.jpg")
    assert not (root / "img").exists()
    assert root.is_dir() and (root / ".tmp").is_dir()


# --- containment -----------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.jpg").write_bytes(b"secret")
    return out


def test_symlinked_dir_not_written_through(store: LocalStore, root: Path, outside: Path) -> None:
    (root / "evil").symlink_to(outside, target_is_directory=True)
    modes: tuple[PutMode, ...] = ("create", "overwrite")
    for mode in modes:
        with pytest.raises(InvalidKey):
            store.put("evil/new.jpg", b"x", content_type="image/jpeg", mode=mode)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.jpg"]
    assert tmp_files(root) == []


def test_symlinked_dir_not_read_deleted_or_listed(store: LocalStore, root: Path, outside: Path) -> None:
    (root / "evil").symlink_to(outside, target_is_directory=True)
    for verb in ("get", "open", "head", "delete"):
        with pytest.raises(InvalidKey):
            getattr(store, verb)("evil/secret.jpg")
    with pytest.raises(InvalidKey):
        list(store.list("evil/"))
    assert list(store.list()) == []
    assert (outside / "secret.jpg").read_bytes() == b"secret"


def test_symlinked_file_not_followed(store: LocalStore, root: Path, outside: Path) -> None:
    (root / "link.jpg").symlink_to(outside / "secret.jpg")
    with pytest.raises(InvalidKey):
        store.get("link.jpg")
    with pytest.raises(InvalidKey):
        store.put("link.jpg", b"pwned", content_type="image/jpeg", mode="overwrite")
    assert (outside / "secret.jpg").read_bytes() == b"secret"


def test_symlinked_root_works(tmp_path: Path) -> None:
    real = tmp_path / "disk"
    real.mkdir()
    (tmp_path / "blobs").symlink_to(real, target_is_directory=True)
    store = LocalStore(tmp_path / "blobs")
    assert store.url == (tmp_path / "blobs").as_uri()
    store.put("a/b.jpg", b"x", content_type="image/jpeg")
    assert (real / "a/b.jpg").read_bytes() == b"x"
    assert [i.key for i in store.list()] == ["a/b.jpg"]


# --- metadata --------------------------------------------------------------------------------------


def test_head_content_type_from_extension(store: LocalStore) -> None:
    for key, ctype in [
        ("a.jpg", "image/jpeg"),
        ("a.jpeg", "image/jpeg"),
        ("a.gif", "image/gif"),
        ("a.avif", "image/avif"),
        ("a.bin", None),
        ("noext", None),
    ]:
        store.put(key, b"x", content_type="image/png")
        assert store.head(key).content_type == ctype


def test_head_matches_stat(store: LocalStore, root: Path) -> None:
    info = store.put("a.jpg", b"12345", content_type="image/jpeg")
    st = (root / "a.jpg").stat()
    assert info == store.head("a.jpg")
    assert info.last_modified is not None
    assert int(info.last_modified.timestamp()) == int(st.st_mtime)
    assert info.etag == f'"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_ino:x}"'


def test_list_skips_stray_files(store: LocalStore, root: Path) -> None:
    store.put("a.jpg", b"x", content_type="image/jpeg")
    (root / ".tmp" / "put-crashed.part").write_bytes(b"half")
    (root / ".DS_Store").write_bytes(b"junk")
    assert [i.key for i in store.list()] == ["a.jpg"]


# --- every refusal and failure, with the message the operator acts on ---------------------------------


def test_a_root_that_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(StorageError) as caught:
        LocalStore(tmp_path / "file" / "blobs")
    assert caught.value.message == (
        f"cannot create the store directory under {tmp_path}/file/blobs: Not a directory"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://b/x", "invalid file store URL 's3://b/x': use file:///absolute/path"),
        ("file:///x?y=1", "invalid file store URL 'file:///x?y=1': use file:///absolute/path"),
        ("file:///x#y", "invalid file store URL 'file:///x#y': use file:///absolute/path"),
        (
            "file://nas/x",
            "invalid file store URL 'file://nas/x': host 'nas' is not local; use file:///absolute/path "
            "(mount remote disks first)",
        ),
        ("file:///", "invalid file store URL 'file:///': name a directory, e.g. file:///srv/blobs"),
        ("file://", "invalid file store URL 'file://': name a directory, e.g. file:///srv/blobs"),
    ],
)
def test_bad_url_messages(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        LocalStore.from_url(url)
    assert caught.value.message == message


def test_parent_relative_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "app").mkdir()
    monkeypatch.chdir(tmp_path / "app")
    assert LocalStore.from_url("file://../blobs").root == tmp_path / "blobs"
    assert LocalStore.from_url("FILE:///" + str(tmp_path / "b").lstrip("/")).root == tmp_path / "b"


def test_repr(store: LocalStore, root: Path) -> None:
    assert repr(store) == f"LocalStore('{root}')"


def test_missing_blob_messages(store: LocalStore) -> None:
    for verb in ("get", "open", "head"):
        with pytest.raises(NotFound) as caught:
            getattr(store, verb)("img/none.jpg")
        assert caught.value.message == f"no blob 'img/none.jpg' in {store.url}"
    store.put("img/a/b.jpg", b"x", content_type="image/jpeg")
    with pytest.raises(NotFound) as caught:
        store.head("img/a")  # a directory made by a longer key is not a blob
    assert caught.value.message == f"no blob 'img/a' in {store.url}"


def test_already_exists_message(store: LocalStore) -> None:
    store.put("a.jpg", b"x", content_type="image/jpeg")
    with pytest.raises(AlreadyExists) as caught:
        store.put("a.jpg", b"y", content_type="image/jpeg")
    assert caught.value.message == f"blob 'a.jpg' already exists in {store.url}"


def test_containment_messages(store: LocalStore, root: Path, outside: Path) -> None:
    (root / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidKey) as caught:
        store.get("evil/secret.jpg")
    assert caught.value.message == (
        f"blob key 'evil/secret.jpg' resolves outside {root}; remove the symlink on its path"
    )
    with pytest.raises(InvalidKey) as caught:
        list(store.list("evil/s"))
    assert caught.value.message == f"prefix 'evil/s' resolves outside {root}; remove the symlink on its path"


@pytest.mark.parametrize(
    ("errnum", "message"),
    [
        (
            errno.ENOSPC,
            "disk full on {root} while trying to write blob 'a.jpg': nothing was stored; try again later "
            "(operators: free space or move blobs to S3 with picstore migrate --to s3://bucket/prefix)",
        ),
        (
            errno.EDQUOT,
            "disk full on {root} while trying to write blob 'a.jpg': nothing was stored; try again later "
            "(operators: free space or move blobs to S3 with picstore migrate --to s3://bucket/prefix)",
        ),
        (
            errno.EACCES,
            "permission denied under {root} while trying to write blob 'a.jpg': make the directory "
            "writable by the user picstore runs as",
        ),
        (
            errno.EPERM,
            "permission denied under {root} while trying to write blob 'a.jpg': make the directory "
            "writable by the user picstore runs as",
        ),
        (errno.EROFS, "{root} is on a read-only filesystem; remount it read-write"),
        (errno.EIO, "cannot write blob 'a.jpg' under {root}: Input/output error"),
    ],
)
def test_write_failure_messages(
    store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch, errnum: int, message: str
) -> None:
    monkeypatch.setattr(os, "link", _failing(errnum))
    with pytest.raises(StorageError) as caught:
        store.put("a.jpg", b"x", content_type="image/jpeg")
    assert caught.value.message == message.format(root=root)


def test_an_error_without_strerror_is_still_described(
    store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("link refused")

    monkeypatch.setattr(os, "link", fail)
    with pytest.raises(StorageError) as caught:
        store.put("a.jpg", b"x", content_type="image/jpeg")
    assert caught.value.message == f"cannot write blob 'a.jpg' under {root}: link refused"


def _failing_on(real: object, errnum: int, name: str) -> object:
    """``real`` (an os function), failing with ``errnum`` only for paths ending in ``name``."""

    def call(path: object, *args: object, **kwargs: object) -> object:
        if str(path).endswith(name):
            raise OSError(errnum, os.strerror(errnum))
        return real(path, *args, **kwargs)  # type: ignore[operator]

    return call


def test_read_and_delete_failure_messages(
    store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("img/a.jpg", b"x", content_type="image/jpeg")
    monkeypatch.setattr(os, "stat", _failing_on(os.stat, errno.EIO, "a.jpg"))
    with pytest.raises(StorageError) as caught:
        store.head("img/a.jpg")
    assert caught.value.message == f"cannot read blob 'img/a.jpg' under {root}: Input/output error"
    monkeypatch.undo()
    monkeypatch.setattr(Path, "open", _failing_on(Path.open, errno.EIO, "a.jpg"))
    with pytest.raises(StorageError) as caught:
        store.get("img/a.jpg")
    assert caught.value.message == f"cannot read blob 'img/a.jpg' under {root}: Input/output error"
    monkeypatch.undo()
    monkeypatch.setattr(os, "unlink", _failing_on(os.unlink, errno.EIO, "a.jpg"))
    with pytest.raises(StorageError) as caught:
        store.delete("img/a.jpg")
    assert caught.value.message == f"cannot delete blob 'img/a.jpg' under {root}: Input/output error"
    monkeypatch.undo()
    assert store.get("img/a.jpg") == b"x"
    monkeypatch.setattr(os, "scandir", _failing_on(os.scandir, errno.EIO, "img"))
    with pytest.raises(StorageError) as caught:
        list(store.list())
    assert caught.value.message == f"cannot list {root}/img under {root}: Input/output error"


def test_a_put_whose_temp_directory_cannot_be_made(store: LocalStore, root: Path) -> None:
    (root / ".tmp").rmdir()
    (root / ".tmp").write_bytes(b"not a directory")
    with pytest.raises(StorageError) as caught:
        store.put("a.jpg", b"x", content_type="image/jpeg")
    assert caught.value.message == f"cannot write blob 'a.jpg' under {root}: File exists"
    assert not (root / "a.jpg").exists()


def test_temp_files_are_written_in_the_store(
    store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Same filesystem as the blob (so it can be linked), named so a crash leaves a recognisable stray.
    written: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        written.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    store.put("a.jpg", b"x", content_type="image/jpeg")
    name = Path(written[0])
    assert name.parent == root / ".tmp"
    assert name.name.startswith("put-") and name.name.endswith(".part")


def test_a_put_into_existing_directories_fsyncs_only_the_file_and_its_directory(
    store: LocalStore, root: Path, fsynced: list[os.stat_result]
) -> None:
    store.put("img/ab/x.jpg", b"x", content_type="image/jpeg")
    fsynced.clear()
    store.put("img/ab/y.jpg", b"y", content_type="image/jpeg")
    assert {st.st_ino for st in fsynced} == {
        (root / "img/ab/y.jpg").stat().st_ino,
        (root / "img/ab").stat().st_ino,
    }


@pytest.mark.parametrize(("failures", "published"), [(1, True), (2, True), (3, False)])
def test_link_retries_when_a_concurrent_delete_prunes_the_directory(
    store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch, failures: int, published: bool
) -> None:
    real = os.link
    calls: list[object] = []

    def link(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) <= failures:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "link", link)
    if published:
        store.put("img/a.jpg", b"x", content_type="image/jpeg")
        assert store.get("img/a.jpg") == b"x"
        assert len(calls) == failures + 1
    else:
        with pytest.raises(StorageError):
            store.put("img/a.jpg", b"x", content_type="image/jpeg")
        assert len(calls) == 3
        assert not (root / "img/a.jpg").exists()
    assert tmp_files(root) == []


def test_delete_never_removes_the_root_even_when_empty(store: LocalStore, root: Path) -> None:
    store.put("img/a.jpg", b"x", content_type="image/jpeg")
    (root / ".tmp").rmdir()
    store.delete("img/a.jpg")
    assert root.is_dir() and list(root.iterdir()) == []


def test_list_is_in_plain_string_order(store: LocalStore) -> None:
    # "-" sorts before "/" and "/" before "0": directories must sort as "name/" among files.
    keys = ["w", "x-y", "x/z", "x0", "x.a", "s/p", "s/p-q"]
    for key in keys:
        store.put(key, b"k", content_type="image/jpeg")
    assert [i.key for i in store.list()] == sorted(keys)
    assert [i.key for i in store.list("s/")] == ["s/p", "s/p-q"]  # a file before a longer file


def test_list_skips_symlinked_files(store: LocalStore, root: Path, outside: Path) -> None:
    store.put("a.jpg", b"x", content_type="image/jpeg")
    (root / "link.jpg").symlink_to(outside / "secret.jpg")
    assert [i.key for i in store.list()] == ["a.jpg"]


def test_a_blob_deleted_while_listing_is_skipped(store: LocalStore) -> None:
    for key in ("a.jpg", "b.jpg", "c.jpg"):
        store.put(key, b"x", content_type="image/jpeg")
    listing = store.list()
    assert next(listing).key == "a.jpg"
    store.delete("b.jpg")  # the directory was read; b's entry is stat'ed only now
    assert [i.key for i in listing] == ["c.jpg"]


def test_a_symlink_loop_is_an_invalid_key_not_a_crash(store: LocalStore, root: Path) -> None:
    (root / "loop").symlink_to("loop")
    with pytest.raises(InvalidKey) as caught:
        store.get("loop/a.jpg")
    assert caught.value.message == (
        f"blob key 'loop/a.jpg' resolves through a symlink loop under {root}; remove it"
    )
    with pytest.raises(InvalidKey) as caught:
        list(store.list("loop/a"))
    assert caught.value.message == f"prefix 'loop/a' resolves through a symlink loop under {root}; remove it"


def test_delete_refused_by_permissions(
    store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("img/a.jpg", b"x", content_type="image/jpeg")
    store.put("img/d/b.jpg", b"x", content_type="image/jpeg")
    monkeypatch.setattr(os, "unlink", _failing(errno.EACCES))
    with pytest.raises(StorageError) as caught:
        store.delete("img/a.jpg")
    assert caught.value.message == (
        f"permission denied under {root} while trying to delete blob 'img/a.jpg': make the directory "
        "writable by the user picstore runs as"
    )
    monkeypatch.setattr(os, "unlink", _failing(errno.EPERM))
    store.delete("img/d")  # a directory (macOS says EPERM for unlink of one): not a blob, nothing to do
    assert store.get("img/d/b.jpg") == b"x"


def test_a_temp_file_that_cannot_be_removed_does_not_fail_the_put(
    store: LocalStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "unlink", _failing(errno.EIO))
    store.put("a.jpg", b"x", content_type="image/jpeg")  # published; a stray temp file at worst
    monkeypatch.undo()
    assert store.get("a.jpg") == b"x"
    assert [p.name.startswith("put-") for p in tmp_files(root)] == [True]
