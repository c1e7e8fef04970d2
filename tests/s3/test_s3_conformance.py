"""S3Store on Ceph RGW: the shared conformance suite, then what is particular to S3."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from picstore.blobs.base import IMMUTABLE_CACHE_CONTROL as CACHE_CONTROL
from picstore.blobs.s3 import S3Store
from picstore.errors import ConfigError, IntegrityError, NotFound, StorageError, StorageUnavailable
from picstore.testing import BlobStoreConformance
from tests.s3.conftest import FAST_RETRY, RGW, StoreFactory, s3_settings

pytestmark = pytest.mark.s3


class TestS3Conformance(BlobStoreConformance):
    has_public_urls = True

    @pytest.fixture
    def store(self, make_s3_store: StoreFactory) -> S3Store:
        return make_s3_store("conformance-root")


def test_object_headers_and_metadata(rgw: RGW, bucket: str, make_s3_store: StoreFactory, prefix: str) -> None:
    store = make_s3_store("meta")
    data = os.urandom(1000)
    store.put(prefix + "a.webp", data, content_type="image/webp")
    head = rgw.client().head_object(Bucket=bucket, Key="meta/" + prefix + "a.webp")
    assert head["ContentType"] == "image/webp"
    assert head["CacheControl"] == CACHE_CONTROL
    assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert head["ContentLength"] == 1000


def test_create_is_if_none_match(rgw: RGW, bucket: str, make_s3_store: StoreFactory, prefix: str) -> None:
    # Another client's object at the key: the create is refused by the server, bytes untouched.
    rgw.client().put_object(Bucket=bucket, Key="cin/" + prefix + "x.jpg", Body=b"theirs")
    store = make_s3_store("cin")
    with pytest.raises(FileExistsError):
        store.put(prefix + "x.jpg", b"ours", content_type="image/jpeg")
    assert store.get(prefix + "x.jpg") == b"theirs"  # no sha256 metadata: read without a hash check


def test_large_overwrite_is_multipart(
    rgw: RGW, bucket: str, make_s3_store: StoreFactory, prefix: str
) -> None:
    store = make_s3_store("mp")
    data = os.urandom(20 * 1024 * 1024 + 123)
    store.put(prefix + "big.png", data, content_type="image/png", mode="overwrite")
    head = rgw.client().head_object(Bucket=bucket, Key="mp/" + prefix + "big.png")
    assert head["ETag"].strip('"').endswith("-3")  # 8 MiB parts
    assert head["ContentType"] == "image/png" and head["CacheControl"] == CACHE_CONTROL
    assert store.get(prefix + "big.png") == data


def test_altered_object_is_refused_on_read(
    rgw: RGW, bucket: str, make_s3_store: StoreFactory, prefix: str
) -> None:
    store = make_s3_store("alter")
    store.put(prefix + "a.jpg", b"original bytes", content_type="image/jpeg")
    # Someone rewrites the object behind picstore's back, keeping the recorded hash.
    digest = hashlib.sha256(b"original bytes").hexdigest()
    rgw.client().put_object(
        Bucket=bucket, Key="alter/" + prefix + "a.jpg", Body=b"tampered bytes", Metadata={"sha256": digest}
    )
    with pytest.raises(IntegrityError):
        store.get(prefix + "a.jpg")
    with pytest.raises(IntegrityError):
        store.open(prefix + "a.jpg")


def test_registry_and_env_credentials(
    rgw: RGW, bucket: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from picstore.blobs.registry import open_blob_store

    for name, value in rgw.env().items():
        monkeypatch.setenv(name, value)
    store = open_blob_store(f"s3://{bucket}/reg", None)  # endpoint, keys, region: all from AWS_* variables
    assert isinstance(store, S3Store) and store.url == f"s3://{bucket}/reg"
    store.put(prefix + "a.jpg", b"via env", content_type="image/jpeg")
    assert store.get(prefix + "a.jpg") == b"via env"
    assert store.public_url(prefix + "a.jpg") == f"{rgw.endpoint}/{bucket}/reg/{prefix}a.jpg"


def test_aws_profile_files(
    rgw: RGW, bucket: str, prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "credentials").write_text(
        f"[picstore-test]\naws_access_key_id = {rgw.access_key}\naws_secret_access_key = {rgw.secret_key}\n"
    )
    (tmp_path / "config").write_text("[profile picstore-test]\nregion = us-east-1\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "picstore-test")
    store = S3Store.from_url(f"s3://{bucket}/prof", s3_settings(s3_endpoint=rgw.endpoint, s3_region=None))
    assert store.options.profile == "picstore-test"
    store.put(prefix + "a.jpg", b"via profile", content_type="image/jpeg")
    assert store.get(prefix + "a.jpg") == b"via profile"

    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(ConfigError):
        S3Store.from_url(f"s3://{bucket}/prof", s3_settings(s3_endpoint=rgw.endpoint))


def test_wrong_secret_is_a_storage_error(rgw: RGW, bucket: str, prefix: str) -> None:
    store = S3Store.from_url(
        f"s3://{bucket}/x", s3_settings(s3_endpoint=rgw.endpoint), credentials=(rgw.access_key, "wrong")
    )
    with pytest.raises(StorageError, match="credentials") as caught:
        store.put(prefix + "a.jpg", b"x", content_type="image/jpeg")
    assert not isinstance(caught.value, StorageUnavailable)


def test_missing_bucket_is_not_a_missing_blob(rgw: RGW, make_s3_store: StoreFactory) -> None:
    store = S3Store.from_url(
        "s3://picstore-no-such-bucket-here/x",
        s3_settings(s3_endpoint=rgw.endpoint),
        credentials=(rgw.access_key, rgw.secret_key),
    )
    with pytest.raises(StorageError, match="bucket does not exist") as caught:
        store.get("a.jpg")
    assert not isinstance(caught.value, NotFound)


def test_nothing_listening_is_unavailable(rgw: RGW, bucket: str) -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = S3Store.from_url(
        f"s3://{bucket}/x",
        s3_settings(s3_endpoint=f"http://127.0.0.1:{port}"),
        credentials=(rgw.access_key, rgw.secret_key),
        retry=FAST_RETRY,
    )
    for call in (lambda: store.get("a.jpg"), lambda: store.put("a.jpg", b"x", content_type="image/jpeg")):
        with pytest.raises(StorageUnavailable):
            call()
