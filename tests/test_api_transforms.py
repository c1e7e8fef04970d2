"""``GET /t/{signature}/{spec}/{image_id}`` on the file store: refusals, sizes, formats, limits, lifecycle.

Every refused URL answers 403 and renders nothing; a valid one answers 200 with the right pixel size and the
headers of ``/b/``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from picstore.delivery.signing import signature
from tests.helpers import make_jpeg
from tests.http_support import Api, api_for, make_image_store
from tests.transform_cases import SPEC, refused_cases

KEY, OLD_KEY = "k" * 40, "o" * 40


def _api(tmp_path: Path, **settings: Any) -> Iterator[Api]:
    store = make_image_store(tmp_path, transform_keys=[KEY, OLD_KEY], **settings)
    with store, api_for(store) as api:
        yield api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from _api(tmp_path)


@pytest.fixture
def image_id(api: Api) -> str:
    response = api.upload("acme", make_jpeg(1200, 800))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _signed(spec: str, image_id: str, key: str = KEY) -> str:
    return f"/t/{signature(key, spec, image_id)}/{spec}/{image_id}"


def _pixels(data: bytes) -> tuple[str, tuple[int, int]]:
    with PILImage.open(io.BytesIO(data)) as img:
        return str(img.format), img.size


def _renders(api: Api) -> float:
    return sum(
        api.metric("picstore_transform_renders_total", format=f) for f in ("jpeg", "webp", "avif", "png")
    )


def test_a_valid_url_renders_once_and_is_served_like_a_blob(api: Api, image_id: str) -> None:
    url = api.store.transform_url(image_id, width=300, height=300, fit="cover", format="jpeg")
    first = api.client.get(_path(url))
    assert first.status_code == 200, first.text
    assert _pixels(first.content) == ("JPEG", (300, 300))
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert first.headers["content-type"] == "image/jpeg"
    assert first.headers["x-content-type-options"] == "nosniff"
    etag = first.headers["etag"]
    second = api.client.get(_path(url))
    assert second.content == first.content and second.headers["etag"] == etag
    assert api.client.get(_path(url), headers={"If-None-Match": etag}).status_code == 304
    assert _renders(api) == 1


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        ({"width": 300}, (300, 200)),
        ({"height": 100}, (150, 100)),
        ({"width": 300, "height": 300}, (300, 200)),
        ({"width": 300, "height": 300, "fit": "contain", "format": "png"}, (300, 300)),
        ({"width": 300, "height": 100, "fit": "fill"}, (300, 100)),
        ({"width": 100, "height": 100, "fit": "cover", "gravity": "smart"}, (100, 100)),
        ({"width": 100, "height": 100, "fit": "cover", "focus": (10, 90)}, (100, 100)),
        ({"width": 100, "height": 50, "fit": "cover", "gravity": "northeast", "dpr": 2}, (200, 100)),
        ({"width": 5000}, (1200, 800)),  # never enlarged
    ],
)
def test_pixel_sizes(api: Api, image_id: str, kwargs: dict[str, Any], size: tuple[int, int]) -> None:
    response = api.client.get(_path(api.store.transform_url(image_id, **kwargs)))
    assert response.status_code == 200, response.text
    assert _pixels(response.content)[1] == size


def _refused(api: Api, path: str, code: str) -> None:
    response = api.client.get(path)
    assert response.status_code == 403, (path, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_forged_truncated_reordered_duplicated_non_canonical_expired_and_retired_urls_are_403(
    api: Api, image_id: str
) -> None:
    cases = refused_cases(image_id, KEY)
    for path, code in cases:
        _refused(api, path, code)
    assert _renders(api) == 0
    assert api.client.get(_signed(SPEC, image_id)).status_code == 200
    assert api.client.get(_signed(SPEC, image_id, OLD_KEY)).status_code == 200  # still configured
    assert _renders(api) == 1


def test_expiring_urls_are_cached_until_they_expire(api: Api, image_id: str) -> None:
    url = api.store.transform_url(image_id, width=100, format="webp", expires=int(time.time()) + 600)
    response = api.client.get(_path(url))
    assert response.status_code == 200
    max_age = int(response.headers["cache-control"].split("max-age=")[1])
    assert 0 < max_age <= 600


def test_a_signed_url_for_an_unknown_image_is_404(api: Api) -> None:
    response = api.client.get(_signed("w=100", "nosuchimage"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_auto_format_follows_accept_and_varies_on_it(api: Api, image_id: str) -> None:
    path = _path(api.store.transform_url(image_id, width=200))
    expected = {
        "image/avif,image/webp,*/*;q=0.8": "AVIF",
        "image/webp,*/*": "WEBP",
        "image/avif;q=0,image/webp": "WEBP",
        "*/*": "JPEG",
        "": "JPEG",
    }
    for accept, fmt in expected.items():
        response = api.client.get(path, headers={"Accept": accept})
        assert response.status_code == 200, response.text
        assert response.headers["vary"] == "Accept"
        if fmt == "AVIF":
            assert response.headers["content-type"] == "image/avif"
            assert response.content[4:12] == b"ftypavif"
        else:
            assert _pixels(response.content) == (fmt, (200, 133))


def test_cdn_safe_mode_redirects_auto_to_the_url_with_the_format(tmp_path: Path) -> None:
    for api in _api(tmp_path, transform_auto="redirect"):
        image_id = api.upload("acme", make_jpeg(600, 400)).json()["id"]
        auto = api.client.get(
            _path(api.store.transform_url(image_id, width=200)),
            headers={"Accept": "image/webp"},
            follow_redirects=False,
        )
        assert auto.status_code == 302
        assert auto.headers["vary"] == "Accept"
        assert auto.headers["location"] == api.store.transform_url(image_id, width=200, format="webp")
        final = api.client.get(_path(auto.headers["location"]))
        assert final.status_code == 200 and "vary" not in final.headers
        assert _pixels(final.content) == ("WEBP", (200, 133))


def test_preset_only_mode_refuses_free_specs(tmp_path: Path) -> None:
    presets = {"hero": "w=400,h=200,fit=cover,f=webp"}
    for api in _api(tmp_path, transform_presets=presets, transform_preset_only=True):
        image_id = api.upload("acme", make_jpeg(600, 400)).json()["id"]
        _refused(api, _path(api.store.transform_url(image_id, width=300)), "preset_only")
        ok = api.client.get(_path(api.store.transform_url(image_id, preset="hero")))
        assert ok.status_code == 200
        assert _pixels(ok.content) == ("WEBP", (400, 200))


def test_preset_only_mode_follows_the_cdn_safe_redirect(tmp_path: Path) -> None:
    presets = {"card": "w=300"}
    for api in _api(
        tmp_path, transform_presets=presets, transform_preset_only=True, transform_auto="redirect"
    ):
        image_id = api.upload("acme", make_jpeg(600, 400)).json()["id"]
        auto = api.client.get(
            _path(api.store.transform_url(image_id, preset="card")),
            headers={"Accept": "image/webp"},
            follow_redirects=False,
        )
        assert auto.status_code == 302
        final = api.client.get(_path(auto.headers["location"]))
        assert final.status_code == 200
        assert _pixels(final.content) == ("WEBP", (300, 200))
        _refused(
            api, _path(api.store.transform_url(image_id, width=300, format="webp", quality=50)), "preset_only"
        )


def test_limits_refuse_before_rendering(tmp_path: Path) -> None:
    for api in _api(tmp_path, transform_max_pixels=10_000):
        image_id = api.upload("acme", make_jpeg(600, 400)).json()["id"]
        response = api.client.get(_path(api.store.transform_url(image_id, width=300)))
        assert response.status_code == 422
        assert response.json()["code"] == "transform_too_large"
        assert api.client.get(_path(api.store.transform_url(image_id, width=100))).status_code == 200
        assert _renders(api) == 1


def test_renditions_are_recorded_and_removed_with_their_image(api: Api, image_id: str) -> None:
    path = _path(api.store.transform_url(image_id, width=250, format="webp"))
    assert api.client.get(path).status_code == 200
    image = api.store.get(image_id)
    assert all(not v.name.startswith("t:") for v in image.variants)  # listings show presets only
    plan = api.store.transforms.plan(image, api.store.transforms.spec(width=250, format="webp"), "webp")
    rendition = api.store.transforms.find(image, plan)
    assert rendition is not None and rendition.width == 250
    assert api.store.locate(plan.key, live=True)[0].sha256 == rendition.sha256
    assert api.client.delete(f"/v1/images/{image_id}", headers=api.auth("acme")).status_code == 204
    assert api.client.get(path).status_code == 404
    assert plan.key in api.store.gc(grace_seconds=0)
    blob_path = Path(api.store.blobs.url.removeprefix("file://")) / plan.key
    assert not blob_path.exists()


def test_animated_sources_stay_animated_in_webp(api: Api) -> None:
    frames = [PILImage.new("RGB", (120, 80), (40 * i, 20, 200 - 40 * i)) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    image_id = api.upload("acme", buf.getvalue(), "anim.gif").json()["id"]
    webp = api.client.get(
        _path(api.store.transform_url(image_id, width=60, height=60, fit="cover", format="webp"))
    )
    assert webp.status_code == 200
    with PILImage.open(io.BytesIO(webp.content)) as img:
        assert img.size == (60, 60) and getattr(img, "n_frames", 1) == 4
    jpeg = api.client.get(_path(api.store.transform_url(image_id, width=60, format="jpeg")))
    assert _pixels(jpeg.content) == ("JPEG", (60, 40))


def test_slow_avif_is_made_in_the_background_with_webp_meanwhile(tmp_path: Path) -> None:
    for api in _api(tmp_path, transform_avif_budget=0):
        image_id = api.upload("acme", make_jpeg(600, 400)).json()["id"]
        path = _path(api.store.transform_url(image_id, width=300))
        accept = {"Accept": "image/avif,image/webp,*/*"}
        meanwhile = api.client.get(path, headers=accept)
        assert meanwhile.status_code == 200
        assert meanwhile.headers["content-type"] == "image/webp"
        assert meanwhile.headers["cache-control"] == "public, max-age=60"
        deadline = time.monotonic() + 30
        while api.store.transforms.catalog.render_jobs_count() and time.monotonic() < deadline:
            time.sleep(0.05)  # the route's job runner (a thread of this process) makes it
        ready = api.client.get(path, headers=accept)
        assert ready.headers["content-type"] == "image/avif"
        assert ready.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert ready.content[4:12] == b"ftypavif"


def test_background_jobs_survive_a_restart(tmp_path: Path) -> None:
    settings = {"transform_keys": [KEY], "transform_avif_budget": 0}
    with make_image_store(tmp_path, **settings) as first:
        tenant, _ = first.create_tenant("acme")
        image = first.put(make_jpeg(600, 400), tenant)
        t = first.transforms
        plan = t.plan(image, t.spec(width=200, format="avif"), "avif")
        t.defer(image, plan)
        t.defer(image, plan)  # queued once
        assert t.catalog.render_jobs_count() == 1
    with make_image_store(tmp_path, **settings) as second:  # another process, later
        t = second.transforms
        assert t.find(image, plan) is None
        assert t.run_jobs() == 1
        made = t.find(image, plan)
        assert made is not None and (made.width, made.height) == (200, 133)
        assert t.catalog.render_jobs_count() == 0
        loc, blobs = second.locate(plan.key, live=True)
        assert blobs.get(loc.key)[4:12] == b"ftypavif"


def test_without_result_storage_every_request_renders_and_nothing_is_kept(tmp_path: Path) -> None:
    for api in _api(tmp_path, transform_store_results=False):
        image_id = api.upload("acme", make_jpeg(600, 400)).json()["id"]
        path = _path(api.store.transform_url(image_id, width=120, format="jpeg"))
        answers = [api.client.get(path) for _ in range(2)]
        assert [r.status_code for r in answers] == [200, 200]
        assert answers[0].content == answers[1].content
        assert answers[0].headers["etag"] == answers[1].headers["etag"]
        assert _pixels(answers[0].content) == ("JPEG", (120, 80))
        assert _renders(api) == 2
        image = api.store.get(image_id)
        t = api.store.transforms
        assert t.find(image, t.plan(image, t.spec(width=120, format="jpeg"), "jpeg")) is None


def test_a_starting_service_works_the_queued_jobs(tmp_path: Path) -> None:
    with make_image_store(tmp_path, transform_keys=[KEY], transform_avif_budget=0) as store:
        tenant, _ = store.create_tenant("initech")
        image = store.put(make_jpeg(600, 400), tenant)
        t = store.transforms
        plan = t.plan(image, t.spec(width=150, format="avif"), "avif")
        t.defer(image, plan)
        with api_for(store):  # no request: the service's start alone runs the job
            deadline = time.monotonic() + 30
            while t.find(image, plan) is None and time.monotonic() < deadline:
                time.sleep(0.05)
        made = t.find(image, plan)
        assert made is not None and (made.width, made.height) == (150, 100)


def test_a_failed_render_releases_its_claim(api: Api, image_id: str) -> None:
    store = api.store
    image = store.get(image_id)
    master = Path(store.blobs.url.removeprefix("file://")) / image.key
    kept = master.read_bytes()
    master.write_bytes(b"not a jpeg any more")  # the render fails inside libvips
    path = _path(store.transform_url(image_id, width=90, format="png"))
    failed = api.client.get(path)
    assert failed.status_code == 500
    assert failed.json()["code"] == "render_failed"
    plan = store.transforms.plan(image, store.transforms.spec(width=90, format="png"), "png")
    assert not store.transforms.catalog.render_claimed(plan.key)
    master.write_bytes(kept)
    retried = api.client.get(path)
    assert retried.status_code == 200
    assert _pixels(retried.content) == ("PNG", (90, 60))
