"""The in-memory hot path of `GET /b/{key}`: the full path's answers, for blobs the catalog vouches for."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from picstore.web.serve import BlobCache
from tests.helpers import make_jpeg
from tests.http_support import Api, api_for, make_image_store


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with make_image_store(tmp_path) as store, api_for(store) as a:
        yield a


def _cache(api: Api) -> BlobCache:
    cache = api.app.blob_cache  # type: ignore[attr-defined]
    assert isinstance(cache, BlobCache)
    return cache


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _stored(api: Api) -> Any:
    return api.upload("acme", make_jpeg(80, 60)).json()


def test_hits_answer_like_the_full_path(api: Api) -> None:
    image = _stored(api)
    path = _path(image["url"])
    first = api.client.get(path)  # a miss: looked up, checked, remembered
    assert path[3:] in _cache(api)._entries
    hit = api.client.get(path)
    for resp in (first, hit):
        assert resp.status_code == 200
        assert hashlib.sha256(resp.content).hexdigest() == image["sha256"]
        assert resp.headers["etag"] == f'"{image["sha256"]}"'
        assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["content-type"] == "image/jpeg"
        assert int(resp.headers["content-length"]) == image["bytes"]
    head = api.client.head(path)
    assert (
        head.status_code == 200
        and head.content == b""
        and head.headers["content-length"] == str(image["bytes"])
    )
    not_modified = api.client.get(path, headers={"If-None-Match": hit.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert "content-type" not in not_modified.headers
    # Range requests take the full path and still work.
    part = api.client.get(path, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == hit.content[:10]
    route = {"method": "GET", "route": "/b/{key:path}"}
    assert api.metric("picstore_http_requests_total", **route, status="200") == 2
    assert api.metric("picstore_http_requests_total", **route, status="304") == 1


def test_only_catalogued_blobs_with_matching_bytes_are_cached(api: Api) -> None:
    api.store.blobs.put("img/aa/bb/evil.jpg", b"<html>", content_type="image/jpeg")
    assert api.client.get("/b/img/aa/bb/evil.jpg").status_code == 404
    assert api.client.get("/b/../../etc/passwd").status_code in (400, 404)
    image = _stored(api)
    key = _path(image["url"])[3:]
    file = api.store.blobs.path_for(key)  # type: ignore[attr-defined]
    file.write_bytes(b"tampered")  # bytes that do not match the catalog's SHA-256 never enter the cache
    api.client.get("/b/" + key)
    assert key not in _cache(api)._entries


def test_a_delete_through_this_process_drops_the_cached_bytes_at_once(api: Api) -> None:
    image = _stored(api)
    path = _path(image["url"])
    assert api.client.get(path).status_code == 200
    assert path[3:] in _cache(api)._entries
    assert api.client.delete(f"/v1/images/{image['id']}", headers=api.auth("acme")).status_code == 204
    assert path[3:] not in _cache(api)._entries
    assert api.client.get(path).status_code == 404


def test_entries_expire_so_deletes_on_other_nodes_stop_being_served(api: Api) -> None:
    image = _stored(api)
    path = _path(image["url"])
    assert api.client.get(path).status_code == 200
    api.store.catalog.delete_image(image["id"])  # as another node sharing the catalog would
    entries = _cache(api)._entries
    assert api.client.get(path).status_code == 200  # within the TTL the cached bytes are still served
    entries[path[3:]] = dataclasses.replace(entries[path[3:]], expires=0.0)  # the TTL has passed
    assert api.client.get(path).status_code == 404


def test_the_cache_stays_within_its_byte_budget(api: Api) -> None:
    cache = _cache(api)
    cache.max_bytes = 4000
    for i in range(6):
        image = api.upload("acme", make_jpeg(60, 40, color=(i * 40, 10, 10))).json()
        assert api.client.get(_path(image["url"])).status_code == 200
    assert 0 < cache._bytes <= 4000
    assert sum(len(e.body) for e in cache._entries.values()) == cache._bytes
