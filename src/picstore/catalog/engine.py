"""Opening the catalog database and bringing its schema up to date."""

from __future__ import annotations

import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from picstore.errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # busy_timeout makes writers queue instead of failing (first, so that switching to WAL waits too);
    # WAL lets readers run beside the one writer; synchronous=NORMAL is durable across process crashes in
    # WAL mode (only power loss can drop the tail).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


#: Engines whose one connection must be used by one thread at a time (in-memory SQLite).
_SERIAL: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def serial(engine: Engine) -> AbstractContextManager[object]:
    """A lock to hold around each use of ``engine`` when it has a single shared connection, else a no-op."""
    lock = _SERIAL.get(engine)
    return lock if lock is not None else nullcontext()


def create_catalog_engine(url: str) -> Engine:
    """An Engine for ``sqlite:///path``, ``sqlite://`` (memory) or ``postgresql://...``."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"invalid database URL {url!r}: use sqlite:///path or postgresql://...") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # SQLAlchemy pools a file's connections across threads (check_same_thread=False is its
            # default for files); the busy timeout is the first pragma.
            engine = create_engine(parsed)
        else:
            # One shared connection, or every checkout would see its own empty in-memory database;
            # serial() keeps two threads from using that connection at once.
            engine = create_engine(
                "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
            _SERIAL[engine] = threading.RLock()
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        # psycopg 3 is the driver picstore ships with; plain postgresql:// would ask for psycopg2.
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise ConfigError(f"unsupported database {url!r}: use sqlite:///path or postgresql://...")


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (safe to call on every start; a no-op when current)."""
    cfg = _alembic_config()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Two nodes starting at once must not both run the same migration.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7301004915)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision this version of picstore knows."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()
