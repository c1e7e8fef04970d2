"""MemoryStore: the conformance suite plus what is particular to the memory backend."""

from __future__ import annotations

import io

import pytest

from picstore.blobs.memory import MemoryStore
from picstore.errors import ConfigError
from picstore.testing import BlobStoreConformance


class TestMemoryConformance(BlobStoreConformance):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


def test_urls() -> None:
    assert MemoryStore().url == "memory://"
    assert MemoryStore("cache").url == "memory://cache"
    assert MemoryStore.from_url("memory://").url == "memory://"
    assert MemoryStore.from_url("memory://cache").name == "cache"


@pytest.mark.parametrize("url", ["memory://a/b", "memory://x?y=1", "file:///tmp", "memory://a b"])
def test_bad_urls_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        MemoryStore.from_url(url)


def test_stores_are_independent() -> None:
    a, b = MemoryStore("same"), MemoryStore("same")
    a.put("k.jpg", b"x", content_type="image/jpeg")
    assert [i.key for i in b.list()] == []


def test_open_returns_bytesio() -> None:
    store = MemoryStore()
    store.put("k.jpg", b"abc", content_type="image/jpeg")
    f = store.open("k.jpg")
    assert isinstance(f, io.BytesIO)
    assert f.read() == b"abc"


def test_stored_bytes_do_not_follow_caller_mutation() -> None:
    store = MemoryStore()
    buf = bytearray(b"abc")
    store.put("k.jpg", buf, content_type="image/jpeg")  # type: ignore[arg-type]
    buf[0] = ord("z")
    assert store.get("k.jpg") == b"abc"


def test_public_url_is_none() -> None:
    store = MemoryStore()
    store.put("k.jpg", b"x", content_type="image/jpeg")
    assert store.public_url("k.jpg") is None
