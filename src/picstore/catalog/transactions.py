"""The one transaction helper every catalog repository goes through.

SQLAlchemy errors are translated here, in one place: a lost database becomes
:class:`~picstore.errors.CatalogUnavailable`, a duplicate becomes :class:`~picstore.errors.Conflict`, a
value the database cannot hold becomes :class:`~picstore.errors.InvalidRequest`. The driver's own message
(host, port, constraint names) goes to the log, never to clients.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, select
from sqlalchemy import exc as sa_exc

from picstore.catalog.engine import serial
from picstore.errors import CatalogUnavailable, Conflict, InvalidRequest

log = logging.getLogger("picstore.catalog")


class Transactions:
    """Opens transactions on one engine: ``with tx() as conn:`` commits on success, rolls back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def __call__(self) -> Iterator[Connection]:
        try:
            with serial(self.engine), self.engine.begin() as conn:
                yield conn
        except sa_exc.IntegrityError as exc:
            log.info("catalog conflict: %s", exc.orig)
            raise Conflict("the write conflicts with one made at the same time; try again") from exc
        except sa_exc.DataError as exc:
            # A value the database cannot hold (NUL in text, a number out of range) that got past the
            # callers' checks: the input's fault, not the service's.
            log.info("catalog refused a value: %s", exc.orig)
            raise InvalidRequest("a value in the request is out of range") from exc
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            log.warning("catalog database unavailable: %s", exc.orig)
            raise CatalogUnavailable(
                "the catalog database is unavailable; try again later (operators: see the server log)"
            ) from exc

    def ping(self) -> None:
        """Raise CatalogUnavailable unless the database answers."""
        with self() as conn:
            conn.execute(select(1))
