"""The write target: which blob store takes new writes, recorded once for every node.

There is at most one row. The first :meth:`WriteTargets.ensure` on a new catalog records the caller's
default (the settings' storage URL); after that only :meth:`WriteTargets.switch` changes it, so a node
started with old settings reads the catalog's choice instead of silently switching back.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from picstore.catalog.clock import now_us
from picstore.catalog.tables import write_target
from picstore.catalog.transactions import Transactions

_ROW = 1


class WriteTargets:
    """Read and switch the catalog's write target."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def current(self) -> str | None:
        """The URL of the store that takes new writes, or None when none is recorded yet."""
        with self._tx() as conn:
            found = conn.execute(select(write_target.c.store).where(write_target.c.id == _ROW)).scalar()
        return None if found is None else str(found)

    def ensure(self, default: str) -> str:
        """The recorded write target; records ``default`` first when there is none (race-free)."""
        with self._tx() as conn:
            dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(
                dialect_insert(write_target)
                .values(id=_ROW, store=default, updated_us=now_us())
                .on_conflict_do_nothing(index_elements=[write_target.c.id])
            )
            return str(conn.execute(select(write_target.c.store).where(write_target.c.id == _ROW)).scalar())

    def switch(self, store: str) -> str | None:
        """Make ``store`` the write target; returns the previous one (``store`` itself on a catalog that
        recorded none: :meth:`ensure` records it first)."""
        previous = self.ensure(store)
        if previous != store:
            with self._tx() as conn:
                row = update(write_target).where(write_target.c.id == _ROW)
                conn.execute(row.values(store=store, updated_us=now_us()))
        return previous
