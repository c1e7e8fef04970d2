"""Where direct uploads wait: never anywhere the image store's public URLs (or its web server) reach.

No S3 server is needed: choosing and checking the incoming location sends no request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from picstore import ImageStore
from picstore.direct_uploads import incoming_location
from picstore.errors import ConfigError
from picstore.settings import load_settings

ENDPOINT = "http://127.0.0.1:9"  # nothing listens: a request would fail loudly


@contextmanager
def _store(tmp_path: Path, storage: str, **settings: Any) -> Iterator[ImageStore]:
    values: dict[str, Any] = {
        "storage": storage,
        "database": f"sqlite:///{tmp_path / 'catalog.db'}",
        "s3_endpoint": ENDPOINT,
        **settings,
    }
    with ImageStore.from_settings(load_settings(**values)) as store:
        yield store


def _incoming(tmp_path: Path, storage: str, **settings: Any) -> str:
    with _store(tmp_path, storage, **settings) as store:
        return incoming_location(store).url


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("s3://bkt/prod", "s3://bkt/incoming/prod"),
        ("s3://bkt/a/b", "s3://bkt/incoming/a/b"),
        ("s3://bkt/incoming-images", "s3://bkt/incoming/incoming-images"),  # a sibling name, not inside
        ("s3://bkt/incoming/prod", "s3://bkt/incoming/incoming/prod"),
    ],
)
def test_the_default_lies_outside_the_public_prefix(tmp_path: Path, storage: str, expected: str) -> None:
    assert _incoming(tmp_path, storage) == expected


@pytest.mark.parametrize("storage", ["s3://bkt/incoming", "s3://bkt/incoming/incoming"])
def test_a_default_that_would_nest_inside_the_public_prefix_is_refused(tmp_path: Path, storage: str) -> None:
    # s3://bkt/incoming would put incoming files at incoming/incoming/..., inside the public bkt/incoming/*.
    with pytest.raises(ConfigError, match="PICSTORE_UPLOAD_INCOMING") as caught:
        _incoming(tmp_path, storage)
    assert "inside" in str(caught.value) and "public-read" in str(caught.value)


@pytest.mark.parametrize(
    "incoming",
    ["s3://bkt/prod", "s3://bkt/prod/", "s3://bkt/prod/incoming", "s3://bkt/prod/x/y"],
)
def test_a_configured_location_inside_the_public_prefix_is_refused(tmp_path: Path, incoming: str) -> None:
    with pytest.raises(ConfigError, match="PICSTORE_UPLOAD_INCOMING"):
        _incoming(tmp_path, "s3://bkt/prod", upload_incoming=incoming)


@pytest.mark.parametrize(
    ("storage", "incoming"),
    [
        ("s3://bkt/prod", "s3://bkt/private"),
        ("s3://bkt/prod", "s3://bkt/production"),  # shares a beginning, not a prefix
        ("s3://bkt/prod", "s3://other/prod"),
        ("s3://bkt", "s3://other-bucket/incoming"),
    ],
)
def test_a_configured_location_outside_it_is_used(tmp_path: Path, storage: str, incoming: str) -> None:
    assert _incoming(tmp_path, storage, upload_incoming=incoming) == incoming


def test_a_bucket_readable_as_a_whole_has_no_private_place(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="readable as a whole"):
        _incoming(tmp_path, "s3://bkt")
    with pytest.raises(ConfigError, match="readable as a whole"):
        _incoming(tmp_path, "s3://bkt", upload_incoming="s3://bkt/private")
    # A CDN in front of a presigning bucket reads every object in it.
    with pytest.raises(ConfigError, match="readable as a whole"):
        _incoming(tmp_path, "s3://bkt", s3_presign=True, s3_public_url="https://cdn.example.com")


def test_a_private_bucket_may_hold_incoming_files(tmp_path: Path) -> None:
    assert _incoming(tmp_path, "s3://bkt", s3_presign=True) == "s3://bkt/incoming"


def test_a_directory_inside_the_blob_directory_is_refused(tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    with pytest.raises(ConfigError, match="inside the blob directory"):
        _incoming(tmp_path, blobs.as_uri(), upload_incoming=(blobs / "incoming").as_uri())
    with pytest.raises(ConfigError, match="is the image store itself"):
        _incoming(tmp_path, blobs.as_uri(), upload_incoming=blobs.as_uri())
    beside = (tmp_path / "incoming").as_uri()
    assert _incoming(tmp_path, blobs.as_uri(), upload_incoming=beside) == beside
    assert _incoming(tmp_path, blobs.as_uri()) == (tmp_path / "blobs-incoming").as_uri()
