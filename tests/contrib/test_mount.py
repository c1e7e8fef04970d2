"""store.asgi_app() mounted in FastAPI under a prefix, and store.wsgi_app() under SCRIPT_NAME (a2wsgi)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from werkzeug.test import Client

from picstore import ImageStore
from picstore.errors import ConfigError
from picstore.settings import load_settings
from picstore.web.mount import mount_prefix
from tests.helpers import make_jpeg


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    settings = load_settings(storage=(tmp_path / "blobs").as_uri(), database=f"sqlite:///{tmp_path / 'c.db'}")
    with ImageStore.from_settings(settings) as s:
        s.create_tenant("acme")
        yield s


def _served(get: object, url: str, sha256: str) -> None:
    resp = get(url)  # type: ignore[operator]
    assert resp.status_code == 200, url
    assert hashlib.sha256(resp.data if hasattr(resp, "data") else resp.content).hexdigest() == sha256


def test_fastapi_mount_serves_blobs_and_the_api_under_the_prefix(store: ImageStore) -> None:
    host = FastAPI()

    @host.get("/")
    def home() -> dict[str, str]:
        return {"app": "host"}

    host.mount("/pictures", store.asgi_app("/pictures"))
    _, key = store.create_tenant("globex")
    image = store.put(make_jpeg(), "acme")
    url = store.url(image.id)
    assert url.startswith("/pictures/b/img/")
    with TestClient(host) as client:
        assert client.get("/").json() == {"app": "host"}
        # Twice: the first answer comes through the router, the second from the blob cache.
        for _ in range(2):
            _served(client.get, url, image.sha256)
        for v in image.variants:
            _served(client.get, store.url(image.id, v.name, v.format), v.sha256)
        assert client.get("/b/" + image.key).status_code == 404  # only under the prefix
        assert client.get("/pictures/healthz").json()["status"] == "ok"
        up = client.post(
            "/pictures/v1/images",
            files={"file": ("x.jpg", make_jpeg(color=(1, 2, 3)), "image/jpeg")},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert up.status_code == 201, up.text
        body = up.json()
        assert up.headers["location"] == f"/pictures/v1/images/{body['id']}"
        assert client.get(up.headers["location"], headers={"Authorization": f"Bearer {key}"}).json() == body
        assert body["url"].startswith("/pictures/b/")
        _served(client.get, body["url"], body["sha256"])
        missing = client.get("/pictures/b/img/00/00/" + "0" * 64 + ".jpg")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


def test_public_url_wins_over_the_mount_prefix(tmp_path: Path) -> None:
    settings = load_settings(
        storage="memory://", database="sqlite://", public_url="https://cdn.example.test/pics"
    )
    with ImageStore.from_settings(settings) as store:
        store.create_tenant("acme")
        store.asgi_app("/pictures")
        image = store.put(make_jpeg(), "acme")
        assert store.url(image.id).startswith("https://cdn.example.test/pics/b/")


def test_wsgi_app_serves_under_script_name(store: ImageStore) -> None:
    image = store.put(make_jpeg(), "acme")
    wsgi = store.wsgi_app("/media")
    client = Client(wsgi)
    url = store.url(image.id, "card", "webp")
    assert url.startswith("/media/b/var/")
    rest = url.removeprefix("/media")
    resp = client.get(rest, environ_overrides={"SCRIPT_NAME": "/media"})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/webp"
    assert hashlib.sha256(resp.data).hexdigest() == image.variant("card", "webp").sha256  # type: ignore[union-attr]
    assert client.get("/v1/images", environ_overrides={"SCRIPT_NAME": "/media"}).status_code == 401


@pytest.mark.parametrize(
    ("given", "expected"), [("pictures/", "/pictures"), ("/a/b", "/a/b"), ("/", ""), ("", "")]
)
def test_mount_prefix_is_a_clean_path(given: str, expected: str) -> None:
    assert mount_prefix(given) == expected


@pytest.mark.parametrize("bad", ["http://x/p", "/p?x=1", "//host/p"])
def test_mount_prefix_refuses_urls(bad: str) -> None:
    with pytest.raises(ConfigError):
        mount_prefix(bad)
