"""Old URL paths of imported files: what each became (an image) or why it was refused (a code).

Paths are stored in one canonical form, percent-encoded bytes (:func:`canonical_path`), so a file name in
any encoding fits in a text column and a request path matches however the client encoded it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from picstore.catalog.clock import now_us
from picstore.catalog.tables import legacy_paths
from picstore.catalog.transactions import Transactions

#: Longest canonical path the table holds.
MAX_PATH = 2048


def canonical_path(raw: bytes | str) -> str:
    """The one spelling of a URL path: ``/``-joined, every byte outside the unreserved set percent-encoded.

    ``raw`` is a path's bytes (a file's relative path) or a URL path as sent (percent-escapes decoded
    first), so ``/a b.jpg``, ``/a%20b.jpg`` and ``b"/a b.jpg"`` are the same path.
    """
    data = raw if isinstance(raw, bytes) else unquote_to_bytes(raw)
    return "/" + quote(data.strip(b"/"), safe="/")


@dataclass(frozen=True)
class LegacyPath:
    """One imported file's old path and its outcome."""

    path: str
    image_id: str | None
    code: str | None


class LegacyPaths:
    """Record and look up the old paths of imported files."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def record(self, path: str, tenant_id: str | None, image_id: str | None, code: str | None) -> None:
        """Record a path's outcome; a path already recorded keeps its first outcome."""
        with self._tx() as conn:
            dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(
                dialect_insert(legacy_paths)
                .values(path=path, tenant_id=tenant_id, image_id=image_id, code=code, created_us=now_us())
                .on_conflict_do_nothing(index_elements=[legacy_paths.c.path])
            )

    def recorded(self, paths: Sequence[str]) -> set[str]:
        """Which of ``paths`` are recorded already (one query)."""
        if not paths:
            return set()
        with self._tx() as conn:
            rows = conn.execute(select(legacy_paths.c.path).where(legacy_paths.c.path.in_(list(paths))))
            return {r.path for r in rows}

    def image_for(self, path: str) -> str | None:
        """The id of the image an old path became, or None (unknown, or refused at import)."""
        with self._tx() as conn:
            found = conn.execute(select(legacy_paths.c.image_id).where(legacy_paths.c.path == path)).scalar()
        return None if found is None else str(found)

    def walk(self, page: int = 1000) -> Iterator[LegacyPath]:
        """Every recorded path, in path order, ``page`` rows at a time."""
        after = ""
        while True:
            with self._tx() as conn:
                rows = conn.execute(
                    select(legacy_paths)
                    .where(legacy_paths.c.path > after)
                    .order_by(legacy_paths.c.path)
                    .limit(page)
                ).all()
            for r in rows:
                yield LegacyPath(r.path, r.image_id, r.code)
            if len(rows) < page:
                return
            after = rows[-1].path
