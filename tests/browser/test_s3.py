"""The dashboard's upload on S3 (Ceph RGW): the browser posts each file straight to the bucket, never
to picstore, with the same widget and the same field shape as the file store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from picstore.blobs.s3 import S3Store
from picstore.blobs.s3_policy import setup_bucket
from tests.browser.conftest import Site, sign_in, start_site
from tests.browser.flows import grid_files, upload, upload_files
from tests.s3.conftest import RGW, rgw, s3_settings  # noqa: F401  (rgw: the session's S3 server fixture)

pytestmark = pytest.mark.s3


def _store(server: RGW, bucket: str) -> S3Store:
    return S3Store.from_url(
        f"s3://{bucket}/pics",
        s3_settings(s3_endpoint=server.endpoint),
        credentials=(server.access_key, server.secret_key),
    )


@pytest.fixture
def s3_site(rgw: RGW, tmp_path: Path) -> Iterator[Site]:  # noqa: F811
    """picstore on a fresh RGW bucket set up by `picstore s3 setup`'s code (public prefix, CORS rule)."""
    bucket = f"picstore-ui-{uuid.uuid4().hex[:12]}"
    store = _store(rgw, bucket)
    setup_bucket(store, public=True)
    rules = rgw.client().get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert [r["AllowedMethods"] for r in rules] == [["POST"]] and "ETag" in rules[0]["ExposeHeaders"]
    yield from start_site(tmp_path, store, s3_endpoint=rgw.endpoint)
    client = rgw.client()
    for listing in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in listing.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=obj["Key"])
    client.delete_bucket(Bucket=bucket)


def test_uploads_go_to_the_bucket(page: Any, s3_site: Site, rgw: RGW, tmp_path: Path) -> None:  # noqa: F811
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    sign_in(page, s3_site)
    verdicts = upload(page, upload_files(tmp_path))
    assert "stored" in verdicts["sea.jpg"] and "stored" in verdicts["garden.jpg"], verdicts
    assert "not_an_image" in verdicts["notes.jpg"]
    to_bucket = [u for u in posts if u.startswith(rgw.endpoint + "/")]
    assert len(to_bucket) == 3  # every file went to RGW ...
    assert not [u for u in posts if u.endswith("/file")]  # ... and none through picstore
    assert len([u for u in posts if u.endswith("/complete")]) == 3

    page.goto(s3_site.url + "/dashboard")
    order = grid_files(page)
    assert sorted(order) == ["garden.jpg", "sea.jpg"]
    page.get_by_role("button", name=f"Move {order[0]} later").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert grid_files(page) == order[::-1]
    page.get_by_label("Alt text").first.fill("First on the listing")
    with page.expect_navigation():
        page.get_by_role("button", name="Save text").first.click()

    page.goto(f"{s3_site.url}/p/{s3_site.slug}")
    images = page.locator(".gallery img")
    assert images.first.get_attribute("alt") == "First on the listing"
    assert (images.first.get_attribute("src") or "").startswith(rgw.endpoint + "/")  # served by the bucket
    images.first.evaluate("img => img.decode()")
    assert images.first.evaluate("img => img.naturalWidth") > 0

    page.goto(s3_site.url + "/dashboard")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name=f"Delete {order[0]}").click()
    assert grid_files(page) == [order[1]]
