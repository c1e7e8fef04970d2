"""Transforms on Ceph RGW: rendered once, stored in the bucket, then redirected to the bucket's copy.

Refusals are the same 403s as on the file store; what the bucket holds is checked from outside (anonymous
GETs and a boto3 listing).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image as PILImage

from picstore import ImageStore
from picstore.blobs.s3 import S3Store
from picstore.blobs.s3_policy import setup_bucket
from picstore.delivery.signing import signature
from picstore.settings import load_settings
from tests.helpers import make_jpeg
from tests.http_support import Api, api_for
from tests.s3.conftest import RGW, s3_settings
from tests.transform_cases import refused_cases

pytestmark = pytest.mark.s3
KEY = "s" * 40


@pytest.fixture
def api(rgw: RGW, tmp_path: Path) -> Iterator[Api]:
    bucket = f"picstore-t-{uuid.uuid4().hex[:12]}"
    blobs = S3Store.from_url(
        f"s3://{bucket}/pics",
        s3_settings(s3_endpoint=rgw.endpoint),
        credentials=(rgw.access_key, rgw.secret_key),
    )
    setup_bucket(blobs, public=True)
    settings = load_settings(
        storage=f"s3://{bucket}/pics",
        database=f"sqlite:///{tmp_path / 'catalog.db'}",
        s3_endpoint=rgw.endpoint,
        transform_keys=[KEY],
    )
    with ImageStore(blobs, settings=settings) as store, api_for(store) as a:
        yield a
    client = rgw.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=obj["Key"])
    client.delete_bucket(Bucket=bucket)


def _size(data: bytes) -> tuple[str, tuple[int, int]]:
    with PILImage.open(io.BytesIO(data)) as img:
        return str(img.format), img.size


def test_rendered_once_then_redirected_to_the_bucket(api: Api, rgw: RGW) -> None:
    image_id = api.upload("acme", make_jpeg(900, 600)).json()["id"]
    path = api.store.transform_url(image_id, width=300, height=300, fit="cover", format="webp")
    path = "/" + path.split("://", 1)[1].split("/", 1)[1]
    first = api.client.get(path)
    assert first.status_code == 200, first.text
    assert _size(first.content) == ("WEBP", (300, 300))
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = api.client.get(path, follow_redirects=False)
    assert again.status_code == 302
    location = again.headers["location"]
    assert location.startswith(rgw.endpoint)
    anonymous = httpx.get(location, timeout=10)  # no credentials: the bucket serves it publicly
    assert anonymous.status_code == 200 and anonymous.content == first.content
    key = location.split("/pics/", 1)[1]
    assert key.startswith("var/") and key.endswith(".webp")

    assert api.client.delete(f"/v1/images/{image_id}", headers=api.auth("acme")).status_code == 204
    assert api.client.get(path).status_code == 404
    assert key in api.store.gc(grace_seconds=0)
    assert httpx.get(location, timeout=10).status_code in (403, 404)


def test_refused_urls_are_403_on_s3_too(api: Api) -> None:
    image_id = api.upload("acme", make_jpeg(400, 300)).json()["id"]
    for path, code in refused_cases(image_id, KEY):
        response = api.client.get(path)
        assert (response.status_code, response.json()["code"]) == (403, code), path
    ok = api.client.get(f"/t/{signature(KEY, 'w=100', image_id)}/w=100/{image_id}")
    assert ok.status_code == 200 and _size(ok.content) == ("JPEG", (100, 75))
