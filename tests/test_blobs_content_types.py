"""models.content_type_for_key: the one map from a key's extension to its content type, used by the stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from picstore.blobs.local import LocalStore
from picstore.models import CONTENT_TYPES, EXTENSIONS, content_type_for_key


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("img/ab/cd/abcd.jpg", "image/jpeg"),
        ("x.JPEG", "image/jpeg"),
        ("var/abc/def.webp", "image/webp"),
        ("a.png", "image/png"),
        ("a.gif", "image/gif"),
        ("a.avif", "image/avif"),
        ("a.svg", None),
        ("jpg", None),  # no extension at all
        ("dir.jpg/blob", None),
    ],
)
def test_content_type_for_key(key: str, expected: str | None) -> None:
    assert content_type_for_key(key) == expected


def test_every_stored_format_maps_back() -> None:
    for fmt, ext in EXTENSIONS.items():
        assert content_type_for_key(f"img/x.{ext}") == CONTENT_TYPES[fmt]


def test_the_file_store_reports_it(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put("a/b.webp", b"x", content_type="image/webp")
    store.put("a/c.bin", b"y", content_type="application/octet-stream")
    assert store.head("a/b.webp").content_type == "image/webp"
    assert {i.key: i.content_type for i in store.list("a/")} == {"a/b.webp": "image/webp", "a/c.bin": None}
