"""picstore.contrib.flask on a real Flask app: config, the mount, template helpers, uploads."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, render_template_string, request

from picstore import ImageStore
from picstore.contrib.flask import Picstore
from picstore.contrib.pictures import Refusal
from picstore.errors import ConfigError, NotFound
from tests.contrib.corpus_files import ACCEPTED, REFUSED, PictureTags, corpus_file
from tests.helpers import make_jpeg

PAGE = """{% for p in pics %}{{ picture(p, "card", sizes="(max-width: 600px) 100vw, 600px") }}{% endfor %}"""


def _app(tmp_path: Path, **config: object) -> tuple[Flask, Picstore]:
    app = Flask(__name__)
    app.config.update(
        PICSTORE_STORAGE=(tmp_path / "blobs").as_uri(),
        PICSTORE_DATABASE=f"sqlite:///{tmp_path / 'c.db'}",
        **config,
    )
    ext = Picstore(app)

    @app.post("/upload/<listing>")
    def upload(listing: str) -> tuple[dict[str, str], int]:
        saved = ext.save(request.files["photo"], listing, alt=request.form.get("alt"))
        if isinstance(saved, Refusal):
            return {"code": saved.code, "message": saved.message}, 422
        return {"id": saved.id}, 201

    @app.get("/listing/<listing>")
    def listing(listing: str) -> str:
        return render_template_string(PAGE, pics=ext.listing(listing))

    return app, ext


@pytest.fixture
def flask_app(tmp_path: Path) -> Iterator[tuple[Flask, Picstore]]:
    app, ext = _app(tmp_path)
    yield app, ext
    ext.store.close()


def test_config_gives_one_store_per_app(flask_app: tuple[Flask, Picstore], tmp_path: Path) -> None:
    app, ext = flask_app
    assert isinstance(ext.store, ImageStore)
    assert app.extensions["picstore"] is ext.store
    assert ext.store.settings.storage == (tmp_path / "blobs").as_uri()
    other, other_ext = _app(tmp_path / "other")
    with other.app_context():
        assert ext.store is other.extensions["picstore"] is not app.extensions["picstore"]
    other_ext.store.close()


def test_an_unknown_setting_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no_such_thing"):
        _app(tmp_path, PICSTORE_NO_SUCH_THING=1)


def test_upload_then_the_listing_page_shows_it_and_every_url_serves(
    flask_app: tuple[Flask, Picstore],
) -> None:
    app, ext = flask_app
    client = app.test_client()
    with corpus_file(ACCEPTED).open("rb") as fh:
        resp = client.post("/upload/bakery", data={"photo": (fh, "shop.jpg"), "alt": "the shop <front>"})
    assert resp.status_code == 201, resp.json
    image = ext.store.get(resp.json["id"], "bakery")  # type: ignore[index]
    page = client.get("/listing/bakery").get_data(as_text=True)
    tags = PictureTags.parse(page)
    assert [t for t, _ in tags.tags] == ["picture", "source", "img"]
    source, img = tags.tags[1][1], tags.tags[2][1]
    assert source["type"] == "image/webp" and source["sizes"] == "(max-width: 600px) 100vw, 600px"
    card = image.variant("card", "jpeg")
    assert card is not None
    assert (img["width"], img["height"]) == (str(card.width), str(card.height))
    assert img["alt"] == "the shop <front>" and img["loading"] == "lazy"
    served = {v.sha256 for v in image.variants} | {image.sha256}
    assert len(tags.urls()) >= 3
    for url in tags.urls():
        assert url.startswith("/pictures/b/")
        got = client.get(url)  # through the mount: Flask -> DispatcherMiddleware -> a2wsgi -> picstore
        assert got.status_code == 200, url
        assert got.headers["cache-control"].endswith("immutable")
        assert hashlib.sha256(got.data).hexdigest() in served


def test_a_refused_upload_answers_with_picstores_code_and_nothing_is_stored(
    flask_app: tuple[Flask, Picstore],
) -> None:
    app, ext = flask_app
    with corpus_file(REFUSED).open("rb") as fh:
        resp = app.test_client().post("/upload/bakery", data={"photo": (fh, "broken.png")})
    assert resp.status_code == 422
    assert resp.json == {"code": "corrupt_image", "message": resp.json["message"]}  # type: ignore[index]
    assert resp.json["message"]  # type: ignore[index]
    assert ext.store.list("bakery").items == ()
    assert app.test_client().get("/listing/nobody").get_data(as_text=True) == ""


def test_no_file_is_a_refusal(flask_app: tuple[Flask, Picstore]) -> None:
    app, _ = flask_app
    resp = app.test_client().post("/upload/bakery", data={})
    # request.files["photo"] missing is Flask's own 400; an empty file field is picstore's refusal.
    assert resp.status_code == 400
    resp = app.test_client().post("/upload/bakery", data={"photo": (b"", "")})
    assert resp.status_code == 422 and resp.json["code"] == "no_file"  # type: ignore[index]


def test_mount_none_leaves_serving_to_someone_else(tmp_path: Path) -> None:
    app, ext = _app(tmp_path, PICSTORE_MOUNT=None, PICSTORE_PUBLIC_URL="http://img.example.test")
    with corpus_file(ACCEPTED).open("rb") as fh:
        saved = app.test_client().post("/upload/x", data={"photo": (fh, "a.jpg")})
    url = ext.store.url(saved.json["id"])  # type: ignore[index]
    assert url.startswith("http://img.example.test/b/")
    assert app.test_client().get("/pictures/b/" + url.split("/b/", 1)[1]).status_code == 404
    ext.store.close()


def test_init_app_in_an_application_factory_keeps_each_apps_store(tmp_path: Path) -> None:
    """One ``Picstore()`` made before the apps (a factory's extensions module), ``init_app`` per app: each
    request uses its own app's store, settings and tenant, and each mount serves its own pictures."""
    ext = Picstore()
    with pytest.raises(RuntimeError, match="init_app"):
        _ = ext.store

    def create_app(name: str) -> Flask:
        app = Flask(name)
        app.config.update(
            PICSTORE_STORAGE=(tmp_path / name / "blobs").as_uri(),
            PICSTORE_DATABASE=f"sqlite:///{tmp_path / name}.db",
            PICSTORE_TENANT=f"{name}-site",
        )
        ext.init_app(app)

        @app.post("/upload")
        def upload() -> tuple[dict[str, str], int]:
            saved = ext.save(request.files.get("photo"))  # the tenant: this app's PICSTORE_TENANT
            return ({"id": saved.id, "url": ext.store.url(saved.id)}, 201) if saved else ({}, 422)

        return app

    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one, two = create_app("one"), create_app("two")
    ids = {}
    for app, colour in ((one, (200, 30, 30)), (two, (30, 30, 200))):
        photo = io.BytesIO(make_jpeg(400, 300, colour))  # different bytes: a content address each
        resp = app.test_client().post("/upload", data={"photo": (photo, "shop.jpg")})
        assert resp.status_code == 201
        ids[app.name] = resp.json
    assert one.extensions["picstore"].get(ids["one"]["id"], "one-site")  # type: ignore[index]
    assert two.extensions["picstore"].get(ids["two"]["id"], "two-site")  # type: ignore[index]
    with pytest.raises(NotFound):
        one.extensions["picstore"].get(ids["two"]["id"])  # type: ignore[index]
    assert one.test_client().get(ids["one"]["url"]).status_code == 200  # type: ignore[index]
    assert one.test_client().get(ids["two"]["url"]).status_code == 404  # type: ignore[index]
    for app in (one, two):
        app.extensions["picstore"].close()
