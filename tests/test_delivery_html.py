"""The picture helpers and the batch URL lookup: markup parsed back, URLs from one catalog query."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import event

from picstore import ImageStore
from picstore.delivery.html import candidates, picture, srcset
from picstore.models import Image, ImageUrls
from tests.helpers import make_jpeg


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _parse(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(markup)
    return parser.tags


@pytest.fixture
def memory_store() -> Iterator[ImageStore]:
    with ImageStore(storage="memory://", database="sqlite://") as s:
        s.create_tenant("acme")
        yield s


@pytest.fixture
def photo(memory_store: ImageStore) -> tuple[Image, ImageUrls]:
    image = memory_store.put(make_jpeg(2000, 1500), "acme", alt='A "shop" <front>')
    return image, memory_store.urls([image])[image.id]


def _widths(value: str) -> list[int]:
    return [int(part.rsplit(" ", 1)[1].rstrip("w")) for part in value.split(", ")]


def test_urls_match_url_for_master_and_every_variant(
    memory_store: ImageStore, photo: tuple[Image, ImageUrls]
) -> None:
    image, urls = photo
    assert urls.original == memory_store.url(image.id)
    assert len(urls.variants) == len(image.variants) == 6
    for v in image.variants:
        assert urls.url(v.name, v.format) == memory_store.url(image.id, v.name, v.format)
    assert urls.url("card", "avif") is None
    assert urls.url("original", "png") is None


def test_urls_of_a_page_is_one_catalog_query(memory_store: ImageStore) -> None:
    for i in range(12):
        memory_store.put(make_jpeg(300 + i, 200), "acme")
    page = memory_store.list("acme", limit=12)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(memory_store.engine, "before_cursor_execute", count)
    try:
        found = memory_store.urls(page.items)
    finally:
        event.remove(memory_store.engine, "before_cursor_execute", count)
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == statements
    assert len(statements) == 1
    assert set(found) == {i.id for i in page.items}


def test_srcset_keeps_one_shape_and_real_widths(photo: tuple[Image, ImageUrls]) -> None:
    image, urls = photo
    # card (640x480) and large (1600x1200) share the photo's 4:3 shape; the 200x200 thumb crop does not.
    assert _widths(srcset(image, urls, "jpeg", like="card")) == [640, 1600, 2000]
    assert _widths(srcset(image, urls, "webp", like="card")) == [640, 1600]
    assert _widths(srcset(image, urls, "jpeg", like="thumb")) == [200]
    assert [url for url, _ in candidates(image, urls, "webp", "card")] == [
        urls.url("card", "webp"),
        urls.url("large", "webp"),
    ]


def test_picture_markup(photo: tuple[Image, ImageUrls]) -> None:
    image, urls = photo
    markup = picture(image, urls, "card", sizes="(max-width: 600px) 100vw, 600px", attrs={"class": "x"})
    tags = _parse(markup)
    assert [t for t, _ in tags] == ["picture", "source", "img"]
    source, img = tags[1][1], tags[2][1]
    assert source["type"] == "image/webp"
    assert source["srcset"] == srcset(image, urls, "webp", "card")
    assert source["sizes"] == img["sizes"] == "(max-width: 600px) 100vw, 600px"
    assert img["src"] == urls.url("card", "jpeg")
    assert (img["width"], img["height"]) == ("640", "480")
    assert img["alt"] == 'A "shop" <front>'  # escaped in the markup, read back whole
    assert '"shop"' not in markup and "<front>" not in markup
    assert img["loading"] == "lazy" and img["class"] == "x"


def test_picture_defaults_and_refusals(photo: tuple[Image, ImageUrls]) -> None:
    image, urls = photo
    img = _parse(picture(image, urls, "thumb", alt="", loading="eager"))[-1][1]
    assert (img["width"], img["height"], img["alt"], img["loading"]) == ("200", "200", "", "eager")
    assert img["sizes"] == "(max-width: 200px) 100vw, 200px"
    original = _parse(picture(image, urls, "original"))[-1][1]
    assert original["src"] == urls.original and original["width"] == "2000"
    with pytest.raises(KeyError, match="no variant 'huge'"):
        picture(image, urls, "huge")
