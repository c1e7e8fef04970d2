"""`picstore doctor`: effective settings and their sources, where the data is, what answers, what to fix."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.cli_run import picstore


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows}


def test_no_store_here_is_broken_and_nothing_is_created(tmp_path: Path) -> None:
    result = picstore("doctor", "--json", cwd=tmp_path, PICSTORE_PORT=_free_port())
    assert result.code == 1
    report = result.json()
    checks = _by_name(report["checks"])
    assert report["ok"] is False
    assert checks["catalog"]["status"] == checks["storage"]["status"] == "fail"
    assert str(tmp_path / "picstore-data") in checks["storage"]["detail"]
    assert "PICSTORE_STORAGE" in checks["storage"]["fix"]
    assert report["data"]["working_directory"] == str(tmp_path)
    assert list(tmp_path.iterdir()) == []
    plain = picstore("doctor", cwd=tmp_path)
    assert plain.code == 1
    assert any(line.startswith("  FAILED: storage: ") and " -> " in line for line in plain.lines)


def test_settings_sources_and_masked_secrets(tmp_path: Path) -> None:
    assert picstore("tenant", "create", "acme", cwd=tmp_path).code == 0
    (tmp_path / ".env").write_text("PICSTORE_JPEG_QUALITY=70\n")
    (tmp_path / "picstore.toml").write_text("webp_quality = 60\njpeg_quality = 90\n")
    port = _free_port()
    result = picstore(
        "--config",
        "picstore.toml",
        "doctor",
        "--json",
        cwd=tmp_path,
        PICSTORE_PORT=port,
        PICSTORE_ADMIN_KEY="admin-secret-value",
    )
    assert result.code == 0, result.stdout
    assert "admin-secret-value" not in result.stdout
    report = result.json()
    settings = _by_name(report["settings"])
    assert settings["admin_key"] == {
        "name": "admin_key",
        "env": "PICSTORE_ADMIN_KEY",
        "value": "***",
        "source": "environment (PICSTORE_ADMIN_KEY)",
    }
    assert settings["port"]["value"] == int(port)
    assert settings["jpeg_quality"]["value"] == 70  # .env wins over the TOML file
    assert settings["jpeg_quality"]["source"] == f".env ({tmp_path / '.env'})"
    assert settings["webp_quality"]["value"] == 60
    assert settings["webp_quality"]["source"] == f"config file ({Path('picstore.toml')})"
    assert settings["max_bytes"] == {
        "name": "max_bytes",
        "env": "PICSTORE_MAX_BYTES",
        "value": 30_000_000,
        "source": "default",
    }
    assert settings["storage"]["value"] == (tmp_path / "picstore-data" / "blobs").as_uri()
    assert settings["storage"]["source"] == f"default (./picstore-data under {tmp_path})"
    checks = _by_name(report["checks"])
    assert [checks[n]["status"] for n in ("config", "catalog", "storage")] == ["ok", "ok", "ok"]
    # Nothing listens on that port: the URLs store.url() hands out would not load; say what serves them.
    assert checks["serving"]["status"] == "warn" and "picstore serve" in checks["serving"]["fix"]
    assert report["data"]["urls"] == f"http://127.0.0.1:{port}/b/<key>, served by picstore"


def test_invalid_configuration_is_reported(tmp_path: Path) -> None:
    result = picstore("doctor", "--json", cwd=tmp_path, PICSTORE_MAX_BYTES="lots")
    assert result.code == 1
    (config,) = result.json()["checks"]
    assert config["name"] == "config" and config["status"] == "fail" and "max_bytes" in config["detail"]


@pytest.mark.postgres
def test_postgres_password_is_masked_and_an_empty_catalog_is_a_warning(tmp_path: Path, pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(password="hunter2-secret").render_as_string(hide_password=False)
    storage = (tmp_path / "blobs").as_uri()
    (tmp_path / "blobs").mkdir()
    result = picstore(
        "doctor",
        "--json",
        cwd=tmp_path,
        PICSTORE_DATABASE=url,
        PICSTORE_STORAGE=storage,
        PICSTORE_PORT=_free_port(),
    )
    assert "hunter2-secret" not in result.stdout
    report = result.json()
    assert ":***@" in _by_name(report["settings"])["database"]["value"]
    catalog = _by_name(report["checks"])["catalog"]
    assert catalog["status"] == "warn" and "picstore db upgrade" in catalog["fix"]
    assert result.code == 0


def test_unreachable_database_fails(tmp_path: Path) -> None:
    (tmp_path / "blobs").mkdir()
    result = picstore(
        "doctor",
        "--json",
        cwd=tmp_path,
        PICSTORE_DATABASE=f"postgresql://postgres@127.0.0.1:{_free_port()}/nothing",
        PICSTORE_STORAGE=(tmp_path / "blobs").as_uri(),
    )
    assert result.code == 1
    catalog = _by_name(result.json()["checks"])["catalog"]
    assert catalog["status"] == "fail" and "does not answer" in catalog["detail"]
