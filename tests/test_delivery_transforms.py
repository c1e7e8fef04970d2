"""srcset and <picture> with transform widths: signed URLs for the widths no stored rendition has, each
rendering to exactly the width it is declared with."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image as PILImage

from picstore.delivery.html import candidates, picture, srcset
from tests.helpers import make_jpeg
from tests.http_support import Api, api_for, make_image_store


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    store = make_image_store(tmp_path, transform_keys=["w" * 40])
    with store, api_for(store) as a:
        yield a


def _local(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_without_widths_nothing_changes(api: Api) -> None:
    image = api.store.put(make_jpeg(1000, 500), "acme")
    urls = api.store.urls([image])[image.id]
    assert srcset(image, urls, "jpeg", "card") == srcset(
        image, urls, "jpeg", "card", widths=(), transform_url=api.store.transform_url
    )
    assert "/t/" not in srcset(image, urls, "jpeg", "card", widths=(320,))  # no transform_url: ignored


def test_transform_widths_fill_the_gaps_and_render_to_their_width(api: Api) -> None:
    image = api.store.put(make_jpeg(1000, 500), "acme")
    urls = api.store.urls([image])[image.id]
    found = candidates(
        image, urls, "webp", "card", widths=(320, 640, 960, 2000), transform_url=api.store.transform_url
    )
    widths = [w for _, w in found]
    assert widths == [320, 640, 960, 1000]  # 640 and 1000 are stored renditions; 2000 would enlarge
    by_width = dict((w, u) for u, w in found)
    assert "/t/" not in by_width[640] and "/t/" not in by_width[1000]
    for width in (320, 960):
        assert "/t/" in by_width[width] and "f=webp" in by_width[width]
        response = api.client.get(_local(by_width[width]))
        assert response.status_code == 200, response.text
        with PILImage.open(io.BytesIO(response.content)) as img:
            assert (img.format, img.size) == ("WEBP", (width, width // 2))


def test_cropped_shapes_get_cover_transforms_of_the_same_shape(api: Api) -> None:
    image = api.store.put(make_jpeg(1000, 500), "acme")
    urls = api.store.urls([image])[image.id]
    found = candidates(
        image, urls, "jpeg", "thumb", widths=(100, 400, 600), transform_url=api.store.transform_url
    )
    assert [w for _, w in found] == [100, 200, 400]  # a square crop of a 1000x500 picture is at most 500 wide
    url = dict((w, u) for u, w in found)[400]
    response = api.client.get(_local(url))
    with PILImage.open(io.BytesIO(response.content)) as img:
        assert img.size == (400, 400)


def test_picture_offers_avif_through_transforms(api: Api) -> None:
    image = api.store.put(make_jpeg(1000, 500), "acme")
    urls = api.store.urls([image])[image.id]
    markup = str(picture(image, urls, "card", widths=(320,), transform_url=api.store.transform_url))
    assert '<source type="image/avif" srcset="' in markup
    assert "f=avif" in markup and "f=webp" in markup and "f=jpeg" in markup
