"""The catalog schema and migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect

from picstore import errors
from picstore.catalog import Catalog, create_catalog_engine, upgrade
from picstore.catalog.engine import current_revision, head_revision
from picstore.catalog.tables import metadata


def test_upgrade_creates_schema_and_is_idempotent(database_url: str) -> None:
    engine = create_catalog_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0006"
    insp = inspect(engine)
    assert set(insp.get_table_names()) >= {"tenants", "images", "variants", "blobs", "alembic_version"}
    listing = {ix["name"]: ix["column_names"] for ix in insp.get_indexes("images")}
    assert listing["ix_images_tenant_id_created_us_id"] == ["tenant_id", "created_us", "id"]
    engine.dispose()


def test_migrations_match_the_tables(database_url: str) -> None:
    # The Alembic history and tables.py must describe the same schema.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_catalog_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    engine = create_catalog_engine(f"sqlite:///{tmp_path}/c.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.postgres
def test_concurrent_upgrades_on_postgres(pg_url: str) -> None:
    # Two nodes starting at once: the advisory lock serialises the migration.
    engines = [create_catalog_engine(pg_url) for _ in range(2)]
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            upgrade(engines[i])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert current_revision(engines[0]) == head_revision()


def test_unreachable_database_is_catalog_unavailable() -> None:
    engine = create_catalog_engine("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(errors.CatalogUnavailable):
        Catalog(engine).ping()


def test_bad_database_url_is_config_error() -> None:
    with pytest.raises(errors.ConfigError):
        create_catalog_engine("mysql://x/y")
    with pytest.raises(errors.ConfigError):
        create_catalog_engine("::not a url::")


def test_in_memory_sqlite_is_safe_across_threads() -> None:
    # `sqlite://` shares one connection; concurrent requests must take turns, not crash.
    from concurrent.futures import ThreadPoolExecutor

    engine = create_catalog_engine("sqlite://")
    upgrade(engine)
    catalog = Catalog(engine)

    def make(i: int) -> str:
        return catalog.tenants.create(f"id{i}", f"t{i}", f"T{i}", f"{i:064d}").slug

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(make, range(64)))
    assert sorted(made) == sorted(t.slug for t in catalog.tenants.all())
    assert len(made) == 64


def test_every_repository_of_the_catalog_reads_its_database() -> None:
    # Catalog composes one repository per table family, all on its engine's one transaction helper.
    engine = create_catalog_engine("sqlite://")
    upgrade(engine)
    catalog = Catalog(engine)
    assert catalog.engine is engine and catalog.tx.engine is engine
    catalog.tenants.create("t1", "acme", "Acme", "0" * 64)
    assert [t.slug for t in catalog.tenants.all()] == ["acme"]
    assert catalog.images.count() == 0
    assert catalog.blobs.iter_blobs(None, 10) == []
    assert catalog.uploads.expired(2**62) == []
    assert catalog.renders.render_jobs_count() == 0
    assert catalog.listings.usage() == {}
    assert catalog.access.grant("0" * 64, "session") is None
    assert catalog.targets.current() is None
    assert catalog.legacy.recorded(["/a.jpg"]) == set()
    catalog.ping()
