"""Blobs as files under one directory (``file:///srv/picstore/blobs``). POSIX only.

A key maps to ``root/<key>``. Writes go to a temp file in ``root/.tmp`` (same filesystem, so linking is
possible), are fsynced, then published with ``os.link`` (create-only: the kernel refuses an existing name
atomically) or ``os.replace`` (overwrite). Readers therefore see either no file or the whole file, never a
partial one, and a crash leaves at worst a stray temp file. Keys never start with a dot, so ``.tmp`` can
never collide with a blob.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from picstore.blobs.base import BlobStore, PutMode, validate_key, validate_prefix
from picstore.errors import AlreadyExists, ConfigError, InvalidKey, NotFound, StorageError, StorageFull
from picstore.formats import content_type_for_key
from picstore.models import BlobInfo

TMP_DIR = ".tmp"
FILE_MODE = 0o644  # readable by a front web server (nginx, lighttpd) running as another user
_LINK_RETRIES = 3


def _info(key: str, st: os.stat_result) -> BlobInfo:
    return BlobInfo(
        key=key,
        size=st.st_size,
        content_type=content_type_for_key(key),
        # Cheap and stable for one file; the inode changes on every put, so an overwrite with
        # same-size bytes within one timestamp tick still gets a new etag.
        etag=f'"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_ino:x}"',
        last_modified=datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC),
    )


def _fsync_dir(path: Path) -> None:
    # Makes the new directory entry itself durable, not just the file's bytes.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    """A :class:`~picstore.blobs.base.BlobStore` on a local (or NFS) directory.

    The root is created if missing. ``url`` is ``file://`` plus the absolute root as given (not with
    symlinks resolved), because the catalog records it as the blob's location.
    ``content_type`` passed to :meth:`put` is not stored: :meth:`head` derives it from the key's extension.
    """

    def __init__(self, root: Path | str) -> None:
        # abspath, not resolve(): keep the configured spelling (symlinks included) for the URL.
        self.root = Path(os.path.abspath(root))  # noqa: PTH100
        self.url = self.root.as_uri()
        try:
            (self.root / TMP_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error(exc, "create the store directory") from exc
        # Containment is checked against the real root so a symlinked root (/srv/blobs -> /mnt/disk) works.
        self._real_root = self.root.resolve()
        self._tmp = self._real_root / TMP_DIR

    @classmethod
    def from_url(cls, url: str) -> LocalStore:
        """Make a store from ``file:///abs/path`` or ``file://localhost/abs/path``.

        ``file://./rel`` and ``file://../rel`` are accepted for development and resolved against the
        current directory once, here; the store's ``url`` is then the absolute form, so what the catalog
        records does not depend on where a later process starts. Percent-escapes are decoded.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.query or parts.fragment:
            raise ConfigError(f"invalid file store URL {url!r}: use file:///absolute/path")
        path = unquote(parts.path)
        if parts.netloc in (".", ".."):
            path = parts.netloc + path
        elif parts.netloc not in ("", "localhost"):
            raise ConfigError(
                f"invalid file store URL {url!r}: host {parts.netloc!r} is not local; "
                "use file:///absolute/path (mount remote disks first)"
            )
        if not path or path == "/":
            raise ConfigError(f"invalid file store URL {url!r}: name a directory, e.g. file:///srv/blobs")
        return cls(Path(path))

    # --- paths -------------------------------------------------------------------------------------

    def path_for(self, key: str) -> Path:
        """The real path of ``key``'s file, for serving it with sendfile; the file may not exist.

        Raises :class:`~picstore.errors.InvalidKey` when the key is malformed or when a symlink inside
        the root would take it outside.
        """
        validate_key(key)
        path = self._resolve(key, f"blob key {key!r}")
        if not path.is_relative_to(self._real_root) or path.is_relative_to(self._tmp):
            raise InvalidKey(f"blob key {key!r} resolves outside {self.root}; remove the symlink on its path")
        return path

    def _resolve(self, relative: str, what: str) -> Path:
        try:
            return (self._real_root / relative).resolve()
        except (RuntimeError, OSError) as exc:  # a symlink loop: RuntimeError before Python 3.13, then ELOOP
            raise InvalidKey(f"{what} resolves through a symlink loop under {self.root}; remove it") from exc

    def _error(self, exc: OSError, doing: str) -> StorageError:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StorageFull(
                f"disk full on {self.root} while trying to {doing}: nothing was stored; try again later "
                "(operators: free space or move blobs to S3 with picstore migrate --to s3://bucket/prefix)"
            )
        if exc.errno in (errno.EACCES, errno.EPERM):
            return StorageError(
                f"permission denied under {self.root} while trying to {doing}: make the directory "
                "writable by the user picstore runs as"
            )
        if exc.errno == errno.EROFS:
            return StorageError(f"{self.root} is on a read-only filesystem; remount it read-write")
        return StorageError(f"cannot {doing} under {self.root}: {exc.strerror or exc}")

    def _makedirs(self, directory: Path) -> None:
        """Create ``directory`` and missing parents, fsyncing each parent that gained an entry."""
        missing: list[Path] = []
        while not directory.is_dir() and directory != self._real_root:
            missing.append(directory)
            directory = directory.parent
        for d in reversed(missing):
            with contextlib.suppress(FileExistsError):  # a concurrent put made it first
                d.mkdir()
            _fsync_dir(d.parent)

    # --- verbs -------------------------------------------------------------------------------------

    def put(self, key: str, data: bytes, *, content_type: str, mode: PutMode = "create") -> BlobInfo:
        """Write ``data`` to ``key`` atomically; create-only unless ``mode="overwrite"``."""
        final = self.path_for(key)
        tmp: Path | None = None
        try:
            self._tmp.mkdir(exist_ok=True)  # someone may have cleaned it out
            fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-", suffix=".part")
            tmp = Path(name)
            with open(fd, "wb") as f:  # noqa: PTH123 - wraps the fd from mkstemp
                os.fchmod(fd, FILE_MODE)  # mkstemp makes 0o600 whatever the umask
                f.write(data)
                f.flush()
                os.fsync(fd)
                st = os.fstat(fd)  # link/replace keep the inode, so this describes the published file
            self._publish(tmp, final, key, mode)
            # If this fails the complete file is already published; it stays (another writer may
            # have been told it exists) and the error tells the caller durability is unknown.
            _fsync_dir(final.parent)
        except AlreadyExists:
            raise
        except OSError as exc:
            raise self._error(exc, f"write blob {key!r}") from exc
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
        return _info(key, st)

    def _publish(self, tmp: Path, final: Path, key: str, mode: PutMode) -> None:
        for attempt in range(_LINK_RETRIES):
            self._makedirs(final.parent)
            try:
                if mode == "create":
                    os.link(tmp, final)
                else:
                    tmp.replace(final)
                return
            except FileExistsError:
                if mode == "create":
                    raise AlreadyExists(f"blob {key!r} already exists in {self.url}") from None
                raise
            except FileNotFoundError:
                # A concurrent delete pruned the (then empty) parent between makedirs and link: redo.
                if attempt == _LINK_RETRIES - 1:
                    raise

    def _stat(self, key: str) -> tuple[Path, os.stat_result]:
        path = self.path_for(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no blob {key!r} in {self.url}") from None
        except OSError as exc:
            raise self._error(exc, f"read blob {key!r}") from exc
        if not stat.S_ISREG(st.st_mode):  # a directory made by longer keys is not a blob
            raise NotFound(f"no blob {key!r} in {self.url}")
        return path, st

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; :class:`~picstore.errors.NotFound` if there are none."""
        with self.open(key) as f:
            return f.read()

    def open(self, key: str) -> BinaryIO:
        """An open binary file; the caller closes it. It stays readable if the blob is deleted."""
        path = self.path_for(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound(f"no blob {key!r} in {self.url}") from None
        except OSError as exc:
            raise self._error(exc, f"read blob {key!r}") from exc

    def head(self, key: str) -> BlobInfo:
        """Size, content type (from the extension), etag and mtime of ``key``."""
        _, st = self._stat(key)
        return _info(key, st)

    def delete(self, key: str) -> None:
        """Remove ``key`` and then its emptied parent directories (never the root)."""
        path = self.path_for(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return  # idempotent; a directory at that path is not a blob
        except PermissionError as exc:
            if path.is_dir():  # macOS reports unlink(dir) as EPERM
                return
            raise self._error(exc, f"delete blob {key!r}") from exc
        except OSError as exc:
            raise self._error(exc, f"delete blob {key!r}") from exc
        parent = path.parent
        while parent != self._real_root and parent.is_relative_to(self._real_root):
            try:
                parent.rmdir()  # only succeeds when empty, so a concurrent put loses nothing
            except OSError:
                break
            parent = parent.parent

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Blobs whose key starts with ``prefix`` (a plain string prefix, as in S3), sorted by key.

        Symlinks and dot-entries (``.tmp``) are skipped.
        """
        validate_prefix(prefix)
        base, _, start = prefix.rpartition("/")
        directory = self._resolve(base, f"prefix {prefix!r}")  # the root itself when base is ""
        if not directory.is_relative_to(self._real_root):  # a symlinked directory must not leak out
            raise InvalidKey(
                f"prefix {prefix!r} resolves outside {self.root}; remove the symlink on its path"
            )
        return self._walk(directory, base + "/" if base else "", start)

    def _walk(self, directory: Path, key_prefix: str, start: str = "") -> Iterator[BlobInfo]:
        try:
            with os.scandir(directory) as it:
                entries = [e for e in it if not e.name.startswith(".") and e.name.startswith(start)]
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise self._error(exc, f"list {directory}") from exc
        # Sort directories as "name/" so the walk yields keys in plain string order ("a-b" < "a/c").
        dirs = {e.name for e in entries if e.is_dir(follow_symlinks=False)}
        for entry in sorted(entries, key=lambda e: e.name + "/" if e.name in dirs else e.name):
            key = key_prefix + entry.name
            if entry.name in dirs:
                yield from self._walk(Path(entry.path), key + "/")
            elif entry.is_file(follow_symlinks=False):
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # deleted while we listed
                yield _info(key, st)

    # --- abilities (picstore.blobs.base) ------------------------------------------------------------

    def incoming_sibling(self) -> LocalStore:
        """The sibling directory ``<root>-incoming``: a web server in front of the root never reaches it."""
        return LocalStore(Path(f"{self.root}-incoming"))

    def encloses(self, other: BlobStore) -> str | None:
        """How ``other`` lies inside this root (which may be served as it is), or None."""
        if not isinstance(other, LocalStore) or not other._real_root.is_relative_to(self._real_root):
            return None
        return (
            f"the incoming directory {other.root} lies inside the blob directory {self.root}, which may be "
            f"served as it is (use a sibling such as {self.root}-incoming)"
        )

    def public_url(self, key: str) -> str | None:
        """Always None: picstore serves local blobs itself (see :meth:`path_for`)."""
        validate_key(key)
        return None

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"
