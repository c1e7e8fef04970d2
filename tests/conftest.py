"""Shared fixtures: catalog databases (SQLite and a throw-away PostgreSQL database), stores, images."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import make_jpeg

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
if not CORPUS.is_dir():  # a clone outside /work: look beside the checkout, then in PICSTORE_CORPUS
    CORPUS = Path(os.environ.get("PICSTORE_CORPUS", "/work/shared/corpus"))

PG_ADMIN_URL = os.environ.get("PICSTORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = bool(os.environ.get("CI"))


def _pg_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI but {reason}")
    pytest.skip(f"PostgreSQL not reachable ({reason}); set PICSTORE_TEST_PG to run these tests")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; its URL. Dropped at the end."""
    import psycopg

    name = f"picstore_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _pg_unavailable(str(exc).strip().splitlines()[0])
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied before each test."""
    import psycopg

    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    yield pg_server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A catalog URL: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def libvips_ready() -> None:
    """libvips set up as every pipeline entry point sets it up (loader allowlist, no operation cache), for
    tests that call the pipeline's parts directly."""
    from picstore.ingest.libvips import ensure_ready

    ensure_ready()


@pytest.fixture
def jpeg_bytes() -> bytes:
    return make_jpeg()


@pytest.fixture
def image_store(tmp_path: Path) -> Iterator[object]:
    """An ImageStore on the file backend and a SQLite catalog under tmp_path."""
    from picstore import ImageStore
    from picstore.settings import load_settings

    settings = load_settings(
        storage=(tmp_path / "blobs").as_uri(), database=f"sqlite:///{tmp_path / 'cat.db'}"
    )
    with ImageStore.from_settings(settings) as s:
        yield s


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last: Playwright's sync API keeps an event loop running in the main thread
    for the rest of the session, and tests that drive ASGI apps with asyncio.run cannot run after it."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid.replace("\\", "/"))
