"""The catalog's one transaction helper: commit on success, roll back on error, and each SQLAlchemy error
family translated into picstore's error with a message for clients, the driver's text only in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, insert, select

from picstore import errors
from picstore.catalog import Catalog, create_catalog_engine
from picstore.catalog.tables import tenants
from picstore.catalog.transactions import Transactions
from tests.catalog_support import migrated_catalog


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    with migrated_catalog(database_url, "acme") as catalog:
        yield catalog


def _tenant(n: int) -> dict[str, object]:
    return {"id": f"x{n}", "slug": f"x{n}", "name": "X", "api_key_hash": f"{n:064d}", "created_us": 1}


def _count(catalog: Catalog) -> int:
    with catalog.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tenants)).scalar_one())


def test_a_block_that_ends_commits_and_one_that_raises_rolls_back(catalog: Catalog) -> None:
    with catalog.tx() as conn:
        conn.execute(insert(tenants).values(**_tenant(1)))
    assert _count(catalog) == 2
    with pytest.raises(KeyError), catalog.tx() as conn:
        conn.execute(insert(tenants).values(**_tenant(2)))
        raise KeyError("not a database error: passes through untranslated")
    assert _count(catalog) == 2


def test_a_duplicate_is_a_conflict_and_the_driver_text_goes_to_the_log(
    catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="picstore.catalog")
    with pytest.raises(errors.Conflict) as caught, catalog.tx() as conn:
        conn.execute(insert(tenants).values(**_tenant(1)))
        conn.execute(insert(tenants).values(**_tenant(1)))
    assert caught.value.message == "the write conflicts with one made at the same time; try again"
    assert isinstance(caught.value.__cause__, sa_exc.IntegrityError)
    assert _count(catalog) == 1  # the first insert was rolled back with the second
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "picstore.catalog"] == [
        (logging.INFO, f"catalog conflict: {caught.value.__cause__.orig}")
    ]


@pytest.mark.parametrize("where", ["in the block", "from the database"])
def test_a_value_the_database_cannot_hold_is_an_invalid_request(
    catalog: Catalog, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    caplog.set_level(logging.INFO, logger="picstore.catalog")
    driver = ValueError("value out of range for type bigint")
    with pytest.raises(errors.InvalidRequest) as caught, catalog.tx() as conn:
        if where == "in the block" or conn.dialect.name != "postgresql":
            raise sa_exc.DataError("INSERT ...", {}, driver)
        conn.execute(insert(tenants).values(**{**_tenant(1), "created_us": 2**63}))
    assert caught.value.message == "a value in the request is out of range"
    assert caught.value.code == "invalid_request"
    cause = caught.value.__cause__
    assert isinstance(cause, sa_exc.DataError)
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "picstore.catalog"] == [
        (logging.INFO, f"catalog refused a value: {cause.orig}")
    ]
    assert _count(catalog) == 1


@pytest.mark.parametrize("error", [sa_exc.OperationalError, sa_exc.InterfaceError])
def test_a_lost_database_is_catalog_unavailable(
    catalog: Catalog, caplog: pytest.LogCaptureFixture, error: type[sa_exc.DBAPIError]
) -> None:
    driver = ConnectionError("connection to 10.0.0.7:5432 lost")
    with pytest.raises(errors.CatalogUnavailable) as caught, catalog.tx():
        raise error("SELECT 1", {}, driver)
    assert caught.value.message == (
        "the catalog database is unavailable; try again later (operators: see the server log)"
    )
    assert "10.0.0.7" not in str(caught.value)
    assert caught.value.__cause__ is not None and caught.value.__cause__.orig is driver  # type: ignore[attr-defined]
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "picstore.catalog"] == [
        (logging.WARNING, "catalog database unavailable: connection to 10.0.0.7:5432 lost")
    ]


def test_ping_answers_when_the_database_does() -> None:
    Transactions(create_catalog_engine("sqlite://")).ping()
    with pytest.raises(errors.CatalogUnavailable):
        Transactions(create_catalog_engine("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")).ping()
