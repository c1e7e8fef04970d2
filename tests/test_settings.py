"""Settings from defaults, PICSTORE_* env vars, a .env file and a TOML file, in that precedence."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from picstore import errors
from picstore.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("PICSTORE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_zero_config_defaults(tmp_path: Path) -> None:
    s = load_settings()
    assert s.storage_url == (tmp_path / "picstore-data" / "blobs").as_uri()
    assert s.database_url == f"sqlite:///{tmp_path / 'picstore-data' / 'picstore.db'}"
    assert s.base_url == "http://127.0.0.1:8080"
    assert s.max_bytes == 30_000_000 and s.max_pixels == 50_000_000 and s.max_side == 4096
    assert set(s.variants) == {"thumb", "card", "large"}


def test_env_overrides_dotenv_overrides_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "picstore.toml"
    toml.write_text(
        'storage = "memory://"\nport = 9000\nmax_bytes = 1000\n[variants]\nthumb = "cover:100x100"\n'
    )
    (tmp_path / ".env").write_text("PICSTORE_PORT=9100\n")
    s = load_settings(toml)
    assert s.storage == "memory://" and s.port == 9100 and s.max_bytes == 1000
    assert s.variants == {"thumb": "cover:100x100"}
    monkeypatch.setenv("PICSTORE_PORT", "9200")
    monkeypatch.setenv("PICSTORE_PUBLIC_URL", "https://img.example.com/")
    s = load_settings(toml)
    assert s.port == 9200 and s.base_url == "https://img.example.com"


def test_invalid_values_are_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PICSTORE_PORT", "not-a-port")
    with pytest.raises(errors.ConfigError, match="port"):
        load_settings()
    monkeypatch.delenv("PICSTORE_PORT")
    (tmp_path / "bad.toml").write_text("no_such_setting = 1\n")
    with pytest.raises(errors.ConfigError, match="no_such_setting"):
        load_settings(tmp_path / "bad.toml")
    with pytest.raises(errors.ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_settings_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        s.port = 1  # type: ignore[misc]
