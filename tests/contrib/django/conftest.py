"""Django for these tests only: settings configured when pytest collects this directory.

Two Django databases: ``default`` (SQLite) and ``pg`` (a throw-away PostgreSQL database that
pytest-django creates as ``test_<name>`` only when a test asks for it). picstore's own catalog and blobs
live under a per-test directory (the ``picstore`` fixture points ``settings.PICSTORE`` at them).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings

PG = os.environ.get("PICSTORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_up() -> bool:
    import psycopg

    try:
        psycopg.connect(PG, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


#: Whether the ``pg`` database exists for these tests: outside CI, no PostgreSQL means they are skipped;
#: under CI the alias is always there, so a missing server fails them.
PG_UP = bool(os.environ.get("CI")) or _pg_up()


def _pg_alias() -> dict[str, dict[str, str]]:
    if not PG_UP:
        return {}
    host_port = PG.split("@", 1)[1].split("/", 1)[0]
    return {
        "pg": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": f"picstore_dj_{uuid.uuid4().hex[:10]}",
            "USER": "postgres",
            "HOST": host_port.split(":")[0],
            "PORT": host_port.split(":")[1] if ":" in host_port else "5432",
        }
    }


if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only-" + "x" * 40,
        ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost"],
        ROOT_URLCONF="tests.contrib.django.urls",
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "picstore.contrib.django",
            "tests.contrib.django.listings",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
            **_pg_alias(),
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        PICSTORE={"STORAGE": "memory://", "DATABASE": "sqlite://"},
    )
    django.setup()


@pytest.fixture
def picstore(tmp_path: Path, settings: Any) -> Iterator[Any]:
    """The process's ImageStore, on fresh blobs and a fresh SQLite catalog under tmp_path."""
    from picstore.contrib.django.conf import get_store, reset_store

    settings.PICSTORE = {
        "STORAGE": (tmp_path / "blobs").as_uri(),
        "DATABASE": f"sqlite:///{tmp_path / 'catalog.db'}",
        "TENANT": "site",
    }
    yield get_store()
    reset_store()
