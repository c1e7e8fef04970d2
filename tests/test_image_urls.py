"""ImageStore.image_urls: a page of image ids to images with all their URLs, in one catalog statement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from picstore import ImageStore
from picstore.settings import load_settings
from tests.catalog_support import statements
from tests.helpers import make_jpeg
from tests.http_support import api_for, make_image_store


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> Iterator[ImageStore]:
    settings = load_settings(storage=(tmp_path / "blobs").as_uri(), database=database_url)
    with ImageStore.from_settings(settings) as s:
        yield s


def test_a_page_of_ids_costs_one_statement_and_matches_get_and_urls(store: ImageStore) -> None:
    store.create_tenant("acme")
    store.create_tenant("other")
    ids = [store.put(make_jpeg(300 + i, 200 + i), "acme" if i % 2 else "other").id for i in range(12)]
    with statements(store.engine) as seen:
        found = store.image_urls([*ids, "nosuchimage0000000000", ids[0]])
    assert len(seen) == 1
    assert set(found) == set(ids)  # unknown ids are absent, repeated ids answered once
    expected = store.urls(store.get(i) for i in ids)
    for image_id in ids:
        got = found[image_id]
        assert got.image == store.get(image_id)  # same image, same variants in the same order
        assert got.original == expected[image_id].original == store.url(image_id)
        assert got.variants == expected[image_id].variants
        assert got.variants  # every stored image has preset variants, each with its own URL
        for name, fmt in got.variants:
            assert got.url(name, fmt) == store.url(image_id, name, fmt)


def test_nothing_asked_costs_nothing(tmp_path: Path) -> None:
    settings = load_settings(storage=(tmp_path / "b").as_uri(), database=f"sqlite:///{tmp_path / 'c.db'}")
    with ImageStore.from_settings(settings) as store:
        with statements(store.engine) as seen:
            assert store.image_urls([]) == {}
        assert seen == []


def test_transform_renditions_are_not_listed_as_variants(tmp_path: Path) -> None:
    store = make_image_store(tmp_path, transform_keys=["k" * 32])
    with store, api_for(store) as api:
        image_id = api.upload("acme", make_jpeg(640, 480)).json()["id"]
        url = store.transform_url(image_id, width=100, format="jpeg")
        rendered = api.client.get("/" + url.split("://", 1)[1].split("/", 1)[1])
        assert rendered.status_code == 200, rendered.text
        found = store.image_urls([image_id])[image_id]
        assert found.variants and all(not name.startswith("t:") for name, _ in found.variants)
        assert found.image == store.get(image_id)
