"""Opening the catalog database: which engine each URL gets (driver, pool, SQLite settings), the refusal of
what picstore cannot open, the one shared in-memory connection taken in turns, the schema revisions."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from picstore import errors
from picstore.catalog import Catalog, create_catalog_engine, upgrade
from picstore.catalog.engine import MIGRATIONS, current_revision, head_revision, serial


def test_a_sqlite_file_gets_wal_durable_enough_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_catalog_engine(f"sqlite:///{tmp_path}/c.db")
    with engine.connect() as conn:
        pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("journal_mode", "synchronous")}
        pragmas.update(
            {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("foreign_keys", "busy_timeout")}
        )
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 10000}
    engine.dispose()


def test_a_sqlite_files_directories_are_made_and_may_exist(tmp_path: Path) -> None:
    for _ in range(2):  # the second time the directories exist already
        engine = create_catalog_engine(f"sqlite:///{tmp_path}/a/b/c.db")
        upgrade(engine)
        engine.dispose()
    assert (tmp_path / "a" / "b" / "c.db").is_file()


def test_a_sqlite_file_connection_may_move_between_threads(tmp_path: Path) -> None:
    engine = create_catalog_engine(f"sqlite:///{tmp_path}/c.db")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    failures: list[BaseException] = []

    def use() -> None:  # checks out the pooled connection made in the main thread
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    assert failures == []
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_catalog_is_one_database_shared_by_every_use(url: str) -> None:
    engine = create_catalog_engine(url)
    upgrade(engine)
    catalog = Catalog(engine)
    catalog.tenants.create("t1", "acme", "Acme", "0" * 64)
    assert [t.slug for t in Catalog(engine).tenants.all()] == ["acme"]
    seen: list[object] = []
    other = threading.Thread(target=lambda: seen.append([t.slug for t in catalog.tenants.all()]))
    other.start()
    other.join()
    assert seen == [["acme"]]  # another thread, the same database
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_shared_in_memory_connection_is_used_by_one_thread_at_a_time(tmp_path: Path) -> None:
    memory = create_catalog_engine("sqlite://")
    on_file = create_catalog_engine(f"sqlite:///{tmp_path}/c.db")
    entered = threading.Event()

    def enter(engine: object) -> None:
        with serial(engine):  # type: ignore[arg-type]
            entered.set()

    for engine, waits in [(memory, True), (on_file, False)]:
        entered.clear()
        with serial(engine):
            other = threading.Thread(target=enter, args=(engine,))
            other.start()
            # The in-memory engine's lock keeps the other thread out until this one leaves; a file
            # engine has a connection per checkout and no lock.
            assert entered.wait(0.5) is not waits
        other.join()
        assert entered.is_set()
    memory.dispose()
    on_file.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@127.0.0.1/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@127.0.0.1/db", "postgresql+psycopg"),
    ],
)
def test_postgresql_gets_psycopg_3_and_a_pool_that_checks_its_connections(url: str, driver: str) -> None:
    engine = create_catalog_engine(url)
    assert engine.url.drivername == driver
    assert engine.dialect.driver == "psycopg"
    pool = engine.pool
    assert pool._pre_ping is True  # type: ignore[attr-defined]
    assert pool.size() == 10 and pool._max_overflow == 10  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "unsupported database 'mysql://x/y': use sqlite:///path or postgresql://..."),
        (
            "postgres://u@h/db",
            "unsupported database 'postgres://u@h/db': use sqlite:///path or postgresql://...",
        ),
        ("::not a url::", "invalid database URL '::not a url::': use sqlite:///path or postgresql://..."),
    ],
)
def test_a_database_picstore_cannot_open_is_a_config_error(url: str, message: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        create_catalog_engine(url)
    assert caught.value.message == message


def test_revisions_of_an_empty_and_an_upgraded_catalog() -> None:
    engine = create_catalog_engine("sqlite://")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    newest = max(p.name for p in (MIGRATIONS / "versions").glob("0*.py"))
    assert head_revision() == newest.split("_", 1)[0]
