"""open_blob_store: URL scheme -> backend."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from picstore.blobs.local import LocalStore
from picstore.blobs.memory import MemoryStore
from picstore.blobs.registry import open_blob_store
from picstore.errors import ConfigError


def test_memory() -> None:
    store = open_blob_store("memory://")
    assert isinstance(store, MemoryStore)
    assert store.url == "memory://"
    assert open_blob_store("memory://named").url == "memory://named"


def test_file(tmp_path: Path) -> None:
    store = open_blob_store((tmp_path / "blobs").as_uri())
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path / "blobs"
    store.put("a.jpg", b"x", content_type="image/jpeg")
    assert (tmp_path / "blobs" / "a.jpg").read_bytes() == b"x"


def test_scheme_is_case_insensitive(tmp_path: Path) -> None:
    assert isinstance(open_blob_store("FILE://" + str(tmp_path)), LocalStore)
    assert isinstance(open_blob_store("Memory://"), MemoryStore)


def test_s3_is_imported_lazily_and_gets_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Any]] = []

    class FakeS3Store:
        @classmethod
        def from_url(cls, url: str, settings: object | None) -> FakeS3Store:
            calls.append((url, settings))
            return sentinel

    fake = types.ModuleType("picstore.blobs.s3")
    fake.S3Store = FakeS3Store  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picstore.blobs.s3", fake)
    sentinel = FakeS3Store()
    settings = object()
    store: object = open_blob_store("s3://bucket/prefix", settings)
    assert store is sentinel
    assert calls == [("s3://bucket/prefix", settings)]


def test_registry_does_not_import_s3() -> None:
    # file:// and memory:// users must not need the S3 stack at import time.
    source = Path(open_blob_store.__code__.co_filename).read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not any("s3" in line for line in top_level)


@pytest.mark.parametrize(
    "url", ["gs://bucket", "http://example.com/x", "/srv/blobs", "", "blobs", "ftp://host/x"]
)
def test_unknown_scheme_lists_accepted(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_blob_store(url)
    message = str(caught.value)
    for accepted in ("file://", "s3://", "memory://"):
        assert accepted in message


def test_bad_file_url_is_config_error() -> None:
    with pytest.raises(ConfigError):
        open_blob_store("file://otherhost/srv/blobs")
