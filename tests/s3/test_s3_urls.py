"""Object URLs handed out by S3Store, fetched anonymously from Ceph RGW: public, presigned, private, CDN."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from picstore.blobs.base import IMMUTABLE_CACHE_CONTROL as CACHE_CONTROL
from picstore.blobs.s3 import S3Store
from picstore.blobs.s3_config import resolve
from picstore.blobs.s3_policy import public_read_policy, setup_bucket
from picstore.errors import ConfigError
from tests.helpers import make_jpeg
from tests.s3.conftest import RGW, StoreFactory, s3_settings

pytestmark = pytest.mark.s3
JPEG = make_jpeg(32, 24)


@pytest.fixture
def fresh_bucket(rgw: RGW) -> Iterator[str]:
    """A bucket name nobody has created yet; whatever gets created under it is removed afterwards."""
    name = f"picstore-setup-{uuid.uuid4().hex[:12]}"
    yield name
    client = rgw.client()
    try:
        for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
            client.delete_object(Bucket=name, Key=obj["Key"])
        client.delete_bucket(Bucket=name)
    except client.exceptions.NoSuchBucket:
        pass


@pytest.fixture(scope="module")
def public_prefix(rgw: RGW, bucket: str) -> str:
    """``pub``, made anonymously readable in the session bucket by ``setup_bucket(public=True)``."""
    store = S3Store.from_url(
        f"s3://{bucket}/pub",
        s3_settings(s3_endpoint=rgw.endpoint),
        credentials=(rgw.access_key, rgw.secret_key),
    )
    setup_bucket(store, public=True)
    return "pub"


def test_setup_creates_bucket_and_makes_prefix_public(rgw: RGW, fresh_bucket: str) -> None:
    store = S3Store.from_url(
        f"s3://{fresh_bucket}/pics",
        s3_settings(s3_endpoint=rgw.endpoint),
        credentials=(rgw.access_key, rgw.secret_key),
    )
    result = setup_bucket(store)
    assert result.created and result.public_read
    store.put("img/a.jpg", JPEG, content_type="image/jpeg")
    assert httpx.get(store.public_url("img/a.jpg") or "").content == JPEG
    # Idempotent: the second run finds the bucket and re-applies the same policy.
    again = setup_bucket(store)
    assert not again.created and again.policy == result.policy
    # Outside the prefix, objects stay private.
    rgw.client().put_object(Bucket=fresh_bucket, Key="secret/x.jpg", Body=b"private")
    assert httpx.get(f"{rgw.endpoint}/{fresh_bucket}/secret/x.jpg").status_code == 403


def test_public_url_serves_bytes_and_caching_headers(make_s3_store: StoreFactory, public_prefix: str) -> None:
    store = make_s3_store(public_prefix)
    key = f"img/{uuid.uuid4().hex}.jpg"
    store.put(key, JPEG, content_type="image/jpeg")
    url = store.public_url(key)
    assert url is not None and url.endswith(f"/{public_prefix}/{key}")
    response = httpx.get(url)  # no credentials at all
    assert response.status_code == 200
    assert response.content == JPEG
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == CACHE_CONTROL


def test_private_object_refused_to_anonymous_get(
    make_s3_store: StoreFactory, public_prefix: str, prefix: str
) -> None:
    store = make_s3_store("private")
    store.put(prefix + "a.jpg", JPEG, content_type="image/jpeg")
    response = httpx.get(store.public_url(prefix + "a.jpg") or "")
    assert response.status_code == 403
    assert JPEG not in response.content


def test_presigned_url_works_and_tampering_is_refused(make_s3_store: StoreFactory, prefix: str) -> None:
    store = make_s3_store("private", s3_presign=True, s3_presign_ttl=600)
    store.put(prefix + "a.jpg", JPEG, content_type="image/jpeg")
    url = store.public_url(prefix + "a.jpg")
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["600"]
    good = httpx.get(url)
    assert good.status_code == 200 and good.content == JPEG
    assert good.headers["cache-control"] == CACHE_CONTROL
    signature = query["X-Amz-Signature"][0]
    flipped = signature[:10] + ("0" if signature[10] != "0" else "1") + signature[11:]
    bad = httpx.get(url.replace(signature, flipped))
    assert bad.status_code == 403 and JPEG not in bad.content
    # The signature covers the key: the same signature on another key is refused too.
    store.put(prefix + "b.jpg", b"other", content_type="image/jpeg")
    assert httpx.get(url.replace("/a.jpg?", "/b.jpg?")).status_code == 403


def test_presigning_store_keeps_its_bucket_private(rgw: RGW, fresh_bucket: str) -> None:
    store = S3Store.from_url(
        f"s3://{fresh_bucket}",
        s3_settings(s3_endpoint=rgw.endpoint, s3_presign=True),
        credentials=(rgw.access_key, rgw.secret_key),
    )
    result = setup_bucket(store)
    assert result.created and not result.public_read
    store.put("a.jpg", JPEG, content_type="image/jpeg")
    assert httpx.get(f"{rgw.endpoint}/{fresh_bucket}/a.jpg").status_code == 403
    assert httpx.get(store.public_url("a.jpg") or "").content == JPEG


def test_cdn_base_url(make_s3_store: StoreFactory) -> None:
    store = make_s3_store("pub", s3_public_url="https://cdn.example.com/pics/", s3_presign=True)
    assert store.public_url("img/ab/cd/x.jpg") == "https://cdn.example.com/pics/img/ab/cd/x.jpg"


def test_virtual_hosted_url_addresses_the_object(
    rgw: RGW, bucket: str, make_s3_store: StoreFactory, public_prefix: str
) -> None:
    # RGW's rgw_dns_name is "localhost": bucket.localhost names the bucket. *.localhost does not resolve
    # here, so connect to RGW and send the URL's host in the Host header, as DNS would route it.
    store = make_s3_store(public_prefix)
    key = f"img/{uuid.uuid4().hex}.jpg"
    store.put(key, JPEG, content_type="image/jpeg")
    port = rgw.address[1]
    virtual = S3Store.from_url(
        f"s3://{bucket}/{public_prefix}",
        s3_settings(s3_endpoint=f"http://localhost:{port}", s3_path_style=False),
        credentials=(rgw.access_key, rgw.secret_key),
    )
    url = virtual.public_url(key)
    assert url == f"http://{bucket}.localhost:{port}/{public_prefix}/{key}"
    parts = urlsplit(url)
    response = httpx.get(f"{rgw.endpoint}{parts.path}", headers={"Host": parts.netloc})
    assert response.status_code == 200 and response.content == JPEG


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        ({"s3_region": "eu-west-1"}, "https://bkt.s3.eu-west-1.amazonaws.com/p/q/k.jpg"),
        (
            {"s3_region": "eu-west-1", "s3_path_style": True},
            "https://s3.eu-west-1.amazonaws.com/bkt/p/q/k.jpg",
        ),
        ({"s3_endpoint": "https://s3.example.org"}, "https://s3.example.org/bkt/p/q/k.jpg"),
        (
            {"s3_endpoint": "https://s3.example.org", "s3_path_style": False},
            "https://bkt.s3.example.org/p/q/k.jpg",
        ),
    ],
)
def test_object_url_shapes(settings: dict[str, object], url: str) -> None:
    options = resolve("s3://bkt/p/q", s3_settings(**settings), env={})
    assert options.object_url("k.jpg") == url


def test_region_and_endpoint_from_aws_variables() -> None:
    env = {"AWS_ENDPOINT_URL": "http://10.0.0.5:7480", "AWS_DEFAULT_REGION": "eu-central-1"}
    options = resolve("s3://bkt", None, env=env)
    assert (options.endpoint, options.region, options.path_style) == (
        "http://10.0.0.5:7480",
        "eu-central-1",
        True,
    )
    assert resolve("s3://bkt", s3_settings(s3_region="us-west-2"), env=env).region == "us-west-2"


@pytest.mark.parametrize(
    "url",
    [
        "s3://",
        "s3:///prefix",
        "s3://ab",
        "s3://bucket/../x",
        "s3://bucket/p?x=1",
        "s3://u:p@bucket",
        "file:///x",
    ],
)
def test_bad_urls_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        resolve(url, None, env={})


def test_policy_names_only_the_prefix() -> None:
    policy = public_read_policy("bkt", "pics/")
    (statement,) = policy["Statement"]
    assert statement["Resource"] == ["arn:aws:s3:::bkt/pics/*"]
    assert statement["Action"] == ["s3:GetObject"] and statement["Principal"] == "*"
    assert public_read_policy("bkt", "")["Statement"][0]["Resource"] == ["arn:aws:s3:::bkt/*"]
