"""The in-memory hot path of `GET /b/{key}`: the full path's answers, for blobs the catalog vouches for."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from picstore import ImageStore
from picstore.web.app import create_app
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
    # HEAD, 304 and their exact headers and bodies are checked on the wire in test_serve.py.
    not_modified = api.client.get(path, headers={"If-None-Match": hit.headers["etag"]})
    assert not_modified.status_code == 304
    # Range requests take the full path and still work.
    part = api.client.get(path, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == hit.content[:10]
    route = {"method": "GET", "route": "/b/{key:path}"}
    assert api.metric("picstore_http_requests_total", **route, status="200") == 2
    assert api.metric("picstore_http_requests_total", **route, status="304") == 1


def test_only_catalogued_blobs_with_matching_bytes_are_cached(api: Api) -> None:
    api.store.blobs.put("img/aa/bb/evil.jpg", b"<html>", content_type="image/jpeg")
    assert api.client.get("/b/img/aa/bb/evil.jpg").status_code == 404
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
    api.store.catalog.images.delete(image["id"])  # as another node sharing the catalog would
    entries = _cache(api)._entries
    assert api.client.get(path).status_code == 200  # within the TTL the cached bytes are still served
    entries[path[3:]] = dataclasses.replace(entries[path[3:]], expires=0.0)  # the TTL has passed
    assert api.client.get(path).status_code == 404


# --- what the cache holds, seen from outside ------------------------------------------------------------
#
# A blob whose file is removed from disk is still answered (200) while the cache holds it; once it is not
# held, the full path finds the file gone (404). So "delete every file, then GET" shows what is cached.


@dataclass
class Blobs:
    app: Any
    store: ImageStore
    ids: list[str]
    keys: list[str]
    sizes: list[int]

    def install(self, **limits: Any) -> None:
        self.app.blob_cache = BlobCache(self.store, self.app.state.metrics, **limits)

    def get(self, i: int) -> int:
        return TestClient(self.app).get(f"/b/{self.keys[i]}").status_code

    def held(self) -> list[bool]:
        """Which blobs the cache still answers for (removes every file first)."""
        for key in self.keys:
            self.store.blobs.delete(key)
        return [self.get(i) == 200 for i in range(len(self.keys))]


@pytest.fixture
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Blobs]:
    """Stored JPEGs, square with the sides a test asks for (indirect parametrisation; default three alike)."""
    sides = getattr(request, "param", [60, 60, 60])
    with make_image_store(tmp_path, variants={}) as store:
        store.create_tenant("acme")
        images = [store.put(make_jpeg(n, n, color=(i * 60, 10, 10)), "acme") for i, n in enumerate(sides)]
        yield Blobs(
            app=create_app(store),
            store=store,
            ids=[image.id for image in images],
            keys=[image.key for image in images],
            sizes=[len(store.read(image.id)) for image in images],
        )


def test_blobs_beyond_the_byte_budget_evict_the_least_recently_used(blobs: Blobs) -> None:
    blobs.install(max_bytes=sum(blobs.sizes) - 1)  # the three do not fit together; any two do
    assert [blobs.get(i) for i in (0, 1, 2)] == [200, 200, 200]
    assert blobs.held() == [False, True, True]


def test_blobs_that_fill_the_budget_exactly_all_stay(blobs: Blobs) -> None:
    blobs.install(max_bytes=sum(blobs.sizes))
    assert [blobs.get(i) for i in (0, 1, 2)] == [200, 200, 200]
    assert blobs.held() == [True, True, True]


def test_a_hit_makes_a_blob_the_most_recently_used(blobs: Blobs) -> None:
    blobs.install(max_bytes=sum(blobs.sizes) - 1)
    assert [blobs.get(i) for i in (0, 1, 0, 2)] == [200] * 4
    assert blobs.held() == [True, False, True]


@pytest.mark.parametrize(("margin", "cached"), [(-1, False), (0, True), (1, True)])
def test_blobs_up_to_the_size_limit_are_cached(blobs: Blobs, margin: int, cached: bool) -> None:
    blobs.install(max_blob_bytes=blobs.sizes[0] + margin)
    assert blobs.get(0) == 200
    assert blobs.held()[0] is cached


def test_a_deleted_image_frees_its_share_of_the_budget(blobs: Blobs) -> None:
    blobs.install(max_bytes=sum(blobs.sizes) - 1)
    assert [blobs.get(i) for i in (0, 1)] == [200, 200]
    blobs.store.delete(blobs.ids[0])  # through this process: the cache forgets it at once
    assert blobs.get(2) == 200  # fits beside blob 1 now that blob 0's bytes are freed
    assert blobs.held() == [False, True, True]


@pytest.mark.parametrize(("ttl", "held"), [(0.0, False), (60.0, True)])
def test_entries_live_for_their_ttl(blobs: Blobs, ttl: float, held: bool) -> None:
    blobs.install(ttl=ttl)
    assert blobs.get(0) == 200
    assert blobs.held()[0] is held


@pytest.mark.parametrize("same_length", [True, False])
def test_bytes_that_do_not_match_the_catalog_are_not_cached(blobs: Blobs, same_length: bool) -> None:
    blobs.install()
    file = blobs.store.blobs.path_for(blobs.keys[0])  # type: ignore[attr-defined]
    data = file.read_bytes()
    file.write_bytes(bytes([data[0] ^ 1]) + data[1:] if same_length else data + b"x")
    assert blobs.get(0) == 200  # the full path serves what is on disk
    assert blobs.held()[0] is False


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Moves time.monotonic forward by the seconds added to it (time only ever goes forward)."""
    offset = [0.0]
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + offset[0])
    return offset


@pytest.mark.parametrize("blobs", [[300, 8, 8, 250]], indirect=True)
def test_a_deleted_image_frees_exactly_its_own_bytes(blobs: Blobs) -> None:
    big, small1, small2, medium = blobs.sizes
    assert small1 + small2 < medium <= big  # what makes a wrong count visible
    blobs.install(max_bytes=big + small1 + small2)
    assert [blobs.get(i) for i in (0, 1, 2)] == [200, 200, 200]
    blobs.store.delete(blobs.ids[0])
    assert blobs.get(3) == 200  # the two small ones and the medium one fit where the big one was
    assert blobs.held() == [False, True, True, True]


@pytest.mark.parametrize("blobs", [[120, 60]], indirect=True)
def test_a_reloaded_entry_replaces_its_old_bytes(blobs: Blobs, clock: list[float]) -> None:
    a, b = blobs.sizes
    assert b < a < 2 * b  # what makes a wrong count visible
    blobs.install(max_bytes=a + b, ttl=60)
    assert blobs.get(0) == 200  # A expires at 60
    clock[0] += 50
    assert blobs.get(1) == 200  # B expires at 110
    clock[0] += 20
    assert blobs.get(0) == 200  # A expired: read again, its new entry replaces the old one
    assert blobs.held() == [True, True]


@pytest.mark.parametrize("blobs", [[60, 60, 60, 60]], indirect=True)
def test_the_budget_holds_after_evictions(blobs: Blobs) -> None:
    blobs.install(max_bytes=sum(blobs.sizes[:3]) - 1)  # room for two at a time
    assert [blobs.get(i) for i in (0, 1, 2, 3)] == [200] * 4
    assert blobs.held() == [False, False, True, True]


def test_a_blob_deleted_elsewhere_stops_being_served_within_a_minute(
    blobs: Blobs, clock: list[float]
) -> None:
    # The default cache of the app: entries live 60 s, then the catalog and the disk are asked again.
    assert blobs.get(0) == 200
    blobs.store.blobs.delete(blobs.keys[0])
    clock[0] += 59.5
    assert blobs.get(0) == 200
    clock[0] += 1
    assert blobs.get(0) == 404


def test_cache_hits_are_timed_in_the_metrics(api: Api) -> None:
    path = _path(_stored(api)["url"])
    api.client.get(path)  # a miss, remembered
    metric = {"method": "GET", "route": "/b/{key:path}"}
    before = api.metric("picstore_http_request_duration_seconds_sum", **metric)
    started = time.perf_counter()
    assert api.client.get(path).status_code == 200  # a hit
    elapsed = time.perf_counter() - started
    took = api.metric("picstore_http_request_duration_seconds_sum", **metric) - before
    assert 0 < took <= elapsed  # the hit's own duration: no more than the request took from outside
