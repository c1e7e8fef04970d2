"""The HTTP API on S3 (Ceph RGW): images, tenant isolation, and direct uploads straight to the bucket.

The presigned POST is checked by RGW itself: these tests post to the bucket like a browser would, with
no picstore code in between, and look at the bucket from outside (anonymous GETs, a boto3 listing).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from picstore import ImageStore
from picstore.blobs.base import IMMUTABLE_CACHE_CONTROL as CACHE_CONTROL
from picstore.blobs.s3 import S3Store
from picstore.blobs.s3_policy import setup_bucket
from picstore.blobs.s3_post import PostSigner
from picstore.direct_uploads import incoming_location
from picstore.errors import ConfigError
from picstore.settings import load_settings
from tests.helpers import make_jpeg
from tests.http_support import ADMIN_KEY, Api, api_for
from tests.s3.conftest import RGW, s3_settings

pytestmark = pytest.mark.s3
PREFIX = "pics"


@pytest.fixture(scope="module")
def api_bucket(rgw: RGW) -> Iterator[str]:
    """A bucket of this module's own (its policy is replaced), with ``pics/`` public; removed after."""
    name = f"picstore-api-{uuid.uuid4().hex[:12]}"
    client = rgw.client()
    setup_bucket(_s3(rgw, name), public=True)
    yield name
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=name, Key=obj["Key"])
    client.delete_bucket(Bucket=name)


def _s3(rgw: RGW, bucket: str, prefix: str = PREFIX, **settings: Any) -> S3Store:
    return S3Store.from_url(
        f"s3://{bucket}/{prefix}".rstrip("/"),
        s3_settings(s3_endpoint=rgw.endpoint, **settings),
        credentials=(rgw.access_key, rgw.secret_key),
    )


@pytest.fixture
def api(rgw: RGW, api_bucket: str, tmp_path: Path) -> Iterator[Api]:
    settings = load_settings(
        storage=f"s3://{api_bucket}/{PREFIX}",
        database=f"sqlite:///{tmp_path / 'catalog.db'}",
        s3_endpoint=rgw.endpoint,
        admin_key=ADMIN_KEY,
        max_bytes=500_000,
    )
    with ImageStore(_s3(rgw, api_bucket), settings=settings) as store, api_for(store) as a:
        yield a


def _keys(rgw: RGW, bucket: str, prefix: str) -> list[str]:
    listing = rgw.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _ticket(api: Api, size: int, tenant: str = "acme") -> Any:
    resp = api.client.post(
        "/v1/uploads",
        json={"filename": "shop.jpg", "content_type": "image/jpeg", "bytes": size},
        headers=api.auth(tenant),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def _post_to_bucket(ticket: Any, data: bytes, **overrides: str) -> httpx.Response:
    # A browser's form post: fields first, the file last, straight to the bucket.
    fields = {**ticket["fields"], **overrides}
    return httpx.post(
        ticket["url"], data=fields, files={"file": ("shop.jpg", data, "image/jpeg")}, timeout=10
    )


def _incoming_key(bucket_keys: list[str], upload_id: str) -> list[str]:
    return [k for k in bucket_keys if k.endswith("/" + upload_id)]


def test_direct_upload_end_to_end(api: Api, rgw: RGW, api_bucket: str) -> None:
    data = make_jpeg(320, 240)
    ticket = _ticket(api, len(data))
    assert ticket["url"] == f"{rgw.endpoint}/{api_bucket}"
    fields = ticket["fields"]
    assert fields["key"] == f"incoming/{PREFIX}/{ticket['upload_id']}"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256" and fields["Content-Type"] == "image/jpeg"
    posted = _post_to_bucket(ticket, data)
    assert posted.status_code == 204, posted.text
    # The incoming object exists but is private: outside the public prefix, refused to anonymous GETs.
    incoming_url = f"{rgw.endpoint}/{api_bucket}/{fields['key']}"
    assert rgw.client().get_object(Bucket=api_bucket, Key=fields["key"])["Body"].read() == data
    assert httpx.get(incoming_url).status_code == 403
    done = api.client.post(f"/v1/uploads/{ticket['upload_id']}/complete", headers=api.auth("acme"))
    assert done.status_code == 201, done.text
    image = done.json()
    # Published: the image URL is the bucket's, public, immutable, and serves the stored master.
    assert image["url"].startswith(f"{rgw.endpoint}/{api_bucket}/{PREFIX}/img/")
    served = httpx.get(image["url"])
    assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == image["sha256"]
    assert served.headers["cache-control"] == CACHE_CONTROL
    assert served.headers["content-type"] == f"image/{image['format']}"
    # The incoming object is gone.
    assert _incoming_key(_keys(rgw, api_bucket, "incoming/"), ticket["upload_id"]) == []
    assert api.client.get(f"/v1/images/{image['id']}", headers=api.auth("acme")).json() == image


def test_rgw_itself_refuses_what_the_policy_does_not_allow(api: Api, rgw: RGW, api_bucket: str) -> None:
    data = make_jpeg()
    ticket = _ticket(api, len(data))
    too_big = _post_to_bucket(ticket, data + b"\0")
    assert too_big.status_code == 400 and b"EntityTooLarge" in too_big.content
    html = _post_to_bucket(ticket, b"<html>hi</html>", **{"Content-Type": "text/html"})
    assert html.status_code == 403 and b"AccessDenied" in html.content
    elsewhere = _post_to_bucket(ticket, data, key=f"{PREFIX}/img/evil.jpg")
    assert elsewhere.status_code == 403
    tampered = _post_to_bucket(ticket, data, **{"x-amz-signature": "0" * 64})
    assert tampered.status_code == 403
    assert _incoming_key(_keys(rgw, api_bucket, "incoming/"), ticket["upload_id"]) == []
    assert _keys(rgw, api_bucket, f"{PREFIX}/img/evil") == []


def test_an_expired_policy_is_refused_by_rgw(api: Api, rgw: RGW, api_bucket: str) -> None:
    incoming = incoming_location(api.store)
    assert isinstance(incoming, S3Store)
    post = PostSigner(incoming.options).sign(
        "expiring", content_type="image/jpeg", max_bytes=100, expires_in=1
    )
    time.sleep(2.1)
    resp = httpx.post(post.url, data=post.fields, files={"file": ("a.jpg", b"x", "image/jpeg")})
    assert resp.status_code == 403 and b"expired" in resp.content.lower()


def test_complete_refuses_a_non_image_and_leaves_nothing_public(api: Api, rgw: RGW, api_bucket: str) -> None:
    html = b"<html><script>document.location='https://evil.example'</script></html>"
    ticket = _ticket(api, len(html))
    # The policy pins the declared type, not the bytes: RGW takes HTML sent as image/jpeg.
    assert _post_to_bucket(ticket, html).status_code == 204
    before = _keys(rgw, api_bucket, f"{PREFIX}/")
    resp = api.client.post(f"/v1/uploads/{ticket['upload_id']}/complete", headers=api.auth("acme"))
    assert resp.status_code == 415 and resp.json()["code"] == "not_an_image"
    assert resp.headers["content-type"] == "application/problem+json"
    assert _keys(rgw, api_bucket, f"{PREFIX}/") == before  # nothing published
    assert _incoming_key(_keys(rgw, api_bucket, "incoming/"), ticket["upload_id"]) == []
    assert api.store.catalog.images.count() == 0


def test_images_api_and_isolation_on_s3(api: Api, rgw: RGW, api_bucket: str) -> None:
    created = api.upload("acme", make_jpeg(200, 100))
    assert created.status_code == 201, created.text
    image = created.json()
    assert httpx.get(image["url"]).status_code == 200
    for formats in image["variants"].values():
        for variant in formats.values():
            assert httpx.get(variant["url"]).headers["content-type"].startswith("image/")
    listed = api.client.get("/v1/images", headers=api.auth("acme")).json()["items"]
    assert [i["id"] for i in listed] == [image["id"]]
    for method in ("GET", "DELETE"):
        resp = api.client.request(method, f"/v1/images/{image['id']}", headers=api.auth("globex"))
        assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    ticket = _ticket(api, 1000)
    stolen = api.client.post(f"/v1/uploads/{ticket['upload_id']}/complete", headers=api.auth("globex"))
    assert stolen.status_code == 404
    assert api.client.get("/v1/images", headers=api.auth("globex")).json()["items"] == []
    assert api.client.delete(f"/v1/images/{image['id']}", headers=api.auth("acme")).status_code == 204
    assert api.client.get(f"/v1/images/{image['id']}", headers=api.auth("acme")).status_code == 404
    assert api.client.get("/readyz").json()["status"] == "ready"
    assert api.client.get("/healthz").json()["status"] == "ok"
    assert api.metric("picstore_uploads_total", outcome="accepted", code="") == 1
    # An S3 upload is never received by picstore: its file goes to the bucket.
    bypass = api.client.post(f"/v1/uploads/{ticket['upload_id']}/file", files={"file": ("a.jpg", b"x")})
    assert bypass.status_code == 404
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert api.client.post("/v1/tenants", json={"slug": "initech"}, headers=admin).status_code == 201


def test_a_bucket_public_as_a_whole_has_no_private_place_for_uploads(rgw: RGW, tmp_path: Path) -> None:
    settings = load_settings(storage="s3://whole-bucket", database=f"sqlite:///{tmp_path / 'c.db'}")
    with (
        ImageStore(_s3(rgw, "whole-bucket", prefix=""), settings=settings) as store,
        pytest.raises(ConfigError, match="PICSTORE_UPLOAD_INCOMING"),
    ):
        incoming_location(store)
    private = load_settings(
        storage="s3://whole-bucket", database=f"sqlite:///{tmp_path / 'c.db'}", s3_presign=True
    )
    with ImageStore(_s3(rgw, "whole-bucket", prefix="", s3_presign=True), settings=private) as store:
        assert incoming_location(store).url == "s3://whole-bucket/incoming"


def _policy(ticket: Any) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(ticket["fields"]["policy"]))
    return policy


def test_the_policy_is_for_exactly_the_upload_that_was_declared(api: Api, api_bucket: str) -> None:
    ticket = _ticket(api, 1234)
    assert "token" not in ticket["fields"]  # the bucket takes the file: picstore has no form to check
    policy = _policy(ticket)
    conditions = policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", 1, 1234] in conditions
    assert {"key": f"incoming/{PREFIX}/{ticket['upload_id']}"} in conditions
    # It lives as long as the upload (upload_ttl), to the second.
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert abs((expires - datetime.fromisoformat(ticket["expires_at"])).total_seconds()) < 2
    ttl = api.store.settings.upload_ttl
    assert abs((expires - datetime.now(UTC)).total_seconds() - ttl) < 30


def test_a_configured_incoming_location_is_opened_with_the_settings(
    rgw: RGW, api_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Credentials from the environment, the endpoint only from the settings: a store opened without
    # them would look for the bucket on AWS.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", rgw.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", rgw.secret_key)
    settings = load_settings(
        storage=f"s3://{api_bucket}/{PREFIX}",
        database=f"sqlite:///{tmp_path / 'catalog.db'}",
        s3_endpoint=rgw.endpoint,
        upload_incoming=f"s3://{api_bucket}/private-incoming",
    )
    with ImageStore(_s3(rgw, api_bucket), settings=settings) as store:
        incoming = incoming_location(store)
        assert incoming.url == f"s3://{api_bucket}/private-incoming"
        incoming.put("probe", b"x", content_type="image/jpeg")
    stored = rgw.client().get_object(Bucket=api_bucket, Key="private-incoming/probe")["Body"].read()
    rgw.client().delete_object(Bucket=api_bucket, Key="private-incoming/probe")
    assert stored == b"x"
