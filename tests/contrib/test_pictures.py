"""picstore.contrib.pictures: the helpers any framework calls, and ImageStore.get_many behind them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from picstore import ImageStore
from picstore.contrib.pictures import Refusal, picture, pictures, save_upload, settings_from, srcset
from picstore.delivery import html
from picstore.errors import ConfigError, NotFound
from picstore.settings import load_settings
from tests.contrib.corpus_files import ACCEPTED, REFUSED, PictureTags, corpus_file
from tests.helpers import make_jpeg


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    settings = load_settings(storage="memory://", database=f"sqlite:///{tmp_path / 'c.db'}", public_url="/p")
    with ImageStore.from_settings(settings) as s:
        yield s


def _statements(store: ImageStore) -> list[str]:
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_page_of_pictures_is_one_query_then_answers_from_memory(store: ImageStore) -> None:
    store.create_tenant("acme")
    images = [store.put(make_jpeg(700, 400, (i * 20, 0, 0)), "acme") for i in range(5)]
    expected = store.url(images[0].id, "card", "webp")
    seen = _statements(store)
    page = pictures(store, images)
    p = page[0]
    assert [q.id for q in page] == [i.id for i in images]
    assert p.url("card", "webp") == expected
    assert (p.width, p.height, p.alt) == (700, 400, "")
    assert p.srcset("webp") == srcset(p, "webp") == html.srcset(p.image, p.urls, "webp")
    markup = picture(p, "card", sizes="50vw", class_="hero", alt="a <b>")
    assert markup == html.picture(p.image, p.urls, "card", sizes="50vw", alt="a <b>", attrs={"class": "hero"})
    img = PictureTags.parse(str(markup)).tags[-1][1]
    assert img["class"] == "hero" and img["alt"] == "a <b>" and img["sizes"] == "50vw"
    assert str(p.__html__()) == str(p.picture())
    with pytest.raises(NotFound, match="no rendition"):
        p.url("card", "avif")
    assert len(seen) == 1  # the one query for every URL of the page; the rest came from memory


def test_save_upload_refuses_with_code_and_message_and_creates_tenants(store: ImageStore) -> None:
    refused = save_upload(store, corpus_file(REFUSED).read_bytes(), "acme")
    assert isinstance(refused, Refusal) and not refused
    assert refused.code == "corrupt_image" and refused.message
    assert store.list("acme").items == ()  # the tenant exists now; nothing is stored
    with corpus_file(ACCEPTED).open("rb") as fh:
        image = save_upload(store, fh, "globex", filename="a.jpg", alt="front")
    assert not isinstance(image, Refusal)
    assert store.get(image.id, "globex").alt == "front"


def test_get_many_returns_known_ids_from_one_transaction(store: ImageStore) -> None:
    store.create_tenant("acme")
    a = store.put(make_jpeg(), "acme")
    b = store.put(make_jpeg(color=(1, 2, 3)), "acme")
    seen = _statements(store)
    found = store.get_many([a.id, "nope", b.id, a.id])
    assert found == {a.id: store.get(a.id), b.id: store.get(b.id)}
    assert len(seen) == 2 + 2 * 2  # get_many: images and their variants; then the two get()s above
    seen.clear()
    assert store.get_many([]) == {} and seen == []


def test_settings_from_framework_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PICSTORE_MAX_SIDE", "1000")
    config = {"PICSTORE_STORAGE": "memory://", "PICSTORE_MOUNT": "/x", "SECRET_KEY": "s", "PICSTORE_PORT": 81}
    settings = settings_from(config, "PICSTORE_", own=["MOUNT"])
    assert (settings.storage, settings.port, settings.max_side) == ("memory://", 81, 1000)
    with pytest.raises(ConfigError, match="mount"):
        settings_from(config, "PICSTORE_")
    assert settings_from({"STORAGE": "memory://", "TENANT": "t"}, own=["TENANT"]).storage == "memory://"
