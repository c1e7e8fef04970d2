"""Importing a legacy picture tree (the old lighttpd/NFS directory) into the catalog.

Invariants:
- Every regular file under the root is considered once per run, whatever its name's bytes (names are
  walked as bytes, so non-UTF-8 names, spaces and odd characters are all fine).
- Each file's old path (relative to the root, behind an optional ``path_prefix``) is recorded in the
  catalog with the image it became or the code it was refused with; a recorded path is skipped by any
  later run, so a second run imports nothing twice and an interrupted run resumes.
- Files are put with an idempotency key made from their bytes: a run killed between storing an image
  and recording its path makes no second image when resumed, and identical files of one tenant become
  one image that all their paths point to.
- Work runs in threads (libvips must not fork); memory holds one batch of paths plus the files in flight.
- Failures that are not the file's fault (storage or catalog unavailable, unreadable file) are not
  recorded: the next run tries those files again.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from picstore.catalog.legacy import MAX_PATH, canonical_path
from picstore.errors import ImageRejected, InvalidRequest, NoTenant, NotFound, PicstoreError, TooLarge
from picstore.models import Tenant
from picstore.ops.walk import for_each
from picstore.store import ImageStore

#: Called once per file handled, with its size in bytes.
Progress = Callable[[int], None]

#: Paths checked against the catalog at a time.
BATCH = 256


@dataclass(frozen=True)
class Problem:
    """A file that was not imported: its old path (printable), a stable code and what to do."""

    path: str
    code: str
    message: str


@dataclass
class ImportReport:
    """What an import run did."""

    found: int = 0
    imported: int = 0
    #: Files whose bytes were already an image of their tenant (duplicates, or a resumed run's work).
    reused: int = 0
    already_recorded: int = 0
    bytes: int = 0
    seconds: float = 0.0
    refused: list[Problem] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)
    tenants_created: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no file failed for a reason a later run could fix (refusals are final)."""
        return not self.failed

    def to_dict(self) -> dict[str, object]:
        """The JSON form ``picstore import --json`` prints."""
        return {
            "found": self.found,
            "imported": self.imported,
            "reused": self.reused,
            "already_recorded": self.already_recorded,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "refused": [p.__dict__ for p in sorted(self.refused, key=lambda p: p.path)],
            "failed": [p.__dict__ for p in sorted(self.failed, key=lambda p: p.path)],
            "tenants_created": self.tenants_created,
        }


def printable(raw: bytes) -> str:
    """A path's bytes as text for people: UTF-8 where it is, ``\\xNN`` escapes where it is not."""
    return raw.decode("utf-8", "backslashreplace")


def walk_files(root: Path) -> Iterator[tuple[bytes, bytes]]:
    """Every regular file under ``root`` as (absolute path, path relative to root), as bytes, sorted."""
    base = os.fsencode(root)
    for top, dirs, files in os.walk(base):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(top, name)  # noqa: PTH118 - bytes paths: Path would decode the name
            try:
                if not stat.S_ISREG(os.stat(full).st_mode):  # noqa: PTH116 - bytes path
                    continue
            except OSError:
                continue  # a dangling symlink, or gone since the listing
            yield full, os.path.relpath(full, base)


@dataclass(frozen=True)
class TenantRule:
    """Which tenant a file belongs to: one ``slug`` for all, or the match of ``pattern`` on its path.

    ``pattern`` is a regular expression searched in the relative path (``/``-separated); its group
    ``tenant`` (or else its first group) is the slug, e.g. ``^([^/]+)/`` for "the first folder".
    """

    slug: str | None = None
    pattern: re.Pattern[str] | None = None

    @classmethod
    def of(cls, slug: str | None, pattern: str | None) -> TenantRule:
        """Check the options: exactly one of ``slug`` and ``pattern``, and a pattern with a group."""
        if (slug is None) == (pattern is None):
            raise InvalidRequest("give either --tenant SLUG or --tenant-from PATTERN")
        if pattern is None:
            return cls(slug=slug)
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise InvalidRequest(f"--tenant-from {pattern!r} is not a regular expression: {exc}") from exc
        if compiled.groups == 0:
            raise InvalidRequest(f"--tenant-from {pattern!r} needs a group for the slug, e.g. '^([^/]+)/'")
        return cls(pattern=compiled)

    def tenant_of(self, rel: str) -> str:
        """The slug for the file at ``rel``; NoTenant when the pattern does not match."""
        if self.slug is not None:
            return self.slug
        assert self.pattern is not None
        match = self.pattern.search(rel)
        found = None if match is None else match.groupdict().get("tenant") or match.group(1)
        if not found:
            raise NoTenant(f"{rel}: no tenant (the path does not match {self.pattern.pattern!r})")
        return str(found).lower()


class _Tenants:
    """Tenants by slug, looked up once each, created when allowed (thread-safe)."""

    def __init__(self, store: ImageStore, create: bool, report: ImportReport) -> None:
        self.store, self.create, self.report = store, create, report
        self._known: dict[str, Tenant] = {}
        self._lock = threading.Lock()

    def get(self, slug: str) -> Tenant:
        with self._lock:
            if slug not in self._known:
                try:
                    self._known[slug] = self.store.tenant(slug)
                except NotFound:
                    if not self.create:
                        raise NotFound(
                            f"no tenant {slug!r}: create it (`picstore tenant create {slug}`) or pass "
                            "--create-tenants"
                        ) from None
                    tenant, key = self.store.create_tenant(slug)
                    self._known[slug] = tenant
                    self.report.tenants_created[slug] = key
            return self._known[slug]


def import_tree(
    store: ImageStore,
    root: Path,
    rule: TenantRule,
    *,
    create_tenants: bool = False,
    path_prefix: str = "",
    workers: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every file under ``root``; see the module docstring for what is guaranteed."""
    if not root.is_dir():
        raise InvalidRequest(f"{root} is not a directory")
    started = time.monotonic()
    report = ImportReport()
    tenants = _Tenants(store, create_tenants, report)
    lock = threading.Lock()
    prefix = path_prefix.strip("/").encode()

    def batches() -> Iterator[tuple[bytes, bytes, str]]:
        pending: list[tuple[bytes, bytes, str]] = []
        for full, rel in walk_files(root):
            pending.append((full, rel, canonical_path(prefix + b"/" + rel if prefix else rel)))
            if len(pending) == BATCH:
                yield from _unrecorded(pending)
                pending = []
        yield from _unrecorded(pending)

    def _unrecorded(pending: list[tuple[bytes, bytes, str]]) -> Iterator[tuple[bytes, bytes, str]]:
        done = store.catalog.legacy.recorded([p for _, _, p in pending])
        with lock:
            report.found += len(pending)
            report.already_recorded += len(done)
        return (item for item in pending if item[2] not in done)

    def one(item: tuple[bytes, bytes, str]) -> None:
        full, rel, path = item
        shown = printable(rel)
        size = 0
        try:
            size = _import_one(store, tenants, rule, full, shown, path, report, lock)
        except PicstoreError as exc:
            with lock:
                report.failed.append(Problem(shown, exc.code, exc.message))
        except OSError as exc:
            with lock:
                report.failed.append(
                    Problem(shown, "unreadable", f"{exc.strerror or exc}: check its permissions")
                )
        if progress is not None:
            progress(size)

    for_each(batches(), one, workers=workers or min(8, 2 * (os.cpu_count() or 1)), name="import")
    report.seconds = time.monotonic() - started
    return report


def _import_one(
    store: ImageStore,
    tenants: _Tenants,
    rule: TenantRule,
    full: bytes,
    shown: str,
    path: str,
    report: ImportReport,
    lock: threading.Lock,
) -> int:
    """Import one file and record its path; returns its size. Raises what a later run could fix."""
    try:
        if len(path) > MAX_PATH:
            raise InvalidRequest(f"the path is longer than {MAX_PATH} characters once URL-encoded")
        tenant = tenants.get(rule.tenant_of(shown))
    except InvalidRequest as exc:  # no tenant for it, an invalid slug, a path too long
        with lock:
            report.refused.append(Problem(shown, exc.code, exc.message))
        return 0
    limit = store.settings.max_bytes
    with open(full, "rb") as fh:  # noqa: PTH123 - bytes path
        raw = fh.read(limit + 1)
    try:
        if len(raw) > limit:
            raise TooLarge(f"the file is larger than the limit of {limit:,} bytes (max_bytes)")
        before = datetime.now(UTC)
        key = "import:" + hashlib.sha256(raw).hexdigest()
        image = store.put(raw, tenant, shown.rsplit("/", 1)[-1], idempotency_key=key)
    except ImageRejected as exc:
        store.catalog.legacy.record(path, tenant.id, None, exc.code)
        with lock:
            report.refused.append(Problem(shown, exc.code, exc.message))
        return len(raw)
    store.catalog.legacy.record(path, tenant.id, image.id, None)
    with lock:
        report.imported += 1
        report.bytes += len(raw)
        if image.created_at < before:
            report.reused += 1
    return len(raw)
